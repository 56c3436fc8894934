//! Types and constants shared by every part of the OPG Model Hub.
//!
//! This crate is `no_std`: the runtime (compiled to WASM), the pallets, the node and the
//! inference worker all agree on these definitions, and the worker reaches the chain through
//! its metadata rather than by linking the runtime.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod agreement;
pub mod api;
pub mod channel;
pub mod inference;
pub mod registry;
pub mod schema;
pub mod stats;
pub mod tensor;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;
pub mod worker;

use sp_runtime::{
	traits::{IdentifyAccount, Verify},
	MultiSignature,
};

/// The signature scheme of transactions: sr25519, ed25519 or ECDSA.
pub type Signature = MultiSignature;

/// An account on the chain: the public key of its signing scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// An amount of OPG, counted in its smallest unit (10^-18 OPG).
pub type Balance = u128;

/// A block number.
pub type BlockNumber = u32;

/// The count of transactions an account has sent.
pub type Nonce = u32;

/// A block, state or extrinsic hash.
pub type Hash = sp_core::H256;

/// The native token: its symbol, decimals and units.
pub mod currency {
	use super::Balance;

	/// The symbol of the native token, shown by wallets.
	pub const TOKEN_SYMBOL: &str = "OPG";
	/// Decimal places of the native token.
	pub const TOKEN_DECIMALS: u8 = 18;
	/// The SS58 address prefix of the chain (the generic Substrate prefix).
	pub const SS58_PREFIX: u16 = 42;

	/// One OPG in its smallest unit.
	pub const OPG: Balance = 1_000_000_000_000_000_000;
	/// One thousandth of an OPG.
	pub const MILLI_OPG: Balance = OPG / 1_000;
	/// One millionth of an OPG.
	pub const MICRO_OPG: Balance = MILLI_OPG / 1_000;

	/// The smallest balance an account may hold; below it the account is removed.
	pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_OPG;
}

/// Block times. The slot duration cannot change once a chain has started.
pub mod time {
	use super::BlockNumber;

	/// Target time between blocks, in milliseconds.
	pub const MILLISECS_PER_BLOCK: u64 = 6_000;
	/// Aura slot duration, in milliseconds.
	pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;
	/// Blocks in one minute.
	pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);
	/// Blocks in one hour.
	pub const HOURS: BlockNumber = MINUTES * 60;
	/// Blocks in one day.
	pub const DAYS: BlockNumber = HOURS * 24;
}

//! # OPG Model Hub runtime
//!
//! The state transition function of the OPG Model Hub chain, compiled to WASM. Its native token
//! is OPG (18 decimals); transaction fees are paid in OPG through `pallet-transaction-payment`.
//!
//! Block production is Aura, finality GRANDPA. `sudo` exists for the `dev` and `local` presets
//! only; governance replaces it on public networks.

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` expands to large enums and recursion-heavy type checks.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;
#[cfg(test)]
mod tests;

use pallet_session::historical as pallet_session_historical;
use sp_runtime::{generic, impl_opaque_keys, traits::BlakeTwo256, MultiAddress};
use sp_version::RuntimeVersion;

pub use modelhub_primitives::{
	currency::{self, EXISTENTIAL_DEPOSIT, MICRO_OPG, MILLI_OPG, OPG},
	time::{self, DAYS, HOURS, MILLISECS_PER_BLOCK, MINUTES, SLOT_DURATION},
	AccountId, Balance, BlockNumber, Hash, Nonce, Signature,
};

pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_inference::{Call as InferenceCall, CheckInferenceRequest, Event as InferenceEvent};
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// Types the node needs without knowing the runtime's extrinsic format.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The session keys of a validator: one for block production, one for finality.
	pub struct SessionKeys {
		/// Aura block-authoring key (sr25519).
		pub aura: Aura,
		/// GRANDPA finality key (ed25519).
		pub grandpa: Grandpa,
	}
}

/// The runtime's version. `spec_version` goes up with every runtime upgrade.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("modelhub"),
	impl_name: alloc::borrow::Cow::Borrowed("modelhub-node"),
	authoring_version: 1,
	spec_version: 100,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// How long block hashes are kept for mortal transactions.
pub const BLOCK_HASH_COUNT: BlockNumber = 2_400;

/// The address format: a plain account id or an index.
pub type Address = MultiAddress<AccountId, ()>;

/// Block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// A block with its justification.
pub type SignedBlock = generic::SignedBlock<Block>;

/// Block identifier.
pub type BlockId = generic::BlockId<Block>;

/// The checks and charges every transaction passes through, in order.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	pallet_inference::CheckInferenceRequest<Runtime>,
	frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// An extrinsic as it arrives from outside, signed or not.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload a transaction's signature covers.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Runtime migrations beyond the pallets' own.
#[allow(unused_parens)]
type Migrations = ();

/// Dispatches blocks and extrinsics to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;

	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;

	#[runtime::pallet_index(6)]
	pub type Utility = pallet_utility;

	#[runtime::pallet_index(7)]
	pub type Sudo = pallet_sudo;

	#[runtime::pallet_index(8)]
	pub type Parameters = pallet_parameters;

	#[runtime::pallet_index(10)]
	pub type Preimage = pallet_preimage;

	#[runtime::pallet_index(11)]
	pub type Scheduler = pallet_scheduler;

	#[runtime::pallet_index(12)]
	pub type Treasury = pallet_treasury;

	#[runtime::pallet_index(13)]
	pub type ConvictionVoting = pallet_conviction_voting;

	#[runtime::pallet_index(14)]
	pub type Referenda = pallet_referenda;

	#[runtime::pallet_index(15)]
	pub type GovernanceOrigins = pallet_governance_origins;

	#[runtime::pallet_index(20)]
	pub type ModelRegistry = pallet_model_registry;

	#[runtime::pallet_index(21)]
	pub type Verification = pallet_verification;

	#[runtime::pallet_index(22)]
	pub type Inference = pallet_inference;

	#[runtime::pallet_index(23)]
	pub type Channels = pallet_channels;

	// Staking, in the order its hooks and genesis need: the author is found before the session
	// may rotate, and staking's genesis election runs before the session's first keys are set.
	#[runtime::pallet_index(30)]
	pub type Authorship = pallet_authorship;

	#[runtime::pallet_index(31)]
	pub type Staking = pallet_staking;

	#[runtime::pallet_index(32)]
	pub type Offences = pallet_offences;

	#[runtime::pallet_index(33)]
	pub type Historical = pallet_session_historical;

	#[runtime::pallet_index(34)]
	pub type Session = pallet_session;
}

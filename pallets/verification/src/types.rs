//! Data types of the verification pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::*, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;

use crate::Config;
use modelhub_primitives::worker::ExecutionProfile;

/// An account of the chain.
pub type AccountIdOf<T> = <T as frame_system::Config>::AccountId;
/// An amount of the native token.
pub type BalanceOf<T> =
	<<T as Config>::Currency as frame_support::traits::fungible::Inspect<AccountIdOf<T>>>::Balance;
/// A block number.
pub type BlockNumberOf<T> = frame_system::pallet_prelude::BlockNumberFor<T>;
/// A worker's stored record.
pub type WorkerOf<T> = WorkerInfo<T>;
/// A worker's counters.
pub type WorkerStatsOf<T> = WorkerStats<BalanceOf<T>>;

/// What a worker declares about itself.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound())]
pub struct WorkerMeta<T: Config> {
	/// The inference runtime it runs, e.g. `onnxruntime 1.31.1 cpu`.
	pub runtime: BoundedVec<u8, T::MaxRuntimeLen>,
	/// Most jobs it takes at once; at least 1.
	pub capacity: u32,
	/// How it runs models: ONNX Runtime version, graph optimization level, execution
	/// provider, deterministic compute, threads and CPU class.
	pub profile: ExecutionProfile,
}

/// Whether a worker takes jobs.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum WorkerStatus<BlockNumber> {
	/// Bonded and eligible for jobs.
	Active,
	/// Left the pool; the bond can be withdrawn from block `until`.
	Unbonding {
		/// First block at which `withdraw_bond` succeeds.
		until: BlockNumber,
	},
}

/// A registered worker.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound())]
pub struct WorkerInfo<T: Config> {
	/// OPG on hold as the worker's bond.
	pub bond: BalanceOf<T>,
	/// sr25519 public key that signs the worker's attestations.
	pub attestation_key: [u8; 32],
	/// Runtime, capacity and execution profile.
	pub meta: WorkerMeta<T>,
	/// Active or unbonding.
	pub status: WorkerStatus<BlockNumberOf<T>>,
	/// Jobs assigned and not yet ended.
	pub pending_jobs: u32,
	/// Block of registration.
	pub registered_at: BlockNumberOf<T>,
}

/// What a worker has done, kept after it leaves.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	PartialEq,
	Eq,
	Debug,
	Default,
)]
pub struct WorkerStats<Balance> {
	/// Jobs it was paid for.
	pub jobs: u64,
	/// OPG it earned from settled jobs.
	pub earnings: Balance,
	/// Times it was slashed.
	pub slashes: u32,
	/// OPG slashed from its bond.
	pub slashed: Balance,
}

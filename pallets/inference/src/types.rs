//! Data types of the inference pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::*, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
pub use modelhub_primitives::inference::{Outcome, Phase, RefundReason, SlotState};
use modelhub_primitives::{
	inference::FailureReason,
	registry::{ModelId, ModelVersion},
};
use scale_info::TypeInfo;

use crate::Config;

/// An account of the chain.
pub type AccountIdOf<T> = <T as frame_system::Config>::AccountId;
/// An amount of the native token.
pub type BalanceOf<T> =
	<<T as Config>::Currency as frame_support::traits::fungible::Inspect<AccountIdOf<T>>>::Balance;
/// A block number.
pub type BlockNumberOf<T> = frame_system::pallet_prelude::BlockNumberFor<T>;
/// A request as stored.
pub type RequestOf<T> = Request<T>;
/// A result as stored.
pub type ResultOf<T> = ResultRecord<T>;
/// Request input bytes.
pub type InputOf<T> = BoundedVec<u8, <T as Config>::MaxInputLen>;
/// A request that passed the checks of its own content: its bounded input, the model's terms
/// and the execution fee.
pub type Admitted<T> =
	(InputOf<T>, modelhub_primitives::registry::CallTerms<BalanceOf<T>>, FeeOf<T>);

/// A request's fee parts in the pallet's balance.
pub type FeeOf<T> = FeeParts<BalanceOf<T>>;

/// The parts of a request's fee, as held from the requester.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FeeParts<Balance> {
	/// The model's price, paid across its lineage.
	pub royalty: Balance,
	/// The execution fee, shared by the workers, the validators' pot and the treasury.
	pub execution: Balance,
	/// The most the chain fee can be ([`crate::Pallet::max_chain_fee`]); settlement charges
	/// what the call used and returns the rest.
	pub chain: Balance,
}

impl<Balance: sp_runtime::Saturating + Copy> FeeParts<Balance> {
	/// The whole amount held.
	pub fn total(&self) -> Balance {
		self.royalty.saturating_add(self.execution).saturating_add(self.chain)
	}
}
/// Output bytes.
pub type OutputOf<T> = BoundedVec<u8, <T as Config>::MaxOutputLen>;
/// Index of an epoch: block number divided by [`Config::EpochLength`].
pub type EpochIndex = u32;

/// One worker assigned to a request.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Slot<AccountId> {
	/// The worker.
	pub worker: AccountId,
	/// What it has done.
	pub state: SlotState,
}

/// An inference request that has not ended.
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
pub struct Request<T: Config> {
	/// Who pays; the fee is held from this account.
	pub requester: AccountIdOf<T>,
	/// The model called.
	pub model: ModelId,
	/// Its version at request time; the request runs this version to the end.
	pub version: ModelVersion,
	/// blake2-256 of that version's artifact.
	pub artifact_hash: [u8; 32],
	/// blake2-256 of the canonical input.
	pub input_hash: [u8; 32],
	/// Length of the input in bytes.
	pub input_len: u32,
	/// The royalty part of the fee: the model's price.
	pub royalty: BalanceOf<T>,
	/// The execution part of the fee.
	pub execution: BalanceOf<T>,
	/// The chain fee held: the most the results' transactions and the settlement can cost.
	pub chain: BalanceOf<T>,
	/// Workers that must run it; a strict majority of them settles it.
	pub redundancy: u32,
	/// The assigned workers.
	pub slots: BoundedVec<Slot<AccountIdOf<T>>, T::MaxRedundancy>,
	/// Workers that reported a failure and were replaced, with their reasons.
	pub replaced: BoundedVec<(AccountIdOf<T>, FailureReason), T::MaxReassignments>,
	/// Where it is.
	pub phase: Phase,
	/// The block at which the current phase times out.
	pub deadline: BlockNumberOf<T>,
	/// Block of the request.
	pub created: BlockNumberOf<T>,
}

impl<T: Config> Request<T> {
	/// The whole fee held in escrow.
	pub fn fee(&self) -> BalanceOf<T> {
		self.parts().total()
	}

	/// The parts of the fee held.
	pub fn parts(&self) -> FeeParts<BalanceOf<T>> {
		FeeParts { royalty: self.royalty, execution: self.execution, chain: self.chain }
	}

	/// Every worker drawn for it: those in its slots, then those replaced.
	pub fn drawn(&self) -> impl Iterator<Item = &AccountIdOf<T>> {
		self.slots
			.iter()
			.map(|slot| &slot.worker)
			.chain(self.replaced.iter().map(|(worker, _)| worker))
	}
}

/// A dispute of a fast-path receipt, while its court request runs.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Dispute<AccountId, Balance> {
	/// The worker that signed the receipt.
	pub accused: AccountId,
	/// Hash of the output it attested to.
	pub output_hash: [u8; 32],
	/// What the disputed call paid at the model's current terms: its price and execution fee.
	pub disputed_fee: Balance,
}

/// An ended request, kept for [`Config::ResultRetention`] blocks.
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
pub struct ResultRecord<T: Config> {
	/// Who paid.
	pub requester: AccountIdOf<T>,
	/// The model called.
	pub model: ModelId,
	/// Settled or refunded.
	pub outcome: Outcome,
	/// The canonical output; empty when refunded.
	pub output: OutputOf<T>,
	/// Block at which the request ended.
	pub ended_at: BlockNumberOf<T>,
}

/// Totals of one epoch.
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
pub struct EpochTotals<Balance> {
	/// Settled calls.
	pub calls: u64,
	/// Fees paid by settled calls.
	pub fees: Balance,
	/// Royalties paid by settled calls.
	pub royalties: Balance,
	/// Models listed in `EpochModelCalls` for this epoch.
	pub models: u32,
	/// Calls not counted under a listed model: those of models the list had no room for, and
	/// those of models a newcomer replaced.
	pub unlisted_calls: u64,
	/// The lowest standing ([`EpochModelUsage::standing`]) among the listed models.
	pub lowest: u64,
}

/// One model's settled calls in one epoch.
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
pub struct EpochModelUsage<Balance> {
	/// Settled calls since the model was listed in the epoch.
	pub calls: u64,
	/// Royalties they paid.
	pub royalties: Balance,
	/// The standing of the model this one replaced when the epoch's list was full, 0 if it
	/// found room.
	pub inherited: u64,
}

impl<Balance> EpochModelUsage<Balance> {
	/// Where the model stands in the epoch's list: its calls plus what it inherited. When the
	/// list is full, a call to an unlisted model replaces the listed model that stands lowest
	/// and inherits its standing, so a model called more than `1 / MaxModelsPerEpoch` of the
	/// epoch's calls is always listed, however many models were called before it (the
	/// space-saving rule of Metwally, Agrawal and El Abbadi).
	pub fn standing(&self) -> u64 {
		self.calls.saturating_add(self.inherited)
	}
}

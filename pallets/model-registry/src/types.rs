//! Data types of the model registry.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::*, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use modelhub_primitives::{
	agreement::Agreement,
	registry::{ModelId, ModelVersion},
	schema::IoSchema,
	stats::{PayerSketch, VolumeSums},
};
use scale_info::TypeInfo;
use sp_runtime::Permill;

use crate::Config;

/// An account of the chain.
pub type AccountIdOf<T> = <T as frame_system::Config>::AccountId;
/// An amount of the native token.
pub type BalanceOf<T> =
	<<T as Config>::Currency as frame_support::traits::fungible::Inspect<AccountIdOf<T>>>::Balance;
/// A block number.
pub type BlockNumberOf<T> = frame_system::pallet_prelude::BlockNumberFor<T>;
/// A model's royalty split: beneficiaries and their shares, summing to 100%.
pub type RoyaltySplitOf<T> = BoundedVec<(AccountIdOf<T>, Permill), <T as Config>::MaxBeneficiaries>;
/// A model's stored record.
pub type ModelOf<T> = Model<T>;
/// A version's stored record.
pub type VersionOf<T> = VersionRecord<T>;
/// An artifact as stored.
pub type ArtifactOf<T> = Artifact<T>;
/// Usage counters of a model.
pub type UsageOf<T> = Usage<BalanceOf<T>, BlockNumberOf<T>>;

/// The ONNX file of one model version.
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
pub struct Artifact<T: Config> {
	/// blake2-256 of the ONNX bytes.
	pub hash: [u8; 32],
	/// Size of the ONNX file in bytes.
	pub size: u64,
	/// Where workers fetch it: `https://`, `http://`, `file://` or `ipfs://`.
	pub uri: BoundedVec<u8, T::MaxUriLen>,
	/// The ONNX opset the graph targets.
	pub opset: u32,
}

/// Where a model is in its life.
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
	Default,
)]
pub enum ModelStatus {
	/// Serves calls.
	#[default]
	Active,
	/// Paused by its owner; serves no calls until resumed.
	Paused,
	/// Retired by its owner: final; its deposits are released.
	Retired,
	/// Delisted by moderation: serves no calls; the owner may still retire it.
	Delisted,
}

/// A fine-tune's link to the model it derives from.
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
pub struct ParentLink {
	/// The parent model.
	pub model: ModelId,
	/// Share of this model's royalties that flows up to the parent.
	pub share: Permill,
}

/// Funds held from an account as a storage deposit.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Deposit<AccountId, Balance> {
	/// Who paid it and gets it back.
	pub depositor: AccountId,
	/// How much is held (zero once released).
	pub amount: Balance,
}

/// A published model.
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
pub struct Model<T: Config> {
	/// Who may change it.
	pub owner: AccountIdOf<T>,
	/// Display name (UTF-8).
	pub name: BoundedVec<u8, T::MaxNameLen>,
	/// Description (UTF-8).
	pub description: BoundedVec<u8, T::MaxDescriptionLen>,
	/// Price of one call in OPG.
	pub price: BalanceOf<T>,
	/// Who earns this model's royalties, and in what shares.
	pub royalties: RoyaltySplitOf<T>,
	/// The model it was derived from, if any.
	pub parent: Option<ParentLink>,
	/// Number of ancestors (0 for a model without parent).
	pub depth: u32,
	/// Life-cycle status.
	pub status: ModelStatus,
	/// The current version; versions run from 1.
	pub version: ModelVersion,
	/// Block of publication.
	pub created: BlockNumberOf<T>,
	/// Block of the last change.
	pub updated: BlockNumberOf<T>,
	/// The per-model storage deposit.
	pub deposit: Deposit<AccountIdOf<T>, BalanceOf<T>>,
}

/// One published version of a model: its artifact and interface.
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
pub struct VersionRecord<T: Config> {
	/// The ONNX artifact.
	pub artifact: Artifact<T>,
	/// Declared inputs and outputs.
	pub schema: IoSchema,
	/// Significant mantissa bits floating outputs are rounded to before hashing.
	pub output_rounding_bits: u8,
	/// When redundant workers' differing outputs still agree, and when they are fraud.
	pub agreement: Agreement,
	/// Block of publication.
	pub published: BlockNumberOf<T>,
	/// The per-version storage deposit.
	pub deposit: Deposit<AccountIdOf<T>, BalanceOf<T>>,
}

/// A model's usage, filled in as calls settle.
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
pub struct Usage<Balance, BlockNumber> {
	/// Settled calls.
	pub calls: u64,
	/// Calls that ended without a result.
	pub failures: u64,
	/// Royalties earned across all settled calls.
	pub revenue: Balance,
	/// Block of the last settled call.
	pub last_call: Option<BlockNumber>,
	/// Distinct accounts that paid for a settled call, as a 64-byte HyperLogLog sketch
	/// (`estimate()` gives the count).
	pub payers: PayerSketch,
}

/// Every model ever published taken together, kept up to date as models are published and
/// calls settle, so that the all-time market is read in constant time. Removing a model's
/// records leaves these totals as they were: its calls happened.
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
pub struct MarketTotals<Balance> {
	/// Models, calls and the sums their concentration is computed from.
	pub volume: VolumeSums,
	/// Royalties earned across all settled calls.
	pub royalties: Balance,
}

//! # Model registry pallet
//!
//! Anyone publishes an ONNX model here and earns OPG from every call to it.
//!
//! ## Terms
//!
//! - A **model** has an owner, a name and description, a **price per call** in OPG, a
//!   **royalty split** (up to [`Config::MaxBeneficiaries`] accounts whose [`Permill`] shares sum
//!   to exactly 100%), an optional **parent** it was fine-tuned from, a [`ModelStatus`], and a
//!   current **version**.
//! - A **version** holds the **artifact** (blake2-256 of the ONNX bytes, size, URI, opset), the
//!   model's **I/O schema**, its **output rounding bits** and its **agreement** rule (the
//!   tolerance within which redundant workers' outputs agree and the fraud margin beyond which
//!   a worker is slashed; `docs/protocol.md`). Every version is kept in
//!   [`Versions`]; publishing a new one keeps the model's id.
//! - A model derived from a parent passes `parent.share` of its royalties up the **lineage**;
//!   lineages are at most [`Config::MaxLineageDepth`] deep and cannot form cycles (a parent
//!   always has a smaller id than its children).
//!
//! ## Deposits
//!
//! Publishing holds [`Config::ModelDeposit`] plus [`Config::VersionDeposit`] from the owner,
//! and each new version holds another [`Config::VersionDeposit`] from whoever publishes it, all
//! under [`HoldReason::ModelDeposit`]. The deposits stay held as long as the model's records
//! do: a retired model's owner calls [`Pallet::remove_model`] once [`Config::RemovalDelay`]
//! blocks have passed since the retirement (longer than any request lives), which deletes the
//! model, its versions and usage and releases every deposit to the account that paid it.
//! Invariant (checked by `try_state`): each account's balance on hold for
//! [`HoldReason::ModelDeposit`] equals the sum of the deposits of the records it paid for.
//!
//! ## Calls
//!
//! Owners call [`Pallet::publish_model`], [`Pallet::publish_version`], [`Pallet::set_price`],
//! [`Pallet::set_royalties`], [`Pallet::set_status`] (pause, resume, retire),
//! [`Pallet::transfer_ownership`] and [`Pallet::remove_model`]; [`Config::ModerationOrigin`] calls
//! [`Pallet::delist_model`].
//!
//! ## For other pallets
//!
//! The pallet implements [`modelhub_primitives::registry::ModelRegistry`]: a model's call
//! terms, the royalty payout of an amount across its lineage, and usage counters.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod features;
mod impl_registry;
pub mod market;
#[cfg(test)]
mod mock;
#[cfg(any(feature = "std", feature = "runtime-benchmarks"))]
pub mod testing;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

// The code `frame_support::pallet` writes for the pallet's struct, storage and errors calls
// `expect` on values it builds itself, and a builder per call with all its arguments;
// `scripts/lint.sh` keeps `expect` out of this file.
#[frame_support::pallet]
#[allow(clippy::expect_used, clippy::too_many_arguments)]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use modelhub_primitives::{
		agreement::Agreement,
		registry::{ModelId, ModelVersion},
		schema::IoSchema,
	};
	use sp_runtime::traits::StaticLookup;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the registry.
	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The native token; deposits are held through it.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// Who may delist a model (root, later a governance track).
		type ModerationOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Deposit held per model.
		#[pallet::constant]
		type ModelDeposit: Get<BalanceOf<Self>>;

		/// Deposit held per published version.
		#[pallet::constant]
		type VersionDeposit: Get<BalanceOf<Self>>;

		/// The highest price per call a model may ask.
		#[pallet::constant]
		type MaxPrice: Get<BalanceOf<Self>>;

		/// Longest model name, in bytes.
		#[pallet::constant]
		type MaxNameLen: Get<u32>;

		/// Longest description, in bytes.
		#[pallet::constant]
		type MaxDescriptionLen: Get<u32>;

		/// Longest artifact URI, in bytes.
		#[pallet::constant]
		type MaxUriLen: Get<u32>;

		/// Most beneficiaries in one royalty split.
		#[pallet::constant]
		type MaxBeneficiaries: Get<u32>;

		/// Most ancestors a model may have.
		#[pallet::constant]
		type MaxLineageDepth: Get<u32>;

		/// Most versions one model may publish.
		#[pallet::constant]
		type MaxVersions: Get<u32>;

		/// Most models one account may own.
		#[pallet::constant]
		type MaxModelsPerOwner: Get<u32>;

		/// Largest ONNX artifact, in bytes.
		#[pallet::constant]
		type MaxArtifactSize: Get<u64>;

		/// Blocks after its retirement before a model's records may be removed: longer than
		/// any request lives, so every request made before the retirement ends with the terms
		/// it was made on.
		#[pallet::constant]
		type RemovalDelay: Get<BlockNumberFor<Self>>;

		/// Blocks after a price change during which calls accepted at the earlier price may
		/// still be settled at it (fast-path calls are paid on chain after they are made).
		#[pallet::constant]
		type PriceGrace: Get<BlockNumberFor<Self>>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Storage deposit of a model or one of its versions.
		#[codec(index = 0)]
		ModelDeposit,
	}

	/// The id the next published model gets.
	#[pallet::storage]
	pub type NextModelId<T> = StorageValue<_, ModelId, ValueQuery>;

	/// Every model ever published, by id.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Twox64Concat, ModelId, ModelOf<T>>;

	/// Every version of every model: artifact, schema and deposit.
	#[pallet::storage]
	pub type Versions<T: Config> =
		StorageDoubleMap<_, Twox64Concat, ModelId, Twox64Concat, ModelVersion, VersionOf<T>>;

	/// The models each account owns.
	#[pallet::storage]
	pub type ModelsByOwner<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<ModelId, T::MaxModelsPerOwner>,
		ValueQuery,
	>;

	/// Usage counters per model: calls, failures, revenue, last call.
	/// The lowest price a model had within [`Config::PriceGrace`] before its last price change,
	/// and the block until which it counts: see `ModelRegistry::price_floor`. Kept for models
	/// whose price changed within the grace period.
	#[pallet::storage]
	pub type PriceFloors<T: Config> =
		StorageMap<_, Twox64Concat, ModelId, (BalanceOf<T>, BlockNumberFor<T>)>;

	#[pallet::storage]
	pub type ModelUsage<T: Config> = StorageMap<_, Twox64Concat, ModelId, UsageOf<T>, ValueQuery>;

	/// Every model ever published taken together: the all-time market's totals.
	#[pallet::storage]
	pub type Market<T: Config> = StorageValue<_, MarketTotals<BalanceOf<T>>, ValueQuery>;

	/// The [`TOP_N`](modelhub_primitives::stats::TOP_N) models ever published with the most
	/// settled calls and their calls, most first (ties to the lower id). Exact because calls
	/// only grow: a model outside it enters as soon as it passes the last.
	#[pallet::storage]
	pub type TopModels<T> = StorageValue<_, market::TopList, ValueQuery>;

	/// For each `calls` from 1 up to the most any model has: how many models ever published
	/// have at least `calls` settled calls. One entry per level a model reaches, written as
	/// the call that reaches it settles.
	#[pallet::storage]
	pub type ModelsWithCalls<T> = StorageMap<_, Twox64Concat, u64, u64, ValueQuery>;

	/// Every model with records, ordered by settled calls (most first, ties to the lower id):
	/// keys only ([`market::calls_key`]), read in storage order to page through models.
	#[pallet::storage]
	pub type ModelsByCalls<T> = StorageMap<_, Identity, market::CallsKey, ()>;

	/// Every model with records, ordered by royalties earned (most first, ties to the lower
	/// id): keys only ([`market::revenue_key`]).
	#[pallet::storage]
	pub type ModelsByRevenue<T> = StorageMap<_, Identity, market::RevenueKey, ()>;

	/// Every model with records, newest first: keys only ([`market::age_key`]).
	#[pallet::storage]
	pub type ModelsByAge<T> = StorageMap<_, Identity, market::AgeKey, ()>;

	/// Events of the registry.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A model was published with its first version.
		ModelPublished {
			/// The new model's id.
			model: ModelId,
			/// Its owner.
			owner: T::AccountId,
			/// blake2-256 of its ONNX artifact.
			artifact_hash: [u8; 32],
			/// Price per call.
			price: BalanceOf<T>,
			/// The model it derives from.
			parent: Option<ModelId>,
		},
		/// A new version of a model was published.
		VersionPublished {
			/// The model.
			model: ModelId,
			/// The new version number.
			version: ModelVersion,
			/// blake2-256 of the new artifact.
			artifact_hash: [u8; 32],
		},
		/// A model's price per call was changed.
		PriceSet {
			/// The model.
			model: ModelId,
			/// The new price.
			price: BalanceOf<T>,
		},
		/// A model's royalty split was replaced.
		RoyaltiesSet {
			/// The model.
			model: ModelId,
			/// Number of beneficiaries in the new split.
			beneficiaries: u32,
		},
		/// A model's owner paused, resumed or retired it.
		StatusChanged {
			/// The model.
			model: ModelId,
			/// The new status.
			status: ModelStatus,
		},
		/// A model changed hands.
		OwnershipTransferred {
			/// The model.
			model: ModelId,
			/// The previous owner.
			from: T::AccountId,
			/// The new owner.
			to: T::AccountId,
		},
		/// Moderation delisted a model.
		ModelDelisted {
			/// The model.
			model: ModelId,
		},
		/// A storage deposit was released to the account that paid it.
		DepositReleased {
			/// The model.
			model: ModelId,
			/// Who got it back.
			who: T::AccountId,
			/// How much.
			amount: BalanceOf<T>,
		},
		/// A retired model's records (the model, its versions and its usage) were removed and
		/// its deposits released.
		ModelRemoved {
			/// The model.
			model: ModelId,
			/// How many versions it had.
			versions: ModelVersion,
		},
	}

	/// Errors of the registry.
	#[pallet::error]
	pub enum Error<T> {
		/// No model has this id.
		ModelNotFound,
		/// Only the model's owner may do this.
		NotModelOwner,
		/// The price is above [`Config::MaxPrice`].
		PriceTooHigh,
		/// The model name is empty.
		NameEmpty,
		/// The artifact URI is not `https://`, `http://`, `file://` or `ipfs://` followed by a
		/// location.
		UnsupportedUri,
		/// The artifact size is zero.
		ArtifactEmpty,
		/// The artifact is larger than [`Config::MaxArtifactSize`].
		ArtifactTooLarge,
		/// The I/O schema declares no inputs or outputs, or a name is invalid or repeated.
		InvalidSchema,
		/// Output rounding bits above 52 (the mantissa width of f64).
		RoundingBitsTooHigh,
		/// A tolerance part above 100%.
		ToleranceTooHigh,
		/// A fraud margin of 0, or above 10 000 times the tolerance.
		FraudMarginOutOfRange,
		/// The royalty split has no beneficiaries.
		NoBeneficiaries,
		/// An account appears twice in the royalty split.
		DuplicateBeneficiary,
		/// A beneficiary's share is zero.
		ZeroShare,
		/// The royalty shares do not sum to exactly 100%.
		SharesNotWhole,
		/// The parent model does not exist.
		ParentNotFound,
		/// The parent's lineage is already [`Config::MaxLineageDepth`] deep.
		LineageTooDeep,
		/// The share for the parent must be below 100%.
		ParentShareTooHigh,
		/// The model already has [`Config::MaxVersions`] versions.
		TooManyVersions,
		/// The owner already owns [`Config::MaxModelsPerOwner`] models.
		TooManyModels,
		/// The model is retired; nothing about it can change.
		ModelRetired,
		/// The model is delisted; only retiring it is possible.
		ModelDelisted,
		/// The model is already in the requested status, or the owner may not set it.
		InvalidStatusTransition,
		/// The new owner is the current owner.
		AlreadyOwner,
		/// Model ids are exhausted.
		ModelIdOverflow,
		/// The model is not retired; only a retired model's records can be removed.
		ModelNotRetired,
		/// The model was retired less than [`Config::RemovalDelay`] blocks ago.
		RetiredTooRecently,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Publishes a new model with its first version; the caller becomes its owner.
		///
		/// Holds [`Config::ModelDeposit`] + [`Config::VersionDeposit`] from the caller. With a
		/// `parent`, `parent.share` of every royalty flows to the parent's lineage. `agreement`
		/// says when redundant workers' differing outputs still agree; `None` takes
		/// [`Agreement::DEFAULT`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::publish_model(royalties.len() as u32))]
		pub fn publish_model(
			origin: OriginFor<T>,
			name: BoundedVec<u8, T::MaxNameLen>,
			description: BoundedVec<u8, T::MaxDescriptionLen>,
			artifact: ArtifactOf<T>,
			schema: IoSchema,
			output_rounding_bits: u8,
			agreement: Option<Agreement>,
			price: BalanceOf<T>,
			royalties: RoyaltySplitOf<T>,
			parent: Option<ParentLink>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_publish_model(
				owner,
				name,
				description,
				artifact,
				schema,
				output_rounding_bits,
				agreement.unwrap_or_default(),
				price,
				royalties,
				parent,
			)
			.map(|_| ())
		}

		/// Publishes a new version of a model: a new artifact and schema under the same id,
		/// with its own rounding and agreement rule (`None`: [`Agreement::DEFAULT`]). Earlier
		/// versions stay in [`Versions`]. Holds [`Config::VersionDeposit`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::publish_version())]
		pub fn publish_version(
			origin: OriginFor<T>,
			model: ModelId,
			artifact: ArtifactOf<T>,
			schema: IoSchema,
			output_rounding_bits: u8,
			agreement: Option<Agreement>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_publish_version(
				who,
				model,
				artifact,
				schema,
				output_rounding_bits,
				agreement.unwrap_or_default(),
			)
		}

		/// Sets the price per call; requests made after this block pay the new price.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::set_price())]
		pub fn set_price(
			origin: OriginFor<T>,
			model: ModelId,
			price: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_set_price(who, model, price)
		}

		/// Replaces the royalty split: up to [`Config::MaxBeneficiaries`] distinct accounts whose
		/// shares sum to exactly 100%.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::set_royalties(royalties.len() as u32))]
		pub fn set_royalties(
			origin: OriginFor<T>,
			model: ModelId,
			royalties: RoyaltySplitOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_set_royalties(who, model, royalties)
		}

		/// Pauses (`Paused`), resumes (`Active`) or retires (`Retired`) a model.
		///
		/// Retiring is final. The deposits stay held until [`Pallet::remove_model`] removes
		/// the records.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::set_status(T::MaxVersions::get()))]
		pub fn set_status(
			origin: OriginFor<T>,
			model: ModelId,
			status: ModelStatus,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let versions = Self::do_set_status(who, model, status)?;
			Ok(Some(T::WeightInfo::set_status(versions)).into())
		}

		/// Hands a model to a new owner. Deposits stay with the accounts that paid them.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::transfer_ownership())]
		pub fn transfer_ownership(
			origin: OriginFor<T>,
			model: ModelId,
			new_owner: <T::Lookup as StaticLookup>::Source,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let new_owner = T::Lookup::lookup(new_owner)?;
			Self::do_transfer_ownership(who, model, new_owner)
		}

		/// Delists a model: it serves no more calls, and earns nothing from the calls of the
		/// models built on it (its part stays with them; see [`Pallet::royalty_payout`]). Only
		/// [`Config::ModerationOrigin`].
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::delist_model())]
		pub fn delist_model(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
			T::ModerationOrigin::ensure_origin(origin)?;
			Self::do_delist_model(model)
		}

		/// Removes a retired model's records: the model, its versions and its usage counters,
		/// and releases every deposit to the account that paid it. Only the owner, and only
		/// [`Config::RemovalDelay`] blocks after the retirement. Models derived from it keep
		/// their royalties: its share of their calls stays with them. Emits
		/// [`Event::ModelRemoved`].
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::remove_model(T::MaxVersions::get()))]
		pub fn remove_model(origin: OriginFor<T>, model: ModelId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let versions = Self::do_remove_model(who, model)?;
			Ok(Some(T::WeightInfo::remove_model(versions)).into())
		}
	}
}

//! # Verification pallet
//!
//! The bonded inference workers of the OPG Model Hub, the checks on what they submit, and the
//! split of a settled fee.
//!
//! ## Workers
//!
//! A worker calls [`Pallet::register_worker`] with a bond of at least [`Config::MinBond`] OPG
//! (held under [`HoldReason::WorkerBond`]), the sr25519 public key that signs its attestations,
//! and [`WorkerMeta`]: the inference runtime it runs, how many jobs it takes at once, and its
//! [`ExecutionProfile`](modelhub_primitives::worker::ExecutionProfile) (ONNX Runtime version,
//! graph optimization level, execution provider, deterministic compute, CPU class), so anyone
//! can see how each worker computes.
//! [`Pallet::update_worker`] changes the bond, key or meta; [`Pallet::unregister_worker`]
//! leaves the pool once no job is pending, and [`Pallet::withdraw_bond`] releases the bond
//! [`Config::UnbondingPeriod`] blocks later.
//!
//! ## Ready models
//!
//! A worker is drawn only for model versions it declared it holds ready: fetched, verified
//! against the artifact hash and loaded. It calls [`Pallet::declare_ready`] once it has, and
//! [`Pallet::withdraw_ready`] when it lets the model go; at most [`Config::MaxReadyModels`]
//! at a time. Leaving the pool withdraws every declaration, and so does a worker's own report
//! that it cannot get the model. Fetching and loading thus happen before any request is on the
//! clock, and a model no ready worker serves is refused when it is requested, before anything
//! is charged (`docs/protocol.md`, "Model availability").
//!
//! ## For the inference pallet
//!
//! The pallet implements [`modelhub_primitives::inference::Verifier`]:
//! - **selection**: workers are drawn without replacement, each draw weighted by bond, from
//!   the active workers ready for the model version with a bond of at least
//!   [`Config::MinBond`] and a free job slot. The
//!   draw is a pure function of a seed the caller derives (parent block hash and request id);
//! - **attestations**: an sr25519 signature by the worker's registered key;
//! - **slashing**: [`Config::SlashFraction`] of the bond, or the fee of the request the worker
//!   misbehaved in if that is more (within the bond), moves to [`Config::TreasuryAccount`];
//! - **settlement**: the royalty goes across the model's lineage (through
//!   [`modelhub_primitives::registry::ModelRegistry`]); of the execution fee,
//!   [`Config::ValidatorShare`] goes to [`Config::ValidatorPotAccount`],
//!   [`Config::TreasuryShare`] to the treasury, and the rest is split evenly between the
//!   workers that agreed, the rounding remainder to the first of them.
//!
//! Invariant (checked by `try_state`): each worker's balance on hold for
//! [`HoldReason::WorkerBond`] equals its recorded bond, [`ActiveWorkers`] lists exactly
//! the workers whose status is active, and [`Readiness`] and [`ReadyWorkers`] hold the same
//! declarations, of active workers only.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impl_verifier;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// What the benchmarks need from the runtime: a model version to declare ready.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// Publishes a model owned by `owner`; returns its id and version.
	fn publish_model(
		owner: &AccountId,
	) -> (modelhub_primitives::registry::ModelId, modelhub_primitives::registry::ModelVersion);
}

// The code `frame_support::pallet` writes for the pallet's struct, storage and errors calls
// `expect` on values it builds itself; `scripts/lint.sh` keeps `expect` out of this file.
#[frame_support::pallet]
#[allow(clippy::expect_used)]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::Precision,
		},
	};
	use frame_system::pallet_prelude::*;
	use modelhub_primitives::{
		inference::RequestId,
		registry::{ModelId, ModelRegistry, ModelVersion},
	};
	use sp_runtime::{
		traits::{Saturating, Zero},
		Perbill,
	};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the verification pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The native token; bonds are held through it.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// The model registry, for royalty payouts.
		type Registry: ModelRegistry<Self::AccountId, BalanceOf<Self>>;

		/// Smallest bond a worker registers with and keeps to be selected.
		type MinBond: Get<BalanceOf<Self>>;

		/// Part of a worker's bond taken by one slash at least (a slash takes the request's fee
		/// if that is more).
		type SlashFraction: Get<Perbill>;

		/// Part of each execution fee that goes to the validators' reward pot.
		type ValidatorShare: Get<Perbill>;

		/// Part of each execution fee that goes to the treasury.
		type TreasuryShare: Get<Perbill>;

		/// The account of the validators' reward pot.
		type ValidatorPotAccount: Get<Self::AccountId>;

		/// The treasury account; slashed bonds go here.
		type TreasuryAccount: Get<Self::AccountId>;

		/// Blocks between `unregister_worker` and `withdraw_bond`.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;

		/// Most workers in the active pool.
		#[pallet::constant]
		type MaxWorkers: Get<u32>;

		/// Longest runtime description in [`WorkerMeta`], in bytes.
		#[pallet::constant]
		type MaxRuntimeLen: Get<u32>;

		/// Most model versions one worker declares ready at once.
		#[pallet::constant]
		type MaxReadyModels: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;

		/// Publishes a model for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A worker's bond.
		#[codec(index = 0)]
		WorkerBond,
	}

	/// Every registered worker, active or unbonding.
	#[pallet::storage]
	pub type Workers<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, WorkerOf<T>>;

	/// The active workers, in registration order: the pool jobs are drawn from.
	#[pallet::storage]
	pub type ActiveWorkers<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxWorkers>, ValueQuery>;

	/// The model versions each worker declared ready, in declaration order.
	#[pallet::storage]
	pub type Readiness<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<(ModelId, ModelVersion), T::MaxReadyModels>,
		ValueQuery,
	>;

	/// The workers ready for each model version: ((model, version), worker). Jobs of a model
	/// version are drawn from here.
	#[pallet::storage]
	pub type ReadyWorkers<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		(ModelId, ModelVersion),
		Blake2_128Concat,
		T::AccountId,
		(),
	>;

	/// Jobs, earnings and slashes per worker, kept after it leaves.
	#[pallet::storage]
	pub type WorkerUsage<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, WorkerStatsOf<T>, ValueQuery>;

	/// Events of the verification pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker bonded and joined the pool.
		WorkerRegistered {
			/// The worker.
			worker: T::AccountId,
			/// Its bond.
			bond: BalanceOf<T>,
			/// Its attestation key.
			attestation_key: [u8; 32],
			/// Jobs it takes at once.
			capacity: u32,
		},
		/// A worker changed its bond, key or meta.
		WorkerUpdated {
			/// The worker.
			worker: T::AccountId,
			/// Its bond now.
			bond: BalanceOf<T>,
		},
		/// A worker left the pool; its bond unlocks at `until`.
		WorkerUnbonding {
			/// The worker.
			worker: T::AccountId,
			/// First block at which the bond can be withdrawn.
			until: BlockNumberFor<T>,
		},
		/// A worker withdrew its bond and its record was removed.
		BondWithdrawn {
			/// The worker.
			worker: T::AccountId,
			/// The bond released.
			amount: BalanceOf<T>,
		},
		/// A worker declared it holds a model version ready and may be drawn for it.
		WorkerReady {
			/// The worker.
			worker: T::AccountId,
			/// The model.
			model: ModelId,
			/// The version it holds.
			version: ModelVersion,
		},
		/// A worker no longer holds a model version ready: it withdrew, left the pool or
		/// reported that it cannot get the model.
		ReadinessWithdrawn {
			/// The worker.
			worker: T::AccountId,
			/// The model.
			model: ModelId,
			/// The version.
			version: ModelVersion,
		},
		/// Part of a worker's bond went to the treasury.
		WorkerSlashed {
			/// The worker.
			worker: T::AccountId,
			/// The request it misbehaved in.
			request: RequestId,
			/// OPG taken.
			amount: BalanceOf<T>,
		},
	}

	/// Errors of the verification pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// The account is already a registered worker.
		AlreadyRegistered,
		/// The account is not a registered worker.
		WorkerNotFound,
		/// The bond is below [`Config::MinBond`].
		BondTooLow,
		/// The account cannot put the bond on hold.
		InsufficientBalance,
		/// The pool already has [`Config::MaxWorkers`] active workers.
		TooManyWorkers,
		/// The worker's capacity is zero.
		ZeroCapacity,
		/// The worker has jobs that have not ended.
		WorkerHasPendingJobs,
		/// The worker is unbonding and cannot be changed.
		WorkerUnbonding,
		/// The worker is active; unregister first.
		WorkerNotUnbonding,
		/// The unbonding period has not passed.
		BondStillLocked,
		/// The model has no such version.
		ModelVersionNotFound,
		/// The worker already declared this model version ready.
		AlreadyReady,
		/// The worker has not declared this model version ready.
		NotReady,
		/// The worker already declared [`Config::MaxReadyModels`] model versions ready.
		TooManyReadyModels,
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
		/// Registers the caller as a worker, holding `bond` (at least [`Config::MinBond`]).
		///
		/// `attestation_key` is the sr25519 public key its attestations are checked against;
		/// `meta` names its runtime and capacity. Emits [`Event::WorkerRegistered`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_worker())]
		pub fn register_worker(
			origin: OriginFor<T>,
			bond: BalanceOf<T>,
			attestation_key: [u8; 32],
			meta: WorkerMeta<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Workers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			ensure!(bond >= T::MinBond::get(), Error::<T>::BondTooLow);
			ensure!(meta.capacity > 0, Error::<T>::ZeroCapacity);
			let capacity = meta.capacity;
			ActiveWorkers::<T>::try_mutate(|pool| pool.try_push(who.clone()))
				.map_err(|_| Error::<T>::TooManyWorkers)?;
			T::Currency::hold(&HoldReason::WorkerBond.into(), &who, bond)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Workers::<T>::insert(
				&who,
				WorkerInfo {
					bond,
					attestation_key,
					meta,
					status: WorkerStatus::Active,
					pending_jobs: 0,
					registered_at: frame_system::Pallet::<T>::block_number(),
				},
			);
			Self::deposit_event(Event::WorkerRegistered {
				worker: who,
				bond,
				attestation_key,
				capacity,
			});
			Ok(())
		}

		/// Changes the caller's bond, attestation key or meta; `None` keeps a field.
		///
		/// A lower bond must stay at least [`Config::MinBond`] and is only allowed with no
		/// pending jobs, so no worker escapes a slash. Emits [`Event::WorkerUpdated`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::update_worker())]
		pub fn update_worker(
			origin: OriginFor<T>,
			bond: Option<BalanceOf<T>>,
			attestation_key: Option<[u8; 32]>,
			meta: Option<WorkerMeta<T>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(meta.as_ref().is_none_or(|meta| meta.capacity > 0), Error::<T>::ZeroCapacity);
			Workers::<T>::try_mutate(&who, |slot| -> DispatchResult {
				let info = slot.as_mut().ok_or(Error::<T>::WorkerNotFound)?;
				ensure!(info.status == WorkerStatus::Active, Error::<T>::WorkerUnbonding);
				if let Some(new_bond) = bond {
					ensure!(new_bond >= T::MinBond::get(), Error::<T>::BondTooLow);
					let reason = HoldReason::WorkerBond.into();
					if new_bond > info.bond {
						T::Currency::hold(&reason, &who, new_bond.saturating_sub(info.bond))
							.map_err(|_| Error::<T>::InsufficientBalance)?;
					} else if new_bond < info.bond {
						ensure!(info.pending_jobs == 0, Error::<T>::WorkerHasPendingJobs);
						T::Currency::release(
							&reason,
							&who,
							info.bond.saturating_sub(new_bond),
							Precision::Exact,
						)?;
					}
					info.bond = new_bond;
				}
				if let Some(key) = attestation_key {
					info.attestation_key = key;
				}
				if let Some(meta) = meta {
					info.meta = meta;
				}
				Self::deposit_event(Event::WorkerUpdated { worker: who.clone(), bond: info.bond });
				Ok(())
			})
		}

		/// Leaves the pool. Fails while jobs are pending; the bond stays held for
		/// [`Config::UnbondingPeriod`] blocks. Withdraws every ready declaration
		/// ([`Event::ReadinessWithdrawn`]). Emits [`Event::WorkerUnbonding`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::unregister_worker(
			T::MaxWorkers::get(),
			T::MaxReadyModels::get(),
		))]
		pub fn unregister_worker(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let until = Workers::<T>::try_mutate(&who, |slot| -> Result<_, DispatchError> {
				let info = slot.as_mut().ok_or(Error::<T>::WorkerNotFound)?;
				ensure!(info.status == WorkerStatus::Active, Error::<T>::WorkerUnbonding);
				ensure!(info.pending_jobs == 0, Error::<T>::WorkerHasPendingJobs);
				let until = frame_system::Pallet::<T>::block_number()
					.saturating_add(T::UnbondingPeriod::get());
				info.status = WorkerStatus::Unbonding { until };
				Ok(until)
			})?;
			ActiveWorkers::<T>::mutate(|pool| pool.retain(|worker| worker != &who));
			for (model, version) in Readiness::<T>::take(&who) {
				ReadyWorkers::<T>::remove((model, version), &who);
				Self::deposit_event(Event::ReadinessWithdrawn {
					worker: who.clone(),
					model,
					version,
				});
			}
			Self::deposit_event(Event::WorkerUnbonding { worker: who, until });
			Ok(())
		}

		/// Releases the bond of a worker whose unbonding period has passed and removes its
		/// record (its [`WorkerUsage`] stays). Emits [`Event::BondWithdrawn`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::withdraw_bond())]
		pub fn withdraw_bond(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = Workers::<T>::get(&who).ok_or(Error::<T>::WorkerNotFound)?;
			match info.status {
				WorkerStatus::Active => return Err(Error::<T>::WorkerNotUnbonding.into()),
				WorkerStatus::Unbonding { until } => ensure!(
					frame_system::Pallet::<T>::block_number() >= until,
					Error::<T>::BondStillLocked
				),
			}
			let amount = T::Currency::release(
				&HoldReason::WorkerBond.into(),
				&who,
				info.bond,
				Precision::BestEffort,
			)?;
			Workers::<T>::remove(&who);
			Self::deposit_event(Event::BondWithdrawn { worker: who, amount });
			Ok(())
		}

		/// Declares that the caller, an active worker, holds `version` of `model` ready:
		/// fetched, checked against its artifact hash and loaded. From the next request on, it
		/// may be drawn for jobs of that version. At most [`Config::MaxReadyModels`]
		/// declarations at a time. Emits [`Event::WorkerReady`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::declare_ready())]
		pub fn declare_ready(
			origin: OriginFor<T>,
			model: ModelId,
			version: ModelVersion,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = Workers::<T>::get(&who).ok_or(Error::<T>::WorkerNotFound)?;
			ensure!(info.status == WorkerStatus::Active, Error::<T>::WorkerUnbonding);
			ensure!(
				T::Registry::version_terms(model, version).is_some(),
				Error::<T>::ModelVersionNotFound
			);
			ensure!(
				!ReadyWorkers::<T>::contains_key((model, version), &who),
				Error::<T>::AlreadyReady
			);
			Readiness::<T>::try_mutate(&who, |ready| ready.try_push((model, version)))
				.map_err(|_| Error::<T>::TooManyReadyModels)?;
			ReadyWorkers::<T>::insert((model, version), &who, ());
			Self::deposit_event(Event::WorkerReady { worker: who, model, version });
			Ok(())
		}

		/// Withdraws the caller's declaration that it holds `version` of `model` ready; it is
		/// no longer drawn for that version (jobs it already has stay its own). Emits
		/// [`Event::ReadinessWithdrawn`].
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::withdraw_ready())]
		pub fn withdraw_ready(
			origin: OriginFor<T>,
			model: ModelId,
			version: ModelVersion,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(Self::unready(&who, model, version), Error::<T>::NotReady);
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Whether `info` may take one more job now.
		pub(crate) fn is_eligible(info: &WorkerOf<T>) -> bool {
			info.status == WorkerStatus::Active
				&& info.bond >= T::MinBond::get()
				&& !info.bond.is_zero()
				&& info.pending_jobs < info.meta.capacity
		}

		/// Removes `who`'s declaration that it holds `version` of `model` ready, with
		/// [`Event::ReadinessWithdrawn`]. Returns whether there was one.
		pub(crate) fn unready(who: &T::AccountId, model: ModelId, version: ModelVersion) -> bool {
			if ReadyWorkers::<T>::take((model, version), who).is_none() {
				return false;
			}
			Readiness::<T>::mutate(who, |ready| ready.retain(|entry| *entry != (model, version)));
			Self::deposit_event(Event::ReadinessWithdrawn { worker: who.clone(), model, version });
			true
		}
	}
}

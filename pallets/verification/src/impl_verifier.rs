//! The verification pallet as the inference pallet sees it ([`Verifier`]): worker selection,
//! attestation checks, slashing and settlement splits; and the pallet's invariants.

use crate::{pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};
use modelhub_primitives::{
	inference::{RequestId, Verifier},
	registry::{credit, ModelId, ModelRegistry, ModelVersion},
};
use sp_core::sr25519;
use sp_runtime::traits::{CheckedDiv, CheckedMul, Saturating, UniqueSaturatedInto, Zero};

impl<T: Config> Pallet<T> {
	/// How an execution fee divides: `(validators, treasury, workers)`, summing to it exactly.
	pub fn execution_split(execution: BalanceOf<T>) -> (BalanceOf<T>, BalanceOf<T>, BalanceOf<T>) {
		let to_validators = T::ValidatorShare::get().mul_floor(execution);
		let to_treasury = T::TreasuryShare::get()
			.mul_floor(execution)
			.min(execution.saturating_sub(to_validators));
		let to_workers = execution.saturating_sub(to_validators).saturating_sub(to_treasury);
		(to_validators, to_treasury, to_workers)
	}

	/// Splits the fee of `calls` settled calls; see [`Verifier::settlement`].
	pub fn split_fee(
		model: ModelId,
		royalty: BalanceOf<T>,
		execution: BalanceOf<T>,
		workers: &[T::AccountId],
		calls: u64,
	) -> Option<Vec<(T::AccountId, BalanceOf<T>)>> {
		let first = workers.first()?;
		let times: BalanceOf<T> = calls.try_into().ok()?;
		// One call's split, then `calls` times each part: every call pays as one call does.
		let mut payout = T::Registry::royalty_payout(model, royalty)?;
		let (to_validators, to_treasury, to_workers) = Self::execution_split(execution);
		let count: BalanceOf<T> = (workers.len() as u32).into();
		let each = to_workers.checked_div(&count).unwrap_or_default();
		let remainder = to_workers.saturating_sub(each.saturating_mul(count));
		credit(&mut payout, &T::ValidatorPotAccount::get(), to_validators);
		credit(&mut payout, &T::TreasuryAccount::get(), to_treasury);
		let mut earnings = Vec::with_capacity(workers.len());
		for worker in workers {
			let earned = if worker == first { each.saturating_add(remainder) } else { each };
			credit(&mut payout, worker, earned);
			earnings.push(earned.checked_mul(&times)?);
		}
		for (_, amount) in payout.iter_mut() {
			*amount = amount.checked_mul(&times)?;
		}
		for (worker, earned) in workers.iter().zip(earnings) {
			WorkerUsage::<T>::mutate(worker, |stats| {
				stats.jobs = stats.jobs.saturating_add(calls);
				stats.earnings = stats.earnings.saturating_add(earned);
			});
		}
		payout.retain(|(_, amount)| !amount.is_zero());
		Some(payout)
	}

	/// Slashes `worker`'s bond for `request`: the larger of [`Config::SlashFraction`] of the
	/// bond and `at_stake`, within the bond. Up to the compensation of `victim` goes to it, the
	/// rest to the treasury. Returns the amount slashed and the amount paid to the victim.
	pub(crate) fn slash_bond(
		worker: &T::AccountId,
		request: RequestId,
		at_stake: BalanceOf<T>,
		victim: Option<(&T::AccountId, BalanceOf<T>)>,
	) -> (BalanceOf<T>, BalanceOf<T>) {
		let Some(mut info) = Workers::<T>::get(worker) else { return Default::default() };
		let amount = T::SlashFraction::get().mul_floor(info.bond).max(at_stake).min(info.bond);
		if amount.is_zero() {
			return Default::default();
		}
		let take = |to: &T::AccountId, amount: BalanceOf<T>| {
			if amount.is_zero() {
				return Zero::zero();
			}
			T::Currency::transfer_on_hold(
				&HoldReason::WorkerBond.into(),
				worker,
				to,
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_else(|_| Zero::zero())
		};
		// A victim that cannot receive (a new account below the existential deposit) leaves
		// its part to the treasury.
		let paid = victim.map_or_else(Zero::zero, |(victim, compensation)| {
			take(victim, compensation.min(amount))
		});
		let taken =
			paid.saturating_add(take(&T::TreasuryAccount::get(), amount.saturating_sub(paid)));
		if taken.is_zero() {
			return Default::default();
		}
		info.bond = info.bond.saturating_sub(taken);
		Workers::<T>::insert(worker, info);
		WorkerUsage::<T>::mutate(worker, |stats| {
			stats.slashes = stats.slashes.saturating_add(1);
			stats.slashed = stats.slashed.saturating_add(taken);
		});
		Self::deposit_event(Event::WorkerSlashed {
			worker: worker.clone(),
			request,
			amount: taken,
		});
		(taken, paid)
	}

	/// Checks the pallet's invariants:
	/// - every worker's balance on hold for [`HoldReason::WorkerBond`] equals its bond;
	/// - [`ActiveWorkers`] lists each active worker once and no other account;
	/// - [`Readiness`] and [`ReadyWorkers`] hold the same declarations, each once, of active
	///   workers only.
	#[cfg(any(feature = "try-runtime", feature = "std", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use frame_support::traits::fungible::InspectHold;
		let pool = ActiveWorkers::<T>::get();
		let mut active = 0usize;
		let mut declared = 0usize;
		for (who, ready) in Readiness::<T>::iter() {
			let info = Workers::<T>::get(&who).ok_or("a declaration of no worker")?;
			ensure!(info.status == WorkerStatus::Active, "an unbonding worker declared ready");
			for (index, key) in ready.iter().enumerate() {
				ensure!(
					!ready.iter().skip(index.saturating_add(1)).any(|other| other == key),
					"declared twice"
				);
				ensure!(ReadyWorkers::<T>::contains_key(key, &who), "declaration not indexed");
			}
			declared = declared.saturating_add(ready.len());
		}
		ensure!(ReadyWorkers::<T>::iter_keys().count() == declared, "index without declaration");
		for (who, info) in Workers::<T>::iter() {
			let held = T::Currency::balance_on_hold(&HoldReason::WorkerBond.into(), &who);
			ensure!(held == info.bond, "held bond differs from the recorded bond");
			let listed = pool.iter().filter(|w| **w == who).count();
			match info.status {
				WorkerStatus::Active => {
					ensure!(listed == 1, "active worker not listed once");
					active = active.saturating_add(1);
				},
				WorkerStatus::Unbonding { .. } => {
					ensure!(listed == 0, "unbonding worker still listed");
					ensure!(info.pending_jobs == 0, "unbonding worker has jobs");
				},
			}
		}
		ensure!(active == pool.len(), "pool lists an unregistered account");
		Ok(())
	}
}

impl<T: Config> Verifier<T::AccountId, BalanceOf<T>> for Pallet<T> {
	/// Draws up to `count` distinct eligible workers ready for `version` of `model`, each draw
	/// weighted by bond.
	///
	/// The pool is the workers in [`ReadyWorkers`] under the model version, in storage order.
	/// Draw `i` takes the first 16 bytes of `blake2_256(seed ++ i)` as a little-endian number
	/// modulo the total bond still in the pool, and walks the pool to the worker whose bond
	/// covers that point; the worker leaves the pool.
	fn select_workers(
		seed: &[u8; 32],
		count: u32,
		exclude: &[T::AccountId],
		model: ModelId,
		version: ModelVersion,
	) -> (Vec<T::AccountId>, u32) {
		let mut ready = 0u32;
		let mut pool: Vec<(T::AccountId, u128)> =
			ReadyWorkers::<T>::iter_key_prefix((model, version))
				.inspect(|_| ready = ready.saturating_add(1))
				.filter(|who| !exclude.contains(who))
				.filter_map(|who| {
					let info = Workers::<T>::get(&who)?;
					Self::is_eligible(&info).then(|| (who, info.bond.unique_saturated_into()))
				})
				.collect();
		let mut chosen = Vec::new();
		for draw in 0..count {
			let total = pool.iter().fold(0u128, |sum, (_, bond)| sum.saturating_add(*bond));
			if total == 0 {
				break;
			}
			let mut preimage = seed.to_vec();
			preimage.extend_from_slice(&draw.to_le_bytes());
			let hash = sp_io::hashing::blake2_256(&preimage);
			let mut point_bytes = [0u8; 16];
			point_bytes.copy_from_slice(&hash[..16]);
			let mut point = u128::from_le_bytes(point_bytes).checked_rem(total).unwrap_or(0);
			let index = pool
				.iter()
				.position(|(_, bond)| {
					if point < *bond {
						true
					} else {
						point = point.saturating_sub(*bond);
						false
					}
				})
				.unwrap_or(0);
			if index < pool.len() {
				chosen.push(pool.swap_remove(index).0);
			}
		}
		(chosen, ready)
	}

	fn max_workers() -> u32 {
		T::MaxWorkers::get()
	}

	fn not_ready(worker: &T::AccountId, model: ModelId, version: ModelVersion) {
		Self::unready(worker, model, version);
	}

	fn job_assigned(worker: &T::AccountId) {
		Workers::<T>::mutate(worker, |slot| {
			if let Some(info) = slot {
				info.pending_jobs = info.pending_jobs.saturating_add(1);
			}
		});
	}

	fn job_ended(worker: &T::AccountId) {
		Workers::<T>::mutate(worker, |slot| {
			if let Some(info) = slot {
				info.pending_jobs = info.pending_jobs.saturating_sub(1);
			}
		});
	}

	fn verify_attestation(worker: &T::AccountId, message: &[u8], signature: &[u8; 64]) -> bool {
		let Some(info) = Workers::<T>::get(worker) else { return false };
		sp_io::crypto::sr25519_verify(
			&sr25519::Signature::from_raw(*signature),
			message,
			&sr25519::Public::from_raw(info.attestation_key),
		)
	}

	fn slash(worker: &T::AccountId, request: RequestId, at_stake: BalanceOf<T>) -> BalanceOf<T> {
		Self::slash_bond(worker, request, at_stake, None).0
	}

	fn slash_compensating(
		worker: &T::AccountId,
		request: RequestId,
		at_stake: BalanceOf<T>,
		victim: &T::AccountId,
		compensation: BalanceOf<T>,
	) -> (BalanceOf<T>, BalanceOf<T>) {
		Self::slash_bond(worker, request, at_stake, Some((victim, compensation)))
	}

	fn is_active(worker: &T::AccountId) -> bool {
		Workers::<T>::get(worker).is_some_and(|info| {
			info.status == WorkerStatus::Active && info.bond >= T::MinBond::get()
		})
	}

	fn settlement(
		model: ModelId,
		royalty: BalanceOf<T>,
		execution: BalanceOf<T>,
		workers: &[T::AccountId],
		calls: u64,
	) -> Option<Vec<(T::AccountId, BalanceOf<T>)>> {
		Self::split_fee(model, royalty, execution, workers, calls)
	}
}

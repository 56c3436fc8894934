//! The registry as other pallets see it ([`ModelRegistry`]), royalty payouts across lineages,
//! and the pallet's invariants.

use crate::{pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use modelhub_primitives::registry::{
	credit, CallTerms, ModelId, ModelRegistry, ModelVersion, Unavailable,
};
use sp_runtime::traits::{Saturating, Zero};
#[cfg(any(feature = "try-runtime", feature = "std", test))]
use sp_runtime::Permill;

impl<T: Config> Pallet<T> {
	/// Splits `amount` between the beneficiaries of `model` and its ancestors.
	///
	/// At each level, `parent.share` of what reaches the model goes up to the parent and the
	/// rest is split by the model's shares, rounding down; the rounding remainder of a level
	/// goes to that level's first beneficiary. A delisted ancestor earns nothing: its level's
	/// part is split among the beneficiaries of the nearest level below it that is not
	/// delisted (the model's own authors at least), by their shares, while the part it would
	/// pass on still goes up to its own ancestors. A removed ancestor ends the lineage: its
	/// share stays with the level below it. Amounts owed to one account across levels
	/// are added together, so each account appears once; zero amounts are left out. The result
	/// sums to exactly `amount`.
	pub fn royalty_payout(
		model: ModelId,
		amount: BalanceOf<T>,
	) -> Option<Vec<(T::AccountId, BalanceOf<T>)>> {
		let mut payout: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
		let mut current = Models::<T>::get(model)?;
		// Who earns at the current level: its own beneficiaries, or, for a delisted ancestor,
		// those of the nearest level below it that earns.
		let mut earners = current.royalties.clone();
		let mut reaching = amount;
		// One level per ancestor plus the model itself; the bound holds by construction.
		for level in 0..=T::MaxLineageDepth::get() {
			// A removed ancestor is no parent: its share stays at this level.
			let parent = current
				.parent
				.filter(|_| level < T::MaxLineageDepth::get())
				.and_then(|link| Models::<T>::get(link.model).map(|next| (link, next)));
			let to_parent =
				parent.as_ref().map_or_else(Zero::zero, |(link, _)| link.share.mul_floor(reaching));
			let here = reaching.saturating_sub(to_parent);

			let mut paid_here: BalanceOf<T> = Zero::zero();
			for (who, share) in earners.iter() {
				let part = share.mul_floor(here);
				paid_here = paid_here.saturating_add(part);
				credit(&mut payout, who, part);
			}
			if let Some((first, _)) = earners.first() {
				credit(&mut payout, first, here.saturating_sub(paid_here));
			}

			match parent {
				Some((_, next)) if !to_parent.is_zero() => {
					if next.status != ModelStatus::Delisted {
						earners = next.royalties.clone();
					}
					current = next;
					reaching = to_parent;
				},
				_ => break,
			}
		}
		payout.retain(|(_, part)| !part.is_zero());
		Some(payout)
	}

	/// Checks the registry's invariants:
	/// - every account's balance on hold for [`HoldReason::ModelDeposit`] equals the sum of the
	///   unreleased deposits it paid;
	/// - every model has versions `1..=version`, is listed under its owner, and has an id below
	///   [`NextModelId`];
	/// - royalty splits are valid and lineages within bounds;
	/// - the market's indexes and totals agree with the models' usage ([`Self::check_market`]).
	#[cfg(any(feature = "try-runtime", feature = "std", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use frame_support::traits::fungible::InspectHold;
		let mut held: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
		let next = NextModelId::<T>::get();
		for (id, model) in Models::<T>::iter() {
			ensure!(id < next, "model id at or above NextModelId");
			ensure!(
				ModelsByOwner::<T>::get(&model.owner).contains(&id),
				"model not listed under its owner"
			);
			ensure!(Self::ensure_valid_split(&model.royalties).is_ok(), "invalid royalty split");
			ensure!(model.depth <= T::MaxLineageDepth::get(), "lineage too deep");
			if let Some(link) = model.parent {
				ensure!(link.model < id, "parent is not older than its child");
				ensure!(link.share < Permill::one(), "parent share of 100%");
			}
			credit(&mut held, &model.deposit.depositor, model.deposit.amount);
			for version in 1..=model.version {
				let record = Versions::<T>::get(id, version).ok_or("missing version record")?;
				credit(&mut held, &record.deposit.depositor, record.deposit.amount);
			}
		}
		for (owner, owned) in ModelsByOwner::<T>::iter() {
			for id in owned {
				let model = Models::<T>::get(id).ok_or("owner lists a missing model")?;
				ensure!(model.owner == owner, "owner lists a model it does not own");
			}
		}
		Self::check_market()?;
		for (who, amount) in held {
			let on_hold = T::Currency::balance_on_hold(&HoldReason::ModelDeposit.into(), &who);
			ensure!(on_hold == amount, "held deposit differs from recorded deposits");
		}
		Ok(())
	}
}

impl<T: Config> ModelRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn call_terms(model: ModelId) -> Result<CallTerms<BalanceOf<T>>, Unavailable> {
		let info = Models::<T>::get(model).ok_or(Unavailable::NotFound)?;
		match info.status {
			ModelStatus::Active => {},
			ModelStatus::Paused => return Err(Unavailable::Paused),
			ModelStatus::Retired => return Err(Unavailable::Retired),
			ModelStatus::Delisted => return Err(Unavailable::Delisted),
		}
		Self::version_terms(model, info.version).ok_or(Unavailable::NotFound)
	}

	fn version_terms(model: ModelId, version: ModelVersion) -> Option<CallTerms<BalanceOf<T>>> {
		let info = Models::<T>::get(model)?;
		let record = Versions::<T>::get(model, version)?;
		Some(CallTerms {
			price: info.price,
			version,
			artifact_hash: record.artifact.hash,
			artifact_size: record.artifact.size,
			schema: record.schema,
			output_rounding_bits: record.output_rounding_bits,
			agreement: record.agreement,
		})
	}

	fn royalty_payout(
		model: ModelId,
		amount: BalanceOf<T>,
	) -> Option<Vec<(T::AccountId, BalanceOf<T>)>> {
		Pallet::<T>::royalty_payout(model, amount)
	}

	fn max_royalty_recipients() -> u32 {
		T::MaxLineageDepth::get().saturating_add(1).saturating_mul(T::MaxBeneficiaries::get())
	}

	fn price_floor(model: ModelId) -> Option<BalanceOf<T>> {
		let price = Models::<T>::get(model)?.price;
		let now = frame_system::Pallet::<T>::block_number();
		Some(match PriceFloors::<T>::get(model) {
			Some((floor, until)) if until >= now => price.min(floor),
			_ => price,
		})
	}

	fn note_calls(model: ModelId, payer: &T::AccountId, calls: u64, royalty: BalanceOf<T>) {
		if calls == 0 {
			return;
		}
		ModelUsage::<T>::mutate(model, |usage| {
			Self::note_settled(model, usage, calls, royalty);
			usage.payers.insert(&payer.encode());
			usage.calls = usage.calls.saturating_add(calls);
			usage.revenue = usage.revenue.saturating_add(royalty);
			usage.last_call = Some(frame_system::Pallet::<T>::block_number());
		});
	}

	fn note_failure(model: ModelId) {
		ModelUsage::<T>::mutate(model, |usage| usage.failures = usage.failures.saturating_add(1));
	}
}

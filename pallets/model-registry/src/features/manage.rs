//! Changing a published model: price, royalties, status, owner; and moderation.

use crate::{pallet::*, types::*};
use frame_support::{
	pallet_prelude::*,
	traits::{fungible::MutateHold, tokens::Precision},
};
use modelhub_primitives::registry::ModelId;
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// Sets the price of `model` on behalf of its owner `who`.
	pub(crate) fn do_set_price(
		who: T::AccountId,
		model: ModelId,
		price: BalanceOf<T>,
	) -> DispatchResult {
		ensure!(price <= T::MaxPrice::get(), Error::<T>::PriceTooHigh);
		Models::<T>::try_mutate(model, |entry| {
			let info = Self::owned_and_changeable(entry, &who)?;
			let now = frame_system::Pallet::<T>::block_number();
			// Calls accepted at the old price (or at a lower one still in grace) may settle
			// until the grace period after this change ends.
			let mut floor = info.price.min(price);
			if let Some((earlier, until)) = PriceFloors::<T>::get(model) {
				if until >= now {
					floor = floor.min(earlier);
				}
			}
			PriceFloors::<T>::insert(model, (floor, now.saturating_add(T::PriceGrace::get())));
			info.price = price;
			info.updated = now;
			Self::deposit_event(Event::PriceSet { model, price });
			Ok(())
		})
	}

	/// Replaces the royalty split of `model` on behalf of its owner `who`.
	pub(crate) fn do_set_royalties(
		who: T::AccountId,
		model: ModelId,
		royalties: RoyaltySplitOf<T>,
	) -> DispatchResult {
		Self::ensure_valid_split(&royalties)?;
		Models::<T>::try_mutate(model, |entry| {
			let info = Self::owned_and_changeable(entry, &who)?;
			let beneficiaries = royalties.len() as u32;
			info.royalties = royalties;
			info.updated = frame_system::Pallet::<T>::block_number();
			Self::deposit_event(Event::RoyaltiesSet { model, beneficiaries });
			Ok(())
		})
	}

	/// Pauses, resumes or retires `model`; returns how many versions it has (for the weight).
	/// The block of the retirement is the model's `updated` block, which nothing changes
	/// afterwards.
	pub(crate) fn do_set_status(
		who: T::AccountId,
		model: ModelId,
		status: ModelStatus,
	) -> Result<u32, DispatchError> {
		Models::<T>::try_mutate(model, |entry| {
			let info = entry.as_mut().ok_or(Error::<T>::ModelNotFound)?;
			ensure!(info.owner == who, Error::<T>::NotModelOwner);
			match (info.status, status) {
				(ModelStatus::Retired, _) => return Err(Error::<T>::ModelRetired.into()),
				(ModelStatus::Delisted, ModelStatus::Active | ModelStatus::Paused) => {
					return Err(Error::<T>::ModelDelisted.into())
				},
				(ModelStatus::Active, ModelStatus::Paused)
				| (ModelStatus::Paused, ModelStatus::Active)
				| (_, ModelStatus::Retired) => {},
				_ => return Err(Error::<T>::InvalidStatusTransition.into()),
			}
			info.status = status;
			info.updated = frame_system::Pallet::<T>::block_number();
			Self::deposit_event(Event::StatusChanged { model, status });
			Ok(info.version)
		})
	}

	/// Removes the records of the retired `model` on behalf of its owner `who` and releases
	/// their deposits; returns how many versions it had (for the weight).
	pub(crate) fn do_remove_model(who: T::AccountId, model: ModelId) -> Result<u32, DispatchError> {
		let mut info = Models::<T>::get(model).ok_or(Error::<T>::ModelNotFound)?;
		ensure!(info.owner == who, Error::<T>::NotModelOwner);
		ensure!(info.status == ModelStatus::Retired, Error::<T>::ModelNotRetired);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(
			now >= info.updated.saturating_add(T::RemovalDelay::get()),
			Error::<T>::RetiredTooRecently
		);
		Self::release(model, &mut info.deposit)?;
		for version in 1..=info.version {
			if let Some(mut record) = Versions::<T>::take(model, version) {
				Self::release(model, &mut record.deposit)?;
			}
		}
		Models::<T>::remove(model);
		PriceFloors::<T>::remove(model);
		Self::note_removed(model, &ModelUsage::<T>::take(model));
		ModelsByOwner::<T>::mutate_exists(&who, |owned| {
			if let Some(list) = owned {
				list.retain(|id| *id != model);
				if list.is_empty() {
					*owned = None;
				}
			}
		});
		Self::deposit_event(Event::ModelRemoved { model, versions: info.version });
		Ok(info.version)
	}

	/// Releases one deposit and marks it released.
	fn release(
		model: ModelId,
		deposit: &mut Deposit<T::AccountId, BalanceOf<T>>,
	) -> DispatchResult {
		if deposit.amount.is_zero() {
			return Ok(());
		}
		let amount = T::Currency::release(
			&HoldReason::ModelDeposit.into(),
			&deposit.depositor,
			deposit.amount,
			Precision::Exact,
		)?;
		deposit.amount = Zero::zero();
		Self::deposit_event(Event::DepositReleased {
			model,
			who: deposit.depositor.clone(),
			amount,
		});
		Ok(())
	}

	/// Moves `model` from its owner `who` to `new_owner`.
	pub(crate) fn do_transfer_ownership(
		who: T::AccountId,
		model: ModelId,
		new_owner: T::AccountId,
	) -> DispatchResult {
		ensure!(who != new_owner, Error::<T>::AlreadyOwner);
		Models::<T>::try_mutate(model, |entry| {
			let info = Self::owned_and_changeable(entry, &who)?;
			ModelsByOwner::<T>::try_mutate(&new_owner, |owned| owned.try_push(model))
				.map_err(|_| Error::<T>::TooManyModels)?;
			ModelsByOwner::<T>::mutate_exists(&who, |owned| {
				if let Some(list) = owned {
					list.retain(|id| *id != model);
					if list.is_empty() {
						*owned = None;
					}
				}
			});
			info.owner = new_owner.clone();
			info.updated = frame_system::Pallet::<T>::block_number();
			Self::deposit_event(Event::OwnershipTransferred { model, from: who, to: new_owner });
			Ok(())
		})
	}

	/// Delists `model`: it serves no calls; its owner may still retire it.
	pub(crate) fn do_delist_model(model: ModelId) -> DispatchResult {
		Models::<T>::try_mutate(model, |entry| {
			let info = entry.as_mut().ok_or(Error::<T>::ModelNotFound)?;
			match info.status {
				ModelStatus::Retired => return Err(Error::<T>::ModelRetired.into()),
				ModelStatus::Delisted => return Err(Error::<T>::ModelDelisted.into()),
				ModelStatus::Active | ModelStatus::Paused => {},
			}
			info.status = ModelStatus::Delisted;
			info.updated = frame_system::Pallet::<T>::block_number();
			Self::deposit_event(Event::ModelDelisted { model });
			Ok(())
		})
	}
}

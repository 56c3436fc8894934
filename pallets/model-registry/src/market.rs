//! The market's aggregates and ordered indexes, kept up to date as models are published, called
//! and removed, so that paging through models, ranking one and measuring how concentrated
//! demand is cost what they return rather than the number of models.
//!
//! - [`Market`] holds the all-time sums of [`VolumeSums`] (and royalties) over every model ever
//!   published; [`ModelsWithCalls`] counts, per call level, the models that reached it, which
//!   is what one more call needs to keep the Gini coefficient's numerator exact, and what a
//!   model's all-time rank is read from; [`TopModels`] holds the top-N.
//! - [`ModelsByCalls`], [`ModelsByRevenue`] and [`ModelsByAge`] list the models with records
//!   under keys whose storage order is the page order, so a page of `limit` models from
//!   `offset` reads `offset + limit` keys.
//!
//! One settled call costs two reads and up to seven writes here, and each further call settled
//! with it one read and one write (its call level), paid by the settlement's weight.

use crate::{pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::{pallet_prelude::*, BoundedVec};
use modelhub_primitives::{
	api::ModelOrder,
	registry::ModelId,
	stats::{Concentration, TOP_N},
};
use sp_runtime::traits::{Saturating, UniqueSaturatedInto, Zero};

/// Index key of [`ModelsByCalls`]: see [`calls_key`].
pub type CallsKey = [u8; 16];
/// Index key of [`ModelsByRevenue`]: see [`revenue_key`].
pub type RevenueKey = [u8; 24];
/// Index key of [`ModelsByAge`]: see [`age_key`].
pub type AgeKey = [u8; 8];
/// The most-called models and their calls: see [`TopModels`].
pub type TopList = BoundedVec<(ModelId, u64), ConstU32<{ TOP_N as u32 }>>;

/// `model`'s key in [`ModelsByCalls`]: its calls with every bit inverted, then its id, both
/// big-endian, so that storage order is most calls first, ties to the lower id.
pub fn calls_key(calls: u64, model: ModelId) -> CallsKey {
	let mut key = [0u8; 16];
	key[..8].copy_from_slice(&(!calls).to_be_bytes());
	key[8..].copy_from_slice(&model.to_be_bytes());
	key
}

/// `model`'s key in [`ModelsByRevenue`]: its royalties earned with every bit inverted, then its
/// id, both big-endian.
pub fn revenue_key(revenue: u128, model: ModelId) -> RevenueKey {
	let mut key = [0u8; 24];
	key[..16].copy_from_slice(&(!revenue).to_be_bytes());
	key[16..].copy_from_slice(&model.to_be_bytes());
	key
}

/// `model`'s key in [`ModelsByAge`]: its id with every bit inverted, big-endian, so that
/// storage order is newest first.
pub fn age_key(model: ModelId) -> AgeKey {
	(!model).to_be_bytes()
}

/// The model an index key ends with.
fn model_in(key: &[u8]) -> ModelId {
	let mut id = [0u8; 8];
	if let Some(tail) = key.len().checked_sub(8).and_then(|start| key.get(start..)) {
		id.copy_from_slice(tail);
	}
	ModelId::from_be_bytes(id)
}

impl<T: Config> Pallet<T> {
	/// Lists a newly published `model`, without calls, in the indexes and the totals.
	pub(crate) fn note_published(model: ModelId) {
		Market::<T>::mutate(|market| market.volume.add_model());
		ModelsByCalls::<T>::insert(calls_key(0, model), ());
		ModelsByRevenue::<T>::insert(revenue_key(0, model), ());
		ModelsByAge::<T>::insert(age_key(model), ());
	}

	/// Takes `model`, whose records are being removed, out of the indexes; the totals keep
	/// its calls.
	pub(crate) fn note_removed(model: ModelId, usage: &UsageOf<T>) {
		ModelsByCalls::<T>::remove(calls_key(usage.calls, model));
		ModelsByRevenue::<T>::remove(revenue_key(usage.revenue.unique_saturated_into(), model));
		ModelsByAge::<T>::remove(age_key(model));
	}

	/// Counts `count` settled calls to `model`, which had `before` as its usage, paying
	/// `royalty` together. Each call moves the model up one call level: the Gini numerator
	/// needs, per level, how many other models already reached it.
	pub(crate) fn note_settled(
		model: ModelId,
		before: &UsageOf<T>,
		count: u64,
		royalty: BalanceOf<T>,
	) {
		let calls = before.calls;
		let mut market = Market::<T>::get();
		for level in calls..calls.saturating_add(count) {
			let reached = level.saturating_add(1);
			let more = ModelsWithCalls::<T>::get(reached);
			ModelsWithCalls::<T>::insert(reached, more.saturating_add(1));
			market.volume.add_call(level, more);
		}
		let reached = calls.saturating_add(count);

		let mut top = TopModels::<T>::get();
		if Self::raise_in_top(&mut top, model, reached) {
			market.volume.top = top.iter().fold(0u64, |sum, (_, calls)| sum.saturating_add(*calls));
			TopModels::<T>::put(top);
		}
		market.royalties = market.royalties.saturating_add(royalty);
		Market::<T>::put(market);

		if ModelsByCalls::<T>::take(calls_key(calls, model)).is_some() {
			ModelsByCalls::<T>::insert(calls_key(reached, model), ());
		}
		if !royalty.is_zero() {
			let revenue: u128 = before.revenue.unique_saturated_into();
			if ModelsByRevenue::<T>::take(revenue_key(revenue, model)).is_some() {
				let earned = before.revenue.saturating_add(royalty).unique_saturated_into();
				ModelsByRevenue::<T>::insert(revenue_key(earned, model), ());
			}
		}
	}

	/// Puts `model`, now at `calls`, in its place in `top` if it belongs there; whether `top`
	/// changed.
	fn raise_in_top(top: &mut TopList, model: ModelId, calls: u64) -> bool {
		let ahead = |a: &(ModelId, u64), b: &(ModelId, u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
		if let Some(entry) = top.iter_mut().find(|(id, _)| *id == model) {
			entry.1 = calls;
		} else if top.len() < TOP_N {
			if top.try_push((model, calls)).is_err() {
				return false;
			}
		} else {
			match top.last_mut() {
				Some(last) if ahead(&(model, calls), last).is_lt() => *last = (model, calls),
				_ => return false,
			}
		}
		top.sort_by(ahead);
		true
	}

	/// Up to `limit` models from `offset` in `order`; reads `offset + limit` index keys.
	pub fn models_page(order: ModelOrder, offset: u32, limit: u32) -> Vec<ModelId> {
		let (skip, take) = (offset as usize, limit as usize);
		match order {
			ModelOrder::Calls => ModelsByCalls::<T>::iter_keys()
				.skip(skip)
				.take(take)
				.map(|k| model_in(&k))
				.collect(),
			ModelOrder::Revenue => ModelsByRevenue::<T>::iter_keys()
				.skip(skip)
				.take(take)
				.map(|k| model_in(&k))
				.collect(),
			ModelOrder::Newest => ModelsByAge::<T>::iter_keys()
				.skip(skip)
				.take(take)
				.map(|key| !ModelId::from_be_bytes(key))
				.collect(),
		}
	}

	/// How many models ever published have more settled calls than `calls`.
	pub fn models_with_more_calls(calls: u64) -> u64 {
		ModelsWithCalls::<T>::get(calls.saturating_add(1))
	}

	/// The all-time concentration of calls across every model ever published, and the
	/// royalties they earned.
	pub fn market_concentration() -> (Concentration, BalanceOf<T>) {
		let market = Market::<T>::get();
		(market.volume.concentration(), market.royalties)
	}

	/// Checks that every model with records is in each index once, under its usage; that the
	/// totals count at least the calls and royalties of the models with records; that call
	/// levels from one up are each reached by at most as many models as the level below; and that the top list is ordered and agrees
	/// with the totals.
	#[cfg(any(feature = "try-runtime", feature = "std", test))]
	pub fn check_market() -> Result<(), sp_runtime::TryRuntimeError> {
		let market = Market::<T>::get();
		let (mut models, mut calls, mut royalties) = (0u64, 0u64, BalanceOf::<T>::zero());
		for (model, _) in Models::<T>::iter() {
			let usage = ModelUsage::<T>::get(model);
			ensure!(
				ModelsByCalls::<T>::contains_key(calls_key(usage.calls, model)),
				"model missing from the calls index"
			);
			ensure!(
				ModelsByRevenue::<T>::contains_key(revenue_key(
					usage.revenue.unique_saturated_into(),
					model
				)),
				"model missing from the revenue index"
			);
			ensure!(
				ModelsByAge::<T>::contains_key(age_key(model)),
				"model missing from the age index"
			);
			models.saturating_inc();
			calls.saturating_accrue(usage.calls);
			royalties.saturating_accrue(usage.revenue);
		}
		for count in [
			ModelsByCalls::<T>::iter_keys().count(),
			ModelsByRevenue::<T>::iter_keys().count(),
			ModelsByAge::<T>::iter_keys().count(),
		] {
			ensure!(count as u64 == models, "an index lists a model without records");
		}
		ensure!(market.volume.models >= models, "fewer models counted than have records");
		ensure!(market.volume.calls >= calls, "fewer calls counted than models have");
		ensure!(market.royalties >= royalties, "fewer royalties counted than models earned");
		let mut levels: Vec<(u64, u64)> = ModelsWithCalls::<T>::iter().collect();
		levels.sort();
		ensure!(
			levels.windows(2).all(
				|pair| matches!(pair, [(a, m), (b, n)] if u64::checked_add(*a, 1) == Some(*b) && n <= m)
			),
			"call levels not contiguous, or a higher one reached by more models"
		);
		ensure!(
			levels.first().map_or(0, |(_, count)| *count) == market.volume.models_called,
			"models called differ from those at one call"
		);
		let top = TopModels::<T>::get();
		ensure!(
			top.windows(2)
				.all(|pair| matches!(pair, [a, b] if a.1 > b.1 || (a.1 == b.1 && a.0 < b.0))),
			"top models out of order"
		);
		ensure!(
			top.iter().fold(0u64, |sum, (_, calls)| sum.saturating_add(*calls))
				== market.volume.top,
			"top models' calls differ from the totals"
		);
		Ok(())
	}
}

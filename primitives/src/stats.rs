//! How concentrated demand is across models, and a bounded count of distinct payers.
//!
//! Everything here is integer arithmetic, so the runtime and every client compute the same
//! figures.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::U256;
use sp_runtime::Perbill;

/// How many models the top-N share counts.
pub const TOP_N: usize = 10;

/// Concentration of call volume across models.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Concentration {
	/// Total calls.
	pub calls: u64,
	/// Models with at least one call.
	pub models_called: u32,
	/// Share of all calls that went to the [`TOP_N`] most-called models.
	pub top_share: Perbill,
	/// Herfindahl–Hirschman index: the sum of squared call shares, from `1 / models` (even
	/// demand) to 1 (one model takes every call).
	pub hhi: Perbill,
	/// Gini coefficient of call volume across the given models: 0 when every model has the
	/// same calls, approaching 1 when one model has them all.
	pub gini: Perbill,
}

/// Computes the [`Concentration`] of `volumes`, one entry per model (zeros count as models with
/// no calls for the Gini coefficient, and are left out of `models_called`).
pub fn concentration(volumes: &[u64]) -> Concentration {
	VolumeSums::of(volumes).concentration()
}

/// The sums the [`Concentration`] of call volume is computed from. Each can be kept up to date
/// one call at a time: one more call to a model with `c` calls adds `2c + 1` to `squares`, and
/// to `spread` the number of other models with at most `c` calls less the number with more.
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
pub struct VolumeSums {
	/// Models, those without calls included.
	pub models: u64,
	/// Models with at least one call.
	pub models_called: u64,
	/// Calls.
	pub calls: u64,
	/// Calls of the [`TOP_N`] most-called models.
	pub top: u64,
	/// Σ calls² over models.
	pub squares: u128,
	/// Σ |calls_i − calls_j| over pairs of models.
	pub spread: u128,
}

impl VolumeSums {
	/// The sums of `volumes`, one entry per model.
	pub fn of(volumes: &[u64]) -> Self {
		Self::with_idle(volumes, 0)
	}

	/// The sums of `volumes`, one entry per model, and of `idle` more models without calls.
	pub fn with_idle(volumes: &[u64], idle: u64) -> Self {
		let mut sorted: Vec<u64> = volumes.to_vec();
		sorted.sort_unstable();
		let calls = sorted.iter().fold(0u64, |sum, v| sum.saturating_add(*v));
		let top = sorted.iter().rev().take(TOP_N).fold(0u64, |sum, v| sum.saturating_add(*v));
		let squares = sorted.iter().fold(0u128, |sum, v| {
			sum.saturating_add(u128::from(*v).saturating_mul(u128::from(*v)))
		});
		// Σ over pairs of the difference = Σ (2i − n − 1)·x_i, i from 1, x ascending; positive
		// and negative terms are summed apart so every intermediate stays unsigned.
		let n = (sorted.len() as u64).saturating_add(idle);
		let (mut plus, mut minus) = (0u128, 0u128);
		for (index, value) in (idle.saturating_add(1)..).zip(sorted.iter()) {
			let rank = index.saturating_mul(2);
			let term =
				u128::from(*value).saturating_mul(u128::from(rank.abs_diff(n.saturating_add(1))));
			if rank > n {
				plus = plus.saturating_add(term);
			} else {
				minus = minus.saturating_add(term);
			}
		}
		Self {
			models: n,
			models_called: sorted.iter().filter(|v| **v > 0).count() as u64,
			calls,
			top,
			squares,
			spread: plus.saturating_sub(minus),
		}
	}

	/// Counts one more model, without calls: it differs from every other model by their calls.
	pub fn add_model(&mut self) {
		self.spread = self.spread.saturating_add(u128::from(self.calls));
		self.models = self.models.saturating_add(1);
	}

	/// Counts one more call to a model that had `calls` calls, while `more` other models have
	/// more than `calls`: the model draws one call nearer to each of those and one call further
	/// from each of the others. `top` is the caller's to keep.
	pub fn add_call(&mut self, calls: u64, more: u64) {
		let others = self.models.saturating_sub(1);
		let at_most = others.saturating_sub(more);
		self.spread =
			self.spread.saturating_add(u128::from(at_most)).saturating_sub(u128::from(more));
		self.squares =
			self.squares.saturating_add(u128::from(calls).saturating_mul(2).saturating_add(1));
		self.calls = self.calls.saturating_add(1);
		if calls == 0 {
			self.models_called = self.models_called.saturating_add(1);
		}
	}

	/// The concentration these sums describe.
	pub fn concentration(&self) -> Concentration {
		if self.calls == 0 {
			return Concentration::default();
		}
		let total = U256::from(self.calls);
		Concentration {
			calls: self.calls,
			models_called: u32::try_from(self.models_called).unwrap_or(u32::MAX),
			top_share: Perbill::from_rational(self.top.min(self.calls), self.calls),
			hhi: ratio(U256::from(self.squares), total.saturating_mul(total)),
			gini: ratio(U256::from(self.spread), U256::from(self.models).saturating_mul(total)),
		}
	}
}

/// The Lorenz curve of `amounts` (one per model, zeros included): `points + 1` points (at
/// least 2), the i-th being the share of all models that the `i / points` of them with the
/// least make up (rounded down to whole models) and the share of the total they hold. It runs
/// from (0, 0) to (1, 1); the further below the diagonal, the more concentrated the amounts.
pub fn lorenz(amounts: &[u128], points: u32) -> Vec<(Perbill, Perbill)> {
	let sorted = sorted_ascending(amounts);
	let total = sum(&sorted);
	let models = sorted.len() as u64;
	let points = points.max(1);
	(0..=points)
		.map(|i| {
			// i ≤ points, so the count is at most the number of models.
			let count = U256::from(models)
				.saturating_mul(U256::from(i))
				.checked_div(U256::from(points))
				.unwrap_or_default()
				.low_u64();
			let held = sum(sorted.get(..count as usize).unwrap_or(&sorted));
			(ratio(U256::from(count), U256::from(models)), ratio(held, total))
		})
		.collect()
}

/// The share of the total of `amounts` (one per model, zeros included) that the `fraction` of
/// models with the least hold (rounded down to whole models): the bottom 50% and 80% of models
/// by royalties say whether income reaches the long tail.
pub fn bottom_share(amounts: &[u128], fraction: Perbill) -> Perbill {
	let sorted = sorted_ascending(amounts);
	let count = fraction.mul_floor(sorted.len() as u64) as usize;
	ratio(sum(sorted.get(..count).unwrap_or(&sorted)), sum(&sorted))
}

fn sorted_ascending(amounts: &[u128]) -> Vec<u128> {
	let mut sorted = amounts.to_vec();
	sorted.sort_unstable();
	sorted
}

fn sum(amounts: &[u128]) -> U256 {
	amounts.iter().fold(U256::zero(), |total, amount| total.saturating_add(U256::from(*amount)))
}

/// `numerator / denominator` as a [`Perbill`], rounded down; 0 for a zero denominator.
fn ratio(numerator: U256, denominator: U256) -> Perbill {
	if denominator.is_zero() {
		return Perbill::zero();
	}
	let parts = numerator
		.saturating_mul(U256::from(1_000_000_000u32))
		.checked_div(denominator)
		.unwrap_or_default();
	Perbill::from_parts(
		u32::try_from(parts.min(U256::from(1_000_000_000u32)).low_u64()).unwrap_or(0),
	)
}

/// Registers in a [`PayerSketch`].
pub const SKETCH_REGISTERS: usize = 64;

/// `round(64 · ln(64 / v))` for `v` empty registers, `v` = 1..=64 (linear counting).
const LINEAR_COUNT: [u16; SKETCH_REGISTERS] = [
	266, 222, 196, 177, 163, 151, 142, 133, 126, 119, 113, 107, 102, 97, 93, 89, 85, 81, 78, 74,
	71, 68, 65, 63, 60, 58, 55, 53, 51, 48, 46, 44, 42, 40, 39, 37, 35, 33, 32, 30, 28, 27, 25, 24,
	23, 21, 20, 18, 17, 16, 15, 13, 12, 11, 10, 9, 7, 6, 5, 4, 3, 2, 1, 0,
];

/// A HyperLogLog sketch of distinct payers in 64 bytes: exact for the first few payers, about
/// 13% standard error beyond a few hundred, whatever the number of calls.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct PayerSketch {
	/// Per register, the highest leading-zero rank seen plus one.
	pub registers: [u8; SKETCH_REGISTERS],
}

impl Default for PayerSketch {
	fn default() -> Self {
		Self { registers: [0; SKETCH_REGISTERS] }
	}
}

impl PayerSketch {
	/// Adds a payer, given by any encoding of its account.
	pub fn insert(&mut self, payer: &[u8]) {
		let hash = sp_crypto_hashing::blake2_256(payer);
		let index = usize::from(hash[0]).checked_rem(SKETCH_REGISTERS).unwrap_or(0);
		let mut word = [0u8; 8];
		word.copy_from_slice(&hash[1..9]);
		let rank = u64::from_le_bytes(word).leading_zeros().saturating_add(1) as u8;
		if let Some(register) = self.registers.get_mut(index) {
			*register = (*register).max(rank);
		}
	}

	/// Estimated number of distinct payers inserted.
	pub fn estimate(&self) -> u64 {
		let empty = self.registers.iter().filter(|r| **r == 0).count();
		// Σ 2^(64 − rank) is at most 64 · 2^64, well inside u128.
		let sum = self
			.registers
			.iter()
			.map(|r| 1u128.checked_shl(64u32.saturating_sub(u32::from(*r))).unwrap_or(0))
			.fold(0u128, u128::saturating_add);
		// α₆₄ · m² = 0.709 · 4096 ≈ 2904.
		let raw = (2904u128 << 64).checked_div(sum).unwrap_or(0);
		if empty > 0 && raw <= 160 {
			return LINEAR_COUNT.get(empty.saturating_sub(1)).map_or(0, |count| u64::from(*count));
		}
		u64::try_from(raw).unwrap_or(u64::MAX)
	}
}

//! When two workers' outputs agree: the tolerance comparator of redundant inference.
//!
//! Honest workers running the same model on the same input can still produce different floats:
//! ONNX Runtime's graph optimizations, builds and CPU kernels sum in different orders. Outputs
//! with equal [content hashes](crate::tensor::TensorSet::content_hash) agree outright; otherwise
//! [`compare`] measures each element pair against the model's [`Tolerance`]:
//!
//! ```text
//! |a - b| <= absolute * M + relative * max(|a|, |b|)
//! ```
//!
//! where `M` is the largest finite magnitude in that tensor of either output. Names, dtypes and
//! shapes must match exactly, and integer and boolean elements must be equal. Special values
//! follow one written rule: NaN agrees only with NaN, `+Inf` only with `+Inf`, `-Inf` only with
//! `-Inf`, and `-0` equals `+0`.
//!
//! The comparison runs in the runtime, so it uses integers only: every finite element is put on
//! a grid of `2^-62` of `M` (`M` itself then has 63 significant bits, more than any float's
//! mantissa), truncating toward zero, and the inequality is checked exactly in `u128` with the
//! tolerance in parts per billion. Magnitudes below one grid step count as zero. The result is
//! the same on every machine and symmetric in its arguments, and equal outputs always agree.

use crate::tensor::{le_bits, low_mask, Tensor, TensorSet};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Parts per billion: the unit of [`Tolerance`].
pub const PPB: u32 = 1_000_000_000;

/// The largest [`Tolerance`] part: 100% (`PPB`).
pub const MAX_TOLERANCE_PPB: u32 = PPB;

/// The largest fraud margin: ten thousand times the tolerance.
pub const MAX_FRAUD_MARGIN: u32 = 10_000;

/// How far apart two outputs of a model may be and still agree, in parts per billion.
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
pub struct Tolerance {
	/// Allowed difference per element as a share of the tensor's largest finite magnitude.
	pub absolute_ppb: u32,
	/// Allowed difference per element as a share of the larger of the two elements.
	pub relative_ppb: u32,
}

impl Tolerance {
	/// Exact agreement only.
	pub const EXACT: Tolerance = Tolerance { absolute_ppb: 0, relative_ppb: 0 };

	/// Whether both parts are at most 100%.
	pub fn is_valid(&self) -> bool {
		self.absolute_ppb <= MAX_TOLERANCE_PPB && self.relative_ppb <= MAX_TOLERANCE_PPB
	}
}

/// How a model's outputs are judged when redundant workers' hashes differ: agreement within
/// `tolerance`, and a fraud margin of `fraud_margin` times it, outside of which a worker is
/// slashed (between the two it is unpaid but keeps its bond).
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
pub struct Agreement {
	/// How far apart outputs may be and still agree.
	pub tolerance: Tolerance,
	/// How many times the tolerance an output may be off before it counts as fraud: 1 to
	/// [`MAX_FRAUD_MARGIN`].
	pub fraud_margin: u32,
}

impl Agreement {
	/// The default for float models, from measured distances between honest ONNX Runtime
	/// runs (`docs/protocol.md`): outputs of CNNs under different graph optimization levels
	/// differ by at most 5.3e-7 of the largest magnitude, so the absolute part is 5e-6 (about
	/// ten times that); the relative part, 5e-5 per element, covers neighbours that rounded
	/// apart at 16 significant bits (2^-16 = 1.5e-5) with room to spare. Beyond 100 times
	/// this an output is fraud.
	pub const DEFAULT: Agreement = Agreement {
		tolerance: Tolerance { absolute_ppb: 5_000, relative_ppb: 50_000 },
		fraud_margin: 100,
	};

	/// Whether the tolerance parts are at most 100% and the margin is 1 to
	/// [`MAX_FRAUD_MARGIN`].
	pub fn is_valid(&self) -> bool {
		self.tolerance.is_valid() && (1..=MAX_FRAUD_MARGIN).contains(&self.fraud_margin)
	}

	/// How close `b` is to `a` under this rule.
	pub fn compare(&self, a: &TensorSet, b: &TensorSet) -> Closeness {
		compare(a, b, &self.tolerance, self.fraud_margin)
	}
}

impl Default for Agreement {
	fn default() -> Self {
		Self::DEFAULT
	}
}

/// How close two outputs are, given a tolerance and a fraud margin.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Closeness {
	/// Every element is within the tolerance.
	Within,
	/// Some element is beyond the tolerance, none beyond `margin` times it.
	WithinMargin,
	/// The outputs differ in structure, in an exact element or special value, or by more than
	/// `margin` times the tolerance somewhere.
	Beyond,
}

/// One element of a floating tensor, decoded exactly: `mantissa * 2^exponent`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Element {
	NaN,
	Infinite { negative: bool },
	Finite { negative: bool, mantissa: u64, exponent: i32 },
}

/// Decodes an IEEE 754 bit pattern of `width` bits with `mantissa_bits` explicit mantissa bits.
fn decode_float(bits: u64, width: u32, mantissa_bits: u32) -> Element {
	let exponent_bits = width.saturating_sub(mantissa_bits).saturating_sub(1);
	let negative = bits.checked_shr(width.saturating_sub(1)).unwrap_or(0) & 1 == 1;
	let max_exponent = low_mask(exponent_bits);
	let biased = bits.checked_shr(mantissa_bits).unwrap_or(0) & max_exponent;
	let fraction = bits & low_mask(mantissa_bits);
	// At most 2^10 - 1 (f64's 11 exponent bits), so the conversions below are exact.
	let bias = low_mask(exponent_bits.saturating_sub(1)) as i32;
	let shift = mantissa_bits as i32;
	if biased == max_exponent {
		return if fraction == 0 { Element::Infinite { negative } } else { Element::NaN };
	}
	if biased == 0 {
		// Zero or subnormal: no implicit bit, the smallest exponent.
		let exponent = 1i32.saturating_sub(bias).saturating_sub(shift);
		return Element::Finite { negative, mantissa: fraction, exponent };
	}
	Element::Finite {
		negative,
		mantissa: fraction | low_mask(mantissa_bits).saturating_add(1),
		exponent: (biased as i32).saturating_sub(bias).saturating_sub(shift),
	}
}

/// The elements of a floating tensor (empty for other dtypes).
fn float_elements(tensor: &Tensor) -> impl Iterator<Item = Element> + '_ {
	let float = tensor.dtype.is_float();
	let size = tensor.dtype.size();
	let width = (size as u32).saturating_mul(8);
	let mantissa = tensor.dtype.mantissa_bits();
	tensor
		.data
		.chunks_exact(size)
		.filter(move |_| float)
		.map(move |chunk| decode_float(le_bits(chunk), width, mantissa))
}

/// The position of the top bit of a nonzero finite element (`floor(log2 |x|)`).
fn top_bit(mantissa: u64, exponent: i32) -> i32 {
	exponent.saturating_add(63).saturating_sub(mantissa.leading_zeros() as i32)
}

/// `mantissa * 2^(exponent - grid)`, truncated toward zero; `grid` puts the largest magnitude
/// below `2^63`, so the result fits.
fn on_grid(mantissa: u64, exponent: i32, grid: i32) -> u128 {
	let shift = exponent.saturating_sub(grid);
	if shift >= 0 {
		u128::from(mantissa).checked_shl(shift.unsigned_abs().min(64)).unwrap_or(0)
	} else {
		u128::from(mantissa.checked_shr(shift.unsigned_abs()).unwrap_or(0))
	}
}

/// Compares two floating tensors of equal dtype and shape.
fn compare_floats(a: &Tensor, b: &Tensor, tolerance: &Tolerance, margin: u32) -> Closeness {
	// The largest finite magnitude of either tensor fixes the grid.
	let top = float_elements(a)
		.chain(float_elements(b))
		.filter_map(|element| match element {
			Element::Finite { mantissa, exponent, .. } if mantissa != 0 => {
				Some(top_bit(mantissa, exponent))
			},
			_ => None,
		})
		.max();
	let grid = top.map_or(0, |top| top.saturating_sub(62));
	let largest = float_elements(a)
		.chain(float_elements(b))
		.filter_map(|element| match element {
			Element::Finite { mantissa, exponent, .. } => Some(on_grid(mantissa, exponent, grid)),
			_ => None,
		})
		.max()
		.unwrap_or(0);
	// Magnitudes on the grid are below 2^64 and the factors below 2^32: no product saturates.
	let absolute = u128::from(tolerance.absolute_ppb).saturating_mul(largest);
	let wide_absolute = absolute.saturating_mul(u128::from(margin));
	let ppb = u128::from(PPB);

	let mut closeness = Closeness::Within;
	for (x, y) in float_elements(a).zip(float_elements(b)) {
		match (x, y) {
			(Element::NaN, Element::NaN) => {},
			(Element::Infinite { negative: p }, Element::Infinite { negative: q }) if p == q => {},
			(
				Element::Finite { negative: p, mantissa: m, exponent: e },
				Element::Finite { negative: q, mantissa: n, exponent: f },
			) => {
				let (x, y) = (on_grid(m, e, grid), on_grid(n, f, grid));
				// Zero has no sign: -0 equals +0, and so do magnitudes below the grid.
				let difference =
					if p == q || x == 0 || y == 0 { x.abs_diff(y) } else { x.saturating_add(y) };
				let scaled = difference.saturating_mul(ppb);
				let relative = u128::from(tolerance.relative_ppb).saturating_mul(x.max(y));
				if scaled <= absolute.saturating_add(relative) {
					continue;
				}
				let wide_relative = relative.saturating_mul(u128::from(margin));
				if scaled > wide_absolute.saturating_add(wide_relative) {
					return Closeness::Beyond;
				}
				closeness = Closeness::WithinMargin;
			},
			_ => return Closeness::Beyond,
		}
	}
	closeness
}

/// How close output `b` is to output `a` under `tolerance`, and under `margin` times it.
///
/// Both must be canonical tensor sets (sorted by name). The result is symmetric: `compare(a,
/// b)` equals `compare(b, a)`. `margin` is capped at [`MAX_FRAUD_MARGIN`].
pub fn compare(a: &TensorSet, b: &TensorSet, tolerance: &Tolerance, margin: u32) -> Closeness {
	if a.tensors.len() != b.tensors.len() {
		return Closeness::Beyond;
	}
	let margin = margin.clamp(1, MAX_FRAUD_MARGIN);
	let mut closeness = Closeness::Within;
	for (x, y) in a.tensors.iter().zip(b.tensors.iter()) {
		if x.name != y.name
			|| x.dtype != y.dtype
			|| x.shape != y.shape
			|| x.data.len() != y.data.len()
		{
			return Closeness::Beyond;
		}
		let this = if x.dtype.is_float() {
			compare_floats(x, y, tolerance, margin)
		} else if x.data == y.data {
			Closeness::Within
		} else {
			Closeness::Beyond
		};
		match this {
			Closeness::Beyond => return Closeness::Beyond,
			Closeness::WithinMargin => closeness = Closeness::WithinMargin,
			Closeness::Within => {},
		}
	}
	closeness
}

/// What the revealed outputs of a redundant request settle on: the representative output and
/// how close each distinct output is to it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Verdict {
	/// Index of the representative among the distinct outputs.
	pub representative: usize,
	/// Per distinct output: [`Closeness::Within`] (its workers are paid),
	/// [`Closeness::WithinMargin`] (unpaid, not slashed) or [`Closeness::Beyond`] (slashed).
	pub closeness: alloc::vec::Vec<Closeness>,
}

/// Picks the output a redundant request settles on, if a strict majority of its `redundancy`
/// workers agrees on one.
///
/// `outputs` are the distinct revealed outputs as `(content hash, workers that revealed it)`;
/// `compare(i, j)` says how close outputs `i` and `j` are (it must be symmetric). The rule:
///
/// 1. *Exact majority* (the fast path): an output revealed by more than half of the
///    redundancy is the representative, found without comparing outputs.
/// 2. Otherwise, the *support* of an output is the number of workers whose output is within
///    tolerance of it (its own included). The representative is the output with the largest
///    support if that is more than half of the redundancy; ties go to the output more workers
///    revealed exactly, then to the smallest content hash.
///
/// Every other output is then classed by its closeness to the representative.
pub fn verdict(
	redundancy: u32,
	outputs: &[([u8; 32], u32)],
	mut compare: impl FnMut(usize, usize) -> Closeness,
) -> Option<Verdict> {
	let majority = |votes: u64| votes.saturating_mul(2) > u64::from(redundancy);
	let count = outputs.len();
	// Comparisons are symmetric; each pair is compared at most once.
	let mut known: alloc::vec::Vec<Option<Closeness>> =
		alloc::vec![None; count.saturating_mul(count)];
	let mut closeness = |i: usize, j: usize| -> Closeness {
		if i == j {
			return Closeness::Within;
		}
		let (low, high) = (i.min(j), i.max(j));
		match known.get_mut(low.saturating_mul(count).saturating_add(high)) {
			Some(entry) => *entry.get_or_insert_with(|| compare(low, high)),
			None => compare(low, high),
		}
	};
	let representative = match outputs.iter().position(|(_, votes)| majority(u64::from(*votes))) {
		Some(exact) => exact,
		None => {
			let mut best: Option<(u64, u32, [u8; 32], usize)> = None;
			for (i, &(hash, votes)) in outputs.iter().enumerate() {
				let support = outputs
					.iter()
					.enumerate()
					.filter(|&(j, _)| closeness(i, j) == Closeness::Within)
					.map(|(_, &(_, votes))| u64::from(votes))
					.fold(0u64, u64::saturating_add);
				let better = match best {
					None => true,
					Some((best_support, best_votes, best_hash, _)) => {
						(support, votes, core::cmp::Reverse(hash))
							> (best_support, best_votes, core::cmp::Reverse(best_hash))
					},
				};
				if better {
					best = Some((support, votes, hash, i));
				}
			}
			match best {
				Some((support, _, _, index)) if majority(support) => index,
				_ => return None,
			}
		},
	};
	let closeness = (0..count).map(|j| closeness(representative, j)).collect();
	Some(Verdict { representative, closeness })
}

/// Number of elements [`compare`] reads from a set: the comparator's cost is linear in it.
pub fn element_count(set: &TensorSet) -> u64 {
	set.tensors
		.iter()
		.map(|tensor| tensor.data.len().checked_div(tensor.dtype.size()).unwrap_or(0) as u64)
		.fold(0u64, u64::saturating_add)
}

#[cfg(test)]
mod tests;

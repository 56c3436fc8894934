//! The comparator against a floating-point reference, on special values, and its properties.

use super::*;
use crate::tensor::{DType, Tensor, TensorSet};
use proptest::prelude::*;

fn f32_tensor(name: &str, values: &[f32]) -> Tensor {
	Tensor {
		name: name.as_bytes().to_vec(),
		dtype: DType::F32,
		shape: vec![values.len() as u64],
		data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
	}
}

fn f32_set(values: &[f32]) -> TensorSet {
	TensorSet { tensors: vec![f32_tensor("y", values)] }
}

/// A set with one tensor `y` of `dtype` holding `data` (`count` elements).
fn one_tensor(dtype: DType, count: usize, data: Vec<u8>) -> TensorSet {
	TensorSet {
		tensors: vec![Tensor { name: b"y".to_vec(), dtype, shape: vec![count as u64], data }],
	}
}

fn f64_set(values: &[f64]) -> TensorSet {
	one_tensor(DType::F64, values.len(), values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

fn f16_set(bits: &[u16]) -> TensorSet {
	one_tensor(DType::F16, bits.len(), bits.iter().flat_map(|v| v.to_le_bytes()).collect())
}

const TOLERANCE: Tolerance = Tolerance { absolute_ppb: 5_000, relative_ppb: 1_000 };

/// The rule in floating point: `|a - b| <= absolute * M + relative * max(|a|, |b|)`, per
/// element, `M` the largest finite magnitude; `None` near the boundary, where the grid may
/// decide either way.
fn reference(a: &[f32], b: &[f32], tolerance: &Tolerance, margin: u32) -> Option<Closeness> {
	let largest = a.iter().chain(b).map(|v| f64::from(v.abs())).fold(0.0, f64::max);
	let abs = f64::from(tolerance.absolute_ppb) / 1e9;
	let rel = f64::from(tolerance.relative_ppb) / 1e9;
	let mut closeness = Closeness::Within;
	for (x, y) in a.iter().zip(b) {
		let (x, y) = (f64::from(*x), f64::from(*y));
		let difference = (x - y).abs();
		let bound = abs * largest + rel * x.abs().max(y.abs());
		let near = |limit: f64| (difference - limit).abs() <= 1e-9 * limit.max(f64::MIN_POSITIVE);
		if near(bound) || near(bound * f64::from(margin)) {
			return None;
		}
		if difference > bound * f64::from(margin) {
			return Some(Closeness::Beyond);
		}
		if difference > bound {
			closeness = Closeness::WithinMargin;
		}
	}
	Some(closeness)
}

#[test]
fn equal_outputs_agree() {
	let set = f32_set(&[1.0, -2.5, 0.0, 1e-30, f32::NAN, f32::INFINITY]);
	assert_eq!(compare(&set, &set, &Tolerance::EXACT, 1), Closeness::Within);
	assert_eq!(compare(&set, &set, &TOLERANCE, 100), Closeness::Within);
}

#[test]
fn absolute_part_scales_with_the_largest_magnitude() {
	// 5 ppb of M = 1000 is 5e-6: a difference of 4e-6 on a small element agrees, 6e-6 is
	// in the grey zone with a margin of 100, 1e-3 is beyond it.
	let tolerance = Tolerance { absolute_ppb: 5, relative_ppb: 0 };
	let base = f32_set(&[1000.0, 0.5]);
	assert_eq!(compare(&base, &f32_set(&[1000.0, 0.500_004]), &tolerance, 100), Closeness::Within);
	assert_eq!(
		compare(&base, &f32_set(&[1000.0, 0.500_006]), &tolerance, 100),
		Closeness::WithinMargin
	);
	assert_eq!(compare(&base, &f32_set(&[1000.0, 0.501]), &tolerance, 100), Closeness::Beyond);
}

#[test]
fn relative_part_scales_with_each_element() {
	let tolerance = Tolerance { absolute_ppb: 0, relative_ppb: 1_000_000 }; // 0.1%
	let base = f32_set(&[1000.0, 0.5]);
	assert_eq!(compare(&base, &f32_set(&[1000.5, 0.5004]), &tolerance, 10), Closeness::Within);
	assert_eq!(compare(&base, &f32_set(&[1000.0, 0.502]), &tolerance, 10), Closeness::WithinMargin);
	assert_eq!(compare(&base, &f32_set(&[1000.0, 0.51]), &tolerance, 10), Closeness::Beyond);
}

#[test]
fn special_values_follow_the_written_rule() {
	let exact = Tolerance::EXACT;
	let nan_payload = f32::from_bits(0x7fc0_0001);
	// NaN agrees with any NaN, and only with NaN.
	assert_eq!(
		compare(&f32_set(&[f32::NAN]), &f32_set(&[nan_payload]), &exact, 1),
		Closeness::Within
	);
	assert_eq!(
		compare(&f32_set(&[f32::NAN]), &f32_set(&[0.0]), &TOLERANCE, 100),
		Closeness::Beyond
	);
	assert_eq!(
		compare(&f32_set(&[f32::NAN]), &f32_set(&[f32::INFINITY]), &TOLERANCE, 100),
		Closeness::Beyond
	);
	// Infinities agree with the same sign only, whatever the tolerance.
	let wide = Tolerance { absolute_ppb: PPB, relative_ppb: PPB };
	assert_eq!(
		compare(&f32_set(&[f32::INFINITY]), &f32_set(&[f32::INFINITY]), &exact, 1),
		Closeness::Within
	);
	assert_eq!(
		compare(&f32_set(&[f32::INFINITY]), &f32_set(&[f32::NEG_INFINITY]), &wide, 100),
		Closeness::Beyond
	);
	assert_eq!(
		compare(&f32_set(&[f32::INFINITY, 1.0]), &f32_set(&[f32::MAX, 1.0]), &wide, 100),
		Closeness::Beyond
	);
	// -0 equals +0.
	assert_eq!(compare(&f32_set(&[-0.0]), &f32_set(&[0.0]), &exact, 1), Closeness::Within);
	// Infinities and NaN do not count towards the largest magnitude.
	let tolerance = Tolerance { absolute_ppb: 10_000_000, relative_ppb: 0 }; // 1% of M
	assert_eq!(
		compare(&f32_set(&[f32::INFINITY, 1.0]), &f32_set(&[f32::INFINITY, 1.5]), &tolerance, 10),
		Closeness::Beyond
	);
}

#[test]
fn subnormals_are_compared_exactly_when_they_are_the_scale() {
	let smallest = f32::from_bits(1);
	let tolerance = Tolerance { absolute_ppb: 0, relative_ppb: 400_000_000 }; // 40%
																		   // 2 and 3 times the smallest subnormal differ by a third of the larger: within 40%.
	assert_eq!(
		compare(&f32_set(&[2.0 * smallest]), &f32_set(&[3.0 * smallest]), &tolerance, 2),
		Closeness::Within
	);
	// 1 and 3 times differ by two thirds: within twice 40%, not within 40%.
	assert_eq!(
		compare(&f32_set(&[smallest]), &f32_set(&[3.0 * smallest]), &tolerance, 2),
		Closeness::WithinMargin
	);
	// Below 2^-62 of the largest magnitude, elements count as zero.
	assert_eq!(
		compare(&f32_set(&[1.0, smallest]), &f32_set(&[1.0, 0.0]), &Tolerance::EXACT, 1),
		Closeness::Within
	);
	// Opposite signs add up.
	assert_eq!(
		compare(
			&f32_set(&[1.0, 0.25]),
			&f32_set(&[1.0, -0.25]),
			&Tolerance { absolute_ppb: 400_000_000, relative_ppb: 0 },
			2
		),
		Closeness::WithinMargin
	);
}

#[test]
fn f16_and_f64_decode_like_f32() {
	// f16 0x3c00 = 1.0, 0x3c01 = 1 + 2^-10, 0x0001 = 2^-24 (subnormal).
	let tolerance = Tolerance { absolute_ppb: 0, relative_ppb: 1_000_000 }; // 0.1%
	assert_eq!(compare(&f16_set(&[0x3c00]), &f16_set(&[0x3c01]), &tolerance, 1), Closeness::Within);
	assert_eq!(compare(&f16_set(&[0x3c00]), &f16_set(&[0x3c02]), &tolerance, 1), Closeness::Beyond);
	assert_eq!(
		compare(&f16_set(&[0x0001]), &f16_set(&[0x0001]), &Tolerance::EXACT, 1),
		Closeness::Within
	);
	assert_eq!(compare(&f16_set(&[0x7c00]), &f16_set(&[0xfc00]), &tolerance, 1), Closeness::Beyond);
	let tolerance = Tolerance { absolute_ppb: 1, relative_ppb: 0 };
	assert_eq!(
		compare(&f64_set(&[1e300, 1.0]), &f64_set(&[1e300, 1e290]), &tolerance, 1),
		Closeness::Within
	);
	assert_eq!(
		compare(&f64_set(&[1e300, 1.0]), &f64_set(&[1e300 * (1.0 + 2e-9), 1.0]), &tolerance, 1),
		Closeness::Beyond
	);
	assert_eq!(
		compare(
			&f64_set(&[f64::MAX, -f64::MAX]),
			&f64_set(&[f64::MAX, -f64::MAX]),
			&Tolerance::EXACT,
			1
		),
		Closeness::Within
	);
}

#[test]
fn structure_and_exact_dtypes_must_match() {
	let a = f32_set(&[1.0, 2.0]);
	let mut renamed = a.clone();
	renamed.tensors[0].name = b"z".to_vec();
	let mut reshaped = a.clone();
	reshaped.tensors[0].shape = vec![2, 1];
	let as_i32 = TensorSet { tensors: vec![Tensor { dtype: DType::I32, ..a.tensors[0].clone() }] };
	let wide = Tolerance { absolute_ppb: PPB, relative_ppb: PPB };
	for other in [&renamed, &reshaped, &as_i32, &f32_set(&[1.0]), &TensorSet::default()] {
		assert_eq!(compare(&a, other, &wide, 100), Closeness::Beyond);
		assert_eq!(compare(other, &a, &wide, 100), Closeness::Beyond);
	}
	// A second tensor must match too.
	let two = |v: f32| TensorSet { tensors: vec![f32_tensor("a", &[1.0]), f32_tensor("b", &[v])] };
	assert_eq!(compare(&two(1.0), &two(1.0), &Tolerance::EXACT, 1), Closeness::Within);
	assert_eq!(compare(&two(1.0), &two(1.5), &Tolerance::EXACT, 1), Closeness::Beyond);
	// Integers and booleans agree only when equal.
	let ints = |v: i32| TensorSet {
		tensors: vec![Tensor {
			name: b"label".to_vec(),
			dtype: DType::I32,
			shape: vec![],
			data: v.to_le_bytes().to_vec(),
		}],
	};
	assert_eq!(compare(&ints(7), &ints(7), &Tolerance::EXACT, 1), Closeness::Within);
	assert_eq!(compare(&ints(7), &ints(8), &wide, 100), Closeness::Beyond);
}

#[test]
fn agreement_bounds_and_default() {
	assert!(Agreement::DEFAULT.is_valid());
	assert!(!Agreement { fraud_margin: 0, ..Agreement::DEFAULT }.is_valid());
	assert!(!Agreement { fraud_margin: MAX_FRAUD_MARGIN + 1, ..Agreement::DEFAULT }.is_valid());
	assert!(!Agreement {
		tolerance: Tolerance { absolute_ppb: PPB + 1, relative_ppb: 0 },
		..Agreement::DEFAULT
	}
	.is_valid());
	// The default accepts the measured distance between optimization levels (5.3e-7 of the
	// largest magnitude) and a 16-bit rounding flip, and rejects a 1% error as fraud.
	let base = f32_set(&[10.0, 0.001, -3.0]);
	let measured = f32_set(&[10.0, 0.001 + 5.3e-6, -3.0]);
	let flipped = f32_set(&[10.0, 0.001, -3.0 * (1.0 + 1.0 / 65_536.0)]);
	let wrong = f32_set(&[10.1, 0.001, -3.0]);
	assert_eq!(Agreement::DEFAULT.compare(&base, &measured), Closeness::Within);
	assert_eq!(Agreement::DEFAULT.compare(&base, &flipped), Closeness::Within);
	assert_eq!(Agreement::DEFAULT.compare(&base, &wrong), Closeness::Beyond);
}

#[test]
fn tolerance_bounds() {
	assert!(TOLERANCE.is_valid());
	assert!(Tolerance { absolute_ppb: PPB, relative_ppb: PPB }.is_valid());
	assert!(!Tolerance { absolute_ppb: PPB + 1, relative_ppb: 0 }.is_valid());
	assert_eq!(element_count(&f32_set(&[1.0, 2.0, 3.0])), 3);
}

/// Outputs `0..n` with the given closeness table (symmetric, `(i, j)` with `i < j`).
fn table(pairs: &[((usize, usize), Closeness)]) -> impl FnMut(usize, usize) -> Closeness + '_ {
	move |i, j| {
		pairs
			.iter()
			.find(|((a, b), _)| (*a, *b) == (i.min(j), i.max(j)))
			.map(|(_, c)| *c)
			.unwrap_or(Closeness::Beyond)
	}
}

#[test]
fn an_exact_majority_is_the_representative_without_comparing() {
	let outputs = [([1; 32], 2), ([2; 32], 1)];
	let mut compared = 0;
	let verdict = verdict(3, &outputs, |_, _| {
		compared += 1;
		Closeness::WithinMargin
	})
	.expect("two of three agree exactly");
	assert_eq!(verdict.representative, 0);
	// The minority is still classed against it: one comparison.
	assert_eq!(verdict.closeness, vec![Closeness::Within, Closeness::WithinMargin]);
	assert_eq!(compared, 1);
	// All equal: nothing to compare.
	let verdict = super::verdict(3, &[([1; 32], 3)], |_, _| unreachable!()).expect("unanimous");
	assert_eq!(verdict, Verdict { representative: 0, closeness: vec![Closeness::Within] });
}

#[test]
fn a_tolerance_cluster_settles_when_hashes_differ() {
	use Closeness::*;
	// Three different hashes; 0 and 1 agree within tolerance, 2 lies.
	let outputs = [([3; 32], 1), ([1; 32], 1), ([2; 32], 1)];
	let pairs = [((0, 1), Within), ((0, 2), Beyond), ((1, 2), Beyond)];
	let verdict = verdict(3, &outputs, table(&pairs)).expect("two of three within tolerance");
	// 0 and 1 tie on support and votes: the smaller hash, output 1, represents them.
	assert_eq!(verdict.representative, 1);
	assert_eq!(verdict.closeness, vec![Within, Within, Beyond]);

	// One in the grey zone of the cluster.
	let pairs = [((0, 1), Within), ((0, 2), WithinMargin), ((1, 2), WithinMargin)];
	let verdict = super::verdict(3, &outputs, table(&pairs)).expect("cluster");
	assert_eq!(verdict.closeness[2], WithinMargin);

	// No two within tolerance: no verdict.
	let pairs = [((0, 1), WithinMargin), ((0, 2), Beyond), ((1, 2), WithinMargin)];
	assert_eq!(super::verdict(3, &outputs, table(&pairs)), None);

	// Support counts workers: with redundancy 5, 2 + 1 agreeing beat 2 alone.
	let outputs = [([9; 32], 2), ([8; 32], 1), ([7; 32], 2)];
	let pairs = [((0, 1), Within), ((0, 2), Beyond), ((1, 2), Within)];
	// 0: 2 + 1 = 3, 1: 1 + 2 + 2 = 5, 2: 2 + 1 = 3; output 1 has the most support.
	let verdict = super::verdict(5, &outputs, table(&pairs)).expect("cluster of five");
	assert_eq!(verdict.representative, 1);
	assert_eq!(verdict.closeness, vec![Within, Within, Within]);
}

#[test]
fn an_exact_majority_counts_against_the_redundancy_not_the_reveals() {
	let (a, b) = ([1; 32], [2; 32]);
	let exact = |redundancy, outputs: &[([u8; 32], u32)]| {
		verdict(redundancy, outputs, |_, _| Closeness::Beyond)
			.map(|verdict| outputs[verdict.representative].0)
	};
	assert_eq!(exact(1, &[(a, 1)]), Some(a));
	assert_eq!(exact(3, &[(a, 2), (b, 1)]), Some(a));
	assert_eq!(exact(3, &[(a, 1), (b, 1)]), None);
	assert_eq!(exact(3, &[(a, 1)]), None);
	assert_eq!(exact(2, &[(a, 1), (b, 1)]), None);
	assert_eq!(exact(2, &[(a, 2)]), Some(a));
	assert_eq!(exact(4, &[(a, 2), (b, 2)]), None);
	assert_eq!(exact(5, &[(b, 2), (a, 3)]), Some(a));
}

#[test]
fn a_verdict_needs_a_majority_of_the_redundancy() {
	// Two of five revealed, agreeing: not a majority of five.
	let outputs = [([1; 32], 1), ([2; 32], 1)];
	assert_eq!(verdict(5, &outputs, |_, _| Closeness::Within), None);
	assert_eq!(verdict(3, &outputs, |_, _| Closeness::Within).map(|v| v.representative), Some(0));
	assert_eq!(verdict(3, &[], |_, _| Closeness::Within), None);
}

fn finite_f32() -> impl Strategy<Value = f32> {
	prop_oneof![-1e3f32..1e3, -1e-3f32..1e-3, any::<f32>().prop_filter("finite", |v| v.is_finite()),]
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

	#[test]
	fn matches_the_floating_point_reference(
		a in prop::collection::vec(-1e3f32..1e3, 1..32),
		noise in prop::collection::vec(-1e-2f32..1e-2, 32),
		absolute_ppb in 0u32..100_000,
		relative_ppb in 0u32..100_000,
		margin in 1u32..200,
	) {
		let b: Vec<f32> = a.iter().zip(&noise).map(|(x, n)| x + x * n * 1e-3 + n * 1e-2).collect();
		let tolerance = Tolerance { absolute_ppb, relative_ppb };
		if let Some(expected) = reference(&a, &b, &tolerance, margin) {
			prop_assert_eq!(compare(&f32_set(&a), &f32_set(&b), &tolerance, margin), expected);
		}
	}

	#[test]
	fn is_symmetric(
		a in prop::collection::vec(finite_f32(), 1..16),
		b in prop::collection::vec(finite_f32(), 1..16),
		absolute_ppb in 0u32..=PPB,
		relative_ppb in 0u32..=PPB,
		margin in 1u32..=MAX_FRAUD_MARGIN,
	) {
		let n = a.len().min(b.len());
		let (a, b) = (f32_set(&a[..n]), f32_set(&b[..n]));
		let tolerance = Tolerance { absolute_ppb, relative_ppb };
		prop_assert_eq!(compare(&a, &b, &tolerance, margin), compare(&b, &a, &tolerance, margin));
	}

	#[test]
	fn equal_outputs_always_agree(bits in prop::collection::vec(any::<u32>(), 1..32)) {
		let values: Vec<f32> = bits.into_iter().map(f32::from_bits).collect();
		let set = f32_set(&values);
		prop_assert_eq!(compare(&set, &set, &Tolerance::EXACT, 1), Closeness::Within);
	}
}

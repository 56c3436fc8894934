//! Tests of the primitives: token constants, the tensor protocol, I/O schemas, attestations
//! and demand statistics.

use crate::{
	currency::*,
	inference::*,
	schema::{Dim, IoSchema, SchemaError, TensorSpec},
	stats::*,
	tensor::*,
	time::*,
};
use codec::Encode;
use sp_runtime::Perbill;

#[test]
fn one_opg_has_eighteen_decimals() {
	assert_eq!(OPG, 10u128.pow(u32::from(TOKEN_DECIMALS)));
	assert_eq!(MICRO_OPG * 1_000_000, OPG);
}

#[test]
fn block_times_are_consistent() {
	assert_eq!(MINUTES, 10);
	assert_eq!(DAYS, 14_400);
}

fn tensor(name: &str, dtype: DType, shape: &[u64], data: Vec<u8>) -> Tensor {
	Tensor { name: name.as_bytes().to_vec(), dtype, shape: shape.to_vec(), data }
}

fn f32s(values: &[f32]) -> Vec<u8> {
	values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn limits() -> Limits {
	Limits::default()
}

#[test]
fn new_sorts_by_name_and_round_trips() {
	let set = TensorSet::new(
		vec![tensor("b", DType::U8, &[2], vec![1, 2]), tensor("a", DType::F32, &[1], f32s(&[0.5]))],
		&limits(),
	)
	.expect("valid");
	assert_eq!(set.tensors[0].name, b"a");
	let bytes = set.encode();
	assert_eq!(TensorSet::decode_canonical(&bytes, &limits()), Ok(set.clone()));
	assert_eq!(set.content_hash(), sp_crypto_hashing::blake2_256(&bytes));
}

#[test]
fn every_dtype_has_its_size_and_name() {
	let sizes = [4, 8, 2, 1, 2, 4, 8, 1, 2, 4, 8, 1];
	for (dtype, size) in DType::ALL.into_iter().zip(sizes) {
		assert_eq!(dtype.size(), size);
		assert_eq!(DType::from_name(dtype.name()), Some(dtype));
		assert_eq!(dtype.encode(), vec![dtype as u8]);
		let set = TensorSet::new(vec![tensor("x", dtype, &[3], vec![0; 3 * size])], &limits());
		assert!(set.is_ok(), "{dtype:?}");
	}
	assert_eq!(DType::from_name("bf16"), None);
}

#[test]
fn decoding_rejects_every_non_canonical_form() {
	let good = TensorSet {
		tensors: vec![
			tensor("a", DType::F32, &[2], f32s(&[1.0, 2.0])),
			tensor("b", DType::Bool, &[1], vec![1]),
		],
	};
	let decode = |set: &TensorSet| TensorSet::decode_canonical(&set.encode(), &limits());
	assert!(decode(&good).is_ok());

	let mut trailing = good.encode();
	trailing.push(0);
	assert_eq!(TensorSet::decode_canonical(&trailing, &limits()), Err(TensorError::Malformed));
	assert_eq!(TensorSet::decode_canonical(&[0xff, 0x01], &limits()), Err(TensorError::Malformed));
	assert_eq!(decode(&TensorSet::default()), Err(TensorError::Empty));

	let mut unsorted = good.clone();
	unsorted.tensors.reverse();
	assert_eq!(decode(&unsorted), Err(TensorError::NamesNotSorted));

	let mut repeated = good.clone();
	repeated.tensors[1].name = b"a".to_vec();
	repeated.tensors[1] = tensor("a", DType::F32, &[2], f32s(&[1.0, 2.0]));
	assert_eq!(decode(&repeated), Err(TensorError::NamesNotSorted));

	let mut bad_name = good.clone();
	bad_name.tensors[0].name = b"a b".to_vec();
	assert_eq!(decode(&bad_name), Err(TensorError::InvalidName));
	bad_name.tensors[0].name = Vec::new();
	assert_eq!(decode(&bad_name), Err(TensorError::InvalidName));
	bad_name.tensors[0].name = vec![b'a'; MAX_NAME_LEN as usize + 1];
	assert_eq!(decode(&bad_name), Err(TensorError::InvalidName));

	let mut short = good.clone();
	short.tensors[0].data.pop();
	assert_eq!(decode(&short), Err(TensorError::DataLengthMismatch));

	let mut bad_bool = good.clone();
	bad_bool.tensors[1].data = vec![2];
	assert_eq!(decode(&bad_bool), Err(TensorError::InvalidBool));

	let mut deep = good.clone();
	deep.tensors[0].shape = vec![1; MAX_RANK as usize + 1];
	assert_eq!(decode(&deep), Err(TensorError::RankTooHigh));

	let mut overflow = good.clone();
	overflow.tensors[0].shape = vec![u64::MAX, 2];
	assert_eq!(decode(&overflow), Err(TensorError::ShapeOverflow));

	let many = TensorSet {
		tensors: (0..=MAX_TENSORS)
			.map(|i| tensor(&format!("t{i:02}"), DType::U8, &[], vec![0]))
			.collect(),
	};
	assert_eq!(decode(&many), Err(TensorError::TooManyTensors));

	let small = Limits { max_tensors: 16, max_data_bytes: 8 };
	assert_eq!(TensorSet::decode_canonical(&good.encode(), &small), Err(TensorError::TooLarge));
}

#[test]
fn canonicalize_leaves_integers_alone_and_merges_tiny_float_differences() {
	let a = 0.123_456_78_f32;
	let b = f32::from_bits(a.to_bits() + 1);
	let mut one = TensorSet { tensors: vec![tensor("y", DType::F32, &[1], f32s(&[a]))] };
	let mut two = TensorSet { tensors: vec![tensor("y", DType::F32, &[1], f32s(&[b]))] };
	assert_ne!(one.content_hash(), two.content_hash());
	one.canonicalize_floats(16);
	two.canonicalize_floats(16);
	assert_eq!(one.content_hash(), two.content_hash());

	let mut ints =
		TensorSet { tensors: vec![tensor("i", DType::I32, &[1], (-1i32).to_le_bytes().to_vec())] };
	let before = ints.clone();
	ints.canonicalize_floats(0);
	assert_eq!(ints, before);
}

#[test]
fn rounding_to_zero_bits_keeps_powers_of_two() {
	let mut set = TensorSet { tensors: vec![tensor("y", DType::F64, &[3], Vec::new())] };
	set.tensors[0].data = [1.4f64, 1.6, -3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
	set.canonicalize_floats(0);
	let values: Vec<f64> = set.tensors[0]
		.data
		.chunks_exact(8)
		.map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
		.collect();
	assert_eq!(values, vec![1.0, 2.0, -4.0]);
}

fn spec(name: &str, dtype: DType, shape: &[Dim]) -> TensorSpec {
	TensorSpec::new(name.as_bytes(), dtype, shape).expect("within bounds")
}

fn schema() -> IoSchema {
	IoSchema {
		inputs: vec![spec("x", DType::F32, &[Dim::Dynamic, Dim::Fixed(4)])]
			.try_into()
			.expect("one"),
		outputs: vec![spec("label", DType::I64, &[Dim::Dynamic])].try_into().expect("one"),
	}
}

#[test]
fn schema_accepts_fitting_sets_with_any_dynamic_size() {
	let schema = schema();
	assert_eq!(schema.validate(), Ok(()));
	for batch in [1u64, 3] {
		let set = TensorSet::new(
			vec![tensor("x", DType::F32, &[batch, 4], vec![0; 16 * batch as usize])],
			&limits(),
		)
		.expect("valid");
		assert_eq!(schema.check_inputs(&set), Ok(()));
	}
	let output = TensorSet::new(vec![tensor("label", DType::I64, &[1], vec![0; 8])], &limits())
		.expect("valid");
	assert_eq!(schema.check_outputs(&output), Ok(()));
}

#[test]
fn schema_names_each_misfit() {
	let schema = schema();
	let check = |tensors: Vec<Tensor>| {
		schema.check_inputs(&TensorSet::new(tensors, &limits()).expect("valid"))
	};
	assert_eq!(
		check(vec![tensor("y", DType::F32, &[1, 4], vec![0; 16])]),
		Err(SchemaError::UnexpectedTensor)
	);
	assert_eq!(
		check(vec![
			tensor("x", DType::F32, &[1, 4], vec![0; 16]),
			tensor("z", DType::U8, &[], vec![0])
		]),
		Err(SchemaError::UnexpectedTensor)
	);
	assert_eq!(
		check(vec![tensor("x", DType::F64, &[1, 4], vec![0; 32])]),
		Err(SchemaError::DTypeMismatch)
	);
	assert_eq!(
		check(vec![tensor("x", DType::F32, &[4], vec![0; 16])]),
		Err(SchemaError::RankMismatch)
	);
	assert_eq!(
		check(vec![tensor("x", DType::F32, &[1, 5], vec![0; 20])]),
		Err(SchemaError::DimMismatch)
	);

	let two_inputs = IoSchema {
		inputs: vec![spec("a", DType::U8, &[]), spec("b", DType::U8, &[])].try_into().expect("two"),
		outputs: schema.outputs.clone(),
	};
	let only_a =
		TensorSet::new(vec![tensor("a", DType::U8, &[], vec![0])], &limits()).expect("valid");
	assert_eq!(two_inputs.check_inputs(&only_a), Err(SchemaError::MissingTensor));
}

#[test]
fn invalid_schemas_are_named() {
	let mut duplicate = schema();
	duplicate.inputs =
		vec![spec("x", DType::U8, &[]), spec("x", DType::U8, &[])].try_into().expect("two");
	assert_eq!(duplicate.validate(), Err(SchemaError::DuplicateName));

	let mut bad_name = schema();
	bad_name.outputs = vec![spec("a b", DType::U8, &[])].try_into().expect("one");
	assert_eq!(bad_name.validate(), Err(SchemaError::InvalidName));

	let mut empty = schema();
	empty.outputs = Default::default();
	assert_eq!(empty.validate(), Err(SchemaError::NoTensors));
}

/// The JSON block of test vectors in `docs/protocol.md`.
fn protocol_vectors() -> serde_json::Value {
	let doc = include_str!("../../docs/protocol.md");
	let start = doc.find("```json\n").expect("a json block") + "```json\n".len();
	let end = start + doc[start..].find("\n```").expect("closed block");
	serde_json::from_str(&doc[start..end]).expect("valid JSON")
}

fn hex_field(value: &serde_json::Value, key: &str) -> Vec<u8> {
	hex::decode(value[key].as_str().expect("hex string")).expect("valid hex")
}

#[test]
fn protocol_doc_vectors_hold() {
	let vectors = protocol_vectors();
	let encoding = vectors["encoding"].as_array().expect("encoding vectors");
	assert!(encoding.len() >= 3);
	for vector in encoding {
		let tensors = vector["tensors"]
			.as_array()
			.expect("tensors")
			.iter()
			.map(|t| Tensor {
				name: t["name"].as_str().expect("name").as_bytes().to_vec(),
				dtype: DType::from_name(t["dtype"].as_str().expect("dtype")).expect("known dtype"),
				shape: t["shape"]
					.as_array()
					.expect("shape")
					.iter()
					.map(|d| d.as_u64().expect("dim"))
					.collect(),
				data: hex_field(t, "data"),
			})
			.collect();
		let set = TensorSet::new(tensors, &limits()).expect("vector is valid");
		let scale = hex_field(vector, "scale");
		assert_eq!(set.encode(), scale, "{}", vector["name"]);
		assert_eq!(TensorSet::decode_canonical(&scale, &limits()), Ok(set.clone()));
		assert_eq!(
			set.content_hash().to_vec(),
			hex_field(vector, "blake2_256"),
			"{}",
			vector["name"]
		);
	}

	let rounding = vectors["rounding"].as_array().expect("rounding vectors");
	assert!(rounding.len() >= 10);
	for vector in rounding {
		let dtype =
			DType::from_name(vector["dtype"].as_str().expect("dtype")).expect("float dtype");
		let bits = vector["bits"].as_u64().expect("bits") as u8;
		let mut set = TensorSet {
			tensors: vec![Tensor {
				name: b"y".to_vec(),
				dtype,
				shape: vec![1],
				data: hex_field(vector, "input"),
			}],
		};
		set.canonicalize_floats(bits);
		assert_eq!(set.tensors[0].data, hex_field(vector, "output"), "{vector}");
	}
}

#[test]
fn attestation_message_is_context_then_scale() {
	let attestation = Attestation {
		genesis_hash: [1; 32],
		request: 7,
		artifact_hash: [2; 32],
		input_hash: [3; 32],
		output_hash: [4; 32],
		worker: [5u8; 32],
	};
	let message = attestation.message();
	assert!(message.starts_with(ATTESTATION_CONTEXT));
	assert_eq!(&message[ATTESTATION_CONTEXT.len()..], attestation.encode().as_slice());
	assert_eq!(message.len(), ATTESTATION_CONTEXT.len() + 32 + 8 + 32 * 4);
}

#[test]
fn commitments_bind_request_output_salt_and_worker() {
	let base = result_commitment(1, &[9; 32], &[7; 32], &[5u8; 32]);
	assert_ne!(base, result_commitment(2, &[9; 32], &[7; 32], &[5u8; 32]));
	assert_ne!(base, result_commitment(1, &[8; 32], &[7; 32], &[5u8; 32]));
	assert_ne!(base, result_commitment(1, &[9; 32], &[6; 32], &[5u8; 32]));
	assert_ne!(base, result_commitment(1, &[9; 32], &[7; 32], &[4u8; 32]));
	assert_eq!(base, result_commitment(1, &[9; 32], &[7; 32], &[5u8; 32]));
}

#[test]
fn concentration_of_even_and_skewed_demand() {
	assert_eq!(concentration(&[]), Concentration::default());
	assert_eq!(concentration(&[0, 0]), Concentration::default());

	let even = concentration(&[5, 5, 5, 5]);
	assert_eq!(even.calls, 20);
	assert_eq!(even.models_called, 4);
	assert_eq!(even.top_share, Perbill::one());
	assert_eq!(even.hhi, Perbill::from_percent(25));
	assert_eq!(even.gini, Perbill::zero());

	let monopoly = concentration(&[0, 0, 0, 12]);
	assert_eq!(monopoly.models_called, 1);
	assert_eq!(monopoly.hhi, Perbill::one());
	// One of n models with everything: Gini = (n − 1) / n.
	assert_eq!(monopoly.gini, Perbill::from_percent(75));

	// Shares 0.5, 0.3, 0.2: HHI 0.38; Gini = Σ(2i−n−1)x / (nΣx) = (−2·2 + 0 + 2·5)/(3·10) = 0.2.
	let skewed = concentration(&[3, 5, 2]);
	assert_eq!(skewed.hhi, Perbill::from_percent(38));
	assert_eq!(skewed.gini, Perbill::from_percent(20));
}

#[test]
fn lorenz_curve_and_bottom_shares_of_even_and_skewed_amounts() {
	let percent = Perbill::from_percent;
	let even = [5u128; 10];
	let curve = lorenz(&even, 5);
	assert_eq!(curve.len(), 6);
	assert!(curve.iter().all(|(models, held)| models == held), "{curve:?}");
	assert_eq!(bottom_share(&even, percent(50)), percent(50));

	// One model earns everything: the curve stays at 0 until the last point.
	let skewed = [0, 0, 0, 100u128];
	assert_eq!(
		lorenz(&skewed, 4),
		vec![
			(percent(0), percent(0)),
			(percent(25), percent(0)),
			(percent(50), percent(0)),
			(percent(75), percent(0)),
			(percent(100), percent(100)),
		]
	);
	assert_eq!(bottom_share(&skewed, percent(80)), percent(0));

	// 1, 2, 3, 4 (order does not matter): the bottom half holds 3 of 10.
	let steps = [4, 1, 3, 2u128];
	assert_eq!(bottom_share(&steps, percent(50)), percent(30));
	assert_eq!(lorenz(&steps, 2)[1], (percent(50), percent(30)));
	// Five models: 80% of them is four whole models, holding 10 of 15.
	assert_eq!(bottom_share(&[1, 2, 3, 4, 5], percent(80)), Perbill::from_rational(10u32, 15));

	assert_eq!(bottom_share(&[], percent(50)), Perbill::zero());
	assert_eq!(lorenz(&[], 2).len(), 3);
	assert_eq!(lorenz(&[u128::MAX, u128::MAX], 2)[1], (percent(50), percent(50)));
}

#[test]
fn top_share_counts_the_ten_largest() {
	let mut volumes = vec![1u64; 20];
	volumes[0] = 81;
	// Top ten: 81 + 9 = 90 of 100.
	assert_eq!(concentration(&volumes).top_share, Perbill::from_percent(90));
}

#[test]
fn concentration_never_overflows() {
	// As long as all calls together fit in a u64, squares and spreads fit in their u128s.
	let half = u64::MAX / 2;
	let big = concentration(&[half, half, 0]);
	assert_eq!(big.hhi, Perbill::from_percent(50));
	assert_eq!(big.models_called, 2);
	assert_eq!(big.gini, Perbill::from_rational(1u32, 3u32));
	// Beyond that, every figure saturates within its range.
	let beyond = concentration(&[u64::MAX, u64::MAX, 0]);
	assert_eq!((beyond.calls, beyond.models_called), (u64::MAX, 2));
	assert!(beyond.hhi <= Perbill::one() && beyond.gini <= Perbill::one());
}

#[test]
fn volume_sums_kept_one_call_at_a_time_equal_a_recount() {
	let mut volumes: Vec<u64> = Vec::new();
	let mut sums = VolumeSums::default();
	let mut seed = 0x9e37_79b9_7f4a_7c15u64;
	for step in 0..5_000u64 {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if volumes.is_empty() || seed.is_multiple_of(16) {
			volumes.push(0);
			sums.add_model();
		} else {
			// Skewed: the product of two uniform picks favours low indexes.
			let n = volumes.len() as u64;
			let pick = (((seed >> 8) % n) * ((seed >> 32) % n) / n) as usize;
			let calls = volumes[pick];
			let more = volumes.iter().filter(|other| **other > calls).count() as u64;
			sums.add_call(calls, more);
			volumes[pick] += 1;
		}
		let mut top: Vec<u64> = volumes.clone();
		top.sort_unstable_by(|a, b| b.cmp(a));
		sums.top = top.iter().take(TOP_N).sum();
		if step.is_multiple_of(97) {
			assert_eq!(sums, VolumeSums::of(&volumes), "step {step}");
		}
	}
	assert_eq!(sums, VolumeSums::of(&volumes));
	assert_eq!(sums.concentration(), concentration(&volumes));
	let called: Vec<u64> = volumes.iter().copied().filter(|calls| *calls > 0).collect();
	let idle = (volumes.len() - called.len()) as u64;
	assert!(idle > 0);
	assert_eq!(VolumeSums::with_idle(&called, idle), sums);
}

#[test]
fn payer_sketch_counts_distinct_payers() {
	let mut sketch = PayerSketch::default();
	assert_eq!(sketch.estimate(), 0);
	for _ in 0..100 {
		sketch.insert(b"alice");
	}
	assert_eq!(sketch.estimate(), 1);
	sketch.insert(b"bob");
	assert_eq!(sketch.estimate(), 2);
	for count in [10u64, 100, 1_000, 10_000] {
		let mut sketch = PayerSketch::default();
		for payer in 0..count {
			sketch.insert(&payer.to_le_bytes());
			sketch.insert(&payer.to_le_bytes());
		}
		let estimate = sketch.estimate();
		let error = estimate.abs_diff(count) as f64 / count as f64;
		assert!(error < 0.3, "{count} payers estimated as {estimate}");
	}
	assert_eq!(PayerSketch::default().encode().len(), SKETCH_REGISTERS);
}

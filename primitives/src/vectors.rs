//! Test vectors of the tensor protocol for the hub's other codecs: the Python client's tests
//! (`python/tests/vectors/tensors.json`) read what this test writes, so both sides agree bit
//! for bit on every dtype, every canonical check, the float rounding, and the bytes a payer
//! signs for a voucher and a worker for a fast call.
//!
//! The vectors are generated here from fixed inputs. The test compares them with the file and
//! fails when they differ; `MODELHUB_WRITE_VECTORS=1` (or a missing file) writes the file anew.

use crate::tensor::*;
use codec::Encode;
use serde_json::{json, Value};

fn hex0x(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

fn tensor(name: &str, dtype: DType, shape: &[u64], data: Vec<u8>) -> Tensor {
	Tensor { name: name.as_bytes().to_vec(), dtype, shape: shape.to_vec(), data }
}

/// A deterministic stream of 64-bit values (SplitMix64).
struct Stream(u64);

impl Stream {
	fn next(&mut self) -> u64 {
		self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
		let mut z = self.0;
		z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
		z ^ (z >> 31)
	}
}

/// Edge-case bit patterns of a float of `width` bits with `mantissa` mantissa bits: zeros,
/// subnormals, the smallest and largest normals, infinities, NaNs with payloads, ties.
fn float_edges(width: u32, mantissa: u32) -> Vec<u64> {
	let sign = 1u64 << (width - 1);
	let exponent = ((1u64 << (width - 1 - mantissa)) - 1) << mantissa;
	let one = (exponent >> 1) & exponent;
	let mut edges = vec![
		0,
		sign,
		1,
		sign | 1,
		(1 << mantissa) - 1,
		1 << mantissa,
		one,
		sign | one,
		one | (1 << (mantissa - 1)),
		one | (1 << (mantissa - 1)) | 1,
		one | ((1 << mantissa) - 1),
		exponent - 1,
		sign | (exponent - 1),
		exponent,
		sign | exponent,
		exponent | 1,
		sign | exponent | (1 << (mantissa - 1)) | 5,
	];
	// Ties at every third kept width: exactly half a unit above an even and an odd significand.
	for keep in (0..mantissa).step_by(3) {
		let drop = mantissa - keep;
		let half = 1u64 << (drop - 1);
		edges.push(one | half);
		edges.push(one | (1 << drop) | half);
		edges.push(sign | one | (1 << drop) | half);
	}
	edges
}

fn le_elements(values: &[u64], size: usize) -> Vec<u8> {
	values.iter().flat_map(|v| v.to_le_bytes().into_iter().take(size)).collect()
}

fn encoding_vectors() -> Vec<Value> {
	let mut stream = Stream(0x0bad_5eed);
	let mut sets = Vec::new();
	// One tensor of each dtype: edge values (floats) or extremes (integers), then random bits.
	for dtype in DType::ALL {
		let size = dtype.size();
		let width = (size * 8) as u32;
		let mut values: Vec<u64> = if dtype.is_float() {
			float_edges(width, dtype.mantissa_bits())
		} else if dtype == DType::Bool {
			vec![0, 1, 1, 0]
		} else {
			let top = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
			vec![0, 1, top, top >> 1, (top >> 1) + 1]
		};
		if dtype != DType::Bool {
			values.extend((0..11).map(|_| stream.next()));
		}
		let count = values.len() as u64;
		let data = le_elements(&values, size);
		sets.push((format!("{}-vector", dtype.name()), vec![tensor("x", dtype, &[count], data)]));
	}
	let f32s = |values: &[f32]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
	sets.push(("scalar".into(), vec![tensor("s", DType::F64, &[], 2.5f64.to_le_bytes().to_vec())]));
	sets.push(("empty-dimension".into(), vec![tensor("e", DType::I32, &[3, 0, 2], Vec::new())]));
	sets.push((
		"matrix".into(),
		vec![tensor("m", DType::F32, &[2, 3], f32s(&[1.0, -2.0, 0.5, 3.25, -0.0, 1e-3]))],
	));
	sets.push((
		"several-sorted-by-name".into(),
		vec![
			tensor("input_ids", DType::I64, &[1, 2], le_elements(&[101, 2023], 8)),
			tensor("attention_mask", DType::Bool, &[1, 2], vec![1, 1]),
			tensor("Z", DType::U8, &[1], vec![7]),
			tensor("a.b:c/d-e", DType::F16, &[2], le_elements(&[0x3c00, 0xc000], 2)),
		],
	));
	let long: Vec<u64> = (0..70).map(|_| stream.next()).collect();
	sets.push((
		"long-name-and-two-byte-lengths".into(),
		vec![tensor(&"n".repeat(MAX_NAME_LEN as usize), DType::U64, &[70], le_elements(&long, 8))],
	));
	sets.into_iter()
		.map(|(name, tensors)| {
			let described: Vec<Value> = tensors
				.iter()
				.map(|t| {
					json!({
						"name": String::from_utf8_lossy(&t.name),
						"dtype": t.dtype.name(),
						"shape": t.shape,
						"data": hex0x(&t.data),
					})
				})
				.collect();
			let set = TensorSet::new(tensors, &Limits::default()).expect("a valid vector");
			let encoded = set.encode();
			assert_eq!(TensorSet::decode_canonical(&encoded, &Limits::default()), Ok(set.clone()));
			json!({
				"name": name,
				"tensors": described,
				"encoded": hex0x(&encoded),
				"hash": hex0x(&set.content_hash()),
			})
		})
		.collect()
}

/// Bytes that are not a canonical tensor set, each with the error the decoder names.
fn rejected_vectors() -> Vec<Value> {
	let good = TensorSet {
		tensors: vec![
			tensor("a", DType::F32, &[2], le_elements(&[0x3f80_0000, 0x4000_0000], 4)),
			tensor("b", DType::Bool, &[1], vec![1]),
		],
	};
	let limits = Limits::default();
	let with = |edit: &dyn Fn(&mut TensorSet)| {
		let mut set = good.clone();
		edit(&mut set);
		set.encode()
	};
	let mut trailing = good.encode();
	trailing.push(0);
	let mut truncated = good.encode();
	truncated.pop();
	// The count 2 in the two-byte compact mode: SCALE accepts only the shortest form.
	let mut long_compact = vec![0b0000_1001, 0];
	long_compact.extend(&good.encode()[1..]);
	let mut bad_dtype = good.encode();
	// The first tensor's dtype byte follows the count (1 byte), the name's length and name.
	bad_dtype[3] = 12;
	let cases: Vec<(&str, Vec<u8>, Limits, TensorError)> = vec![
		("trailing-byte", trailing, limits, TensorError::Malformed),
		("truncated", truncated, limits, TensorError::Malformed),
		("non-minimal-compact", long_compact, limits, TensorError::Malformed),
		("unknown-dtype", bad_dtype, limits, TensorError::Malformed),
		("empty", TensorSet::default().encode(), limits, TensorError::Empty),
		(
			"too-many-tensors",
			TensorSet {
				tensors: (0..=MAX_TENSORS)
					.map(|i| tensor(&format!("t{i:02}"), DType::U8, &[], vec![0]))
					.collect(),
			}
			.encode(),
			limits,
			TensorError::TooManyTensors,
		),
		("unsorted", with(&|s| s.tensors.reverse()), limits, TensorError::NamesNotSorted),
		(
			"repeated-name",
			with(&|s| s.tensors[1] = s.tensors[0].clone()),
			limits,
			TensorError::NamesNotSorted,
		),
		(
			"space-in-name",
			with(&|s| s.tensors[0].name = b"a b".to_vec()),
			limits,
			TensorError::InvalidName,
		),
		("empty-name", with(&|s| s.tensors[0].name = Vec::new()), limits, TensorError::InvalidName),
		(
			"name-too-long",
			with(&|s| s.tensors[0].name = vec![b'a'; MAX_NAME_LEN as usize + 1]),
			limits,
			TensorError::InvalidName,
		),
		(
			"short-data",
			with(&|s| s.tensors[0].data.truncate(7)),
			limits,
			TensorError::DataLengthMismatch,
		),
		(
			"bool-above-one",
			with(&|s| s.tensors[1].data = vec![2]),
			limits,
			TensorError::InvalidBool,
		),
		(
			"rank-too-high",
			with(&|s| s.tensors[0].shape = vec![1; MAX_RANK as usize + 1]),
			limits,
			TensorError::RankTooHigh,
		),
		(
			"shape-overflow",
			with(&|s| s.tensors[0].shape = vec![u64::MAX, 2]),
			limits,
			TensorError::ShapeOverflow,
		),
		(
			"too-large",
			good.encode(),
			Limits { max_tensors: 16, max_data_bytes: 8 },
			TensorError::TooLarge,
		),
	];
	cases
		.into_iter()
		.map(|(name, bytes, limits, error)| {
			assert_eq!(TensorSet::decode_canonical(&bytes, &limits), Err(error), "{name}");
			json!({
				"name": name,
				"bytes": hex0x(&bytes),
				"limits": {"maxTensors": limits.max_tensors, "maxDataBytes": limits.max_data_bytes},
				"error": format!("{error:?}"),
			})
		})
		.collect()
}

/// `canonicalize_floats` of every float dtype at several kept widths, on edge and random bits.
fn rounding_vectors() -> Vec<Value> {
	let mut stream = Stream(0x5eed_f10a7);
	let mut vectors = Vec::new();
	for dtype in [DType::F16, DType::F32, DType::F64] {
		let size = dtype.size();
		let width = (size * 8) as u32;
		let mantissa = dtype.mantissa_bits();
		let mut values = float_edges(width, mantissa);
		let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
		values.extend((0..40).map(|_| stream.next() & mask));
		let input = le_elements(&values, size);
		for bits in [0u8, 1, 2, 5, 7, 10, 12, 16, 20, 23, 30, 52, 60] {
			let mut set = TensorSet {
				tensors: vec![tensor("y", dtype, &[values.len() as u64], input.clone())],
			};
			set.canonicalize_floats(bits);
			vectors.push(json!({
				"dtype": dtype.name(),
				"bits": bits,
				"input": hex0x(&input),
				"output": hex0x(&set.tensors[0].data),
			}));
		}
	}
	vectors
}

/// Vouchers and fast-path attestations with the bytes their signers sign.
fn channel_vectors() -> Value {
	use crate::channel::{FastAttestation, Voucher};
	let genesis = [7u8; 32];
	let mut voucher = Voucher::<u128>::empty(3);
	let mut vouchers = vec![];
	for (model, price, execution) in
		[(2u64, 5u128, 10u128), (1, 5, 10), (2, 5, 10), (1, 3, 1 << 100)]
	{
		voucher = voucher.next(model, price, execution).expect("room for the call");
		vouchers.push(json!({
			"after": {"model": model, "price": price.to_string(), "execution": execution.to_string()},
			"calls": voucher.calls,
			"total": voucher.total.to_string(),
			"encoded": hex0x(&voucher.encode()),
			"message": hex0x(&voucher.message(&genesis)),
		}));
	}
	let attestation = FastAttestation {
		genesis_hash: genesis,
		channel: 3,
		call: 4,
		block: 77,
		artifact_hash: [1; 32],
		input_hash: [2; 32],
		output_hash: [3; 32],
		worker: [4u8; 32],
	};
	json!({
		"genesis": hex0x(&genesis),
		"channel": 3,
		"vouchers": vouchers,
		"attestation": {
			"channel": attestation.channel,
			"call": attestation.call,
			"block": attestation.block,
			"artifactHash": hex0x(&attestation.artifact_hash),
			"inputHash": hex0x(&attestation.input_hash),
			"outputHash": hex0x(&attestation.output_hash),
			"worker": hex0x(&attestation.worker),
			"message": hex0x(&attestation.message()),
		},
	})
}

#[test]
fn python_client_vectors_are_current() {
	let vectors = json!({
		"about": "Written by modelhub-primitives' test python_client_vectors_are_current (primitives/src/vectors.rs); read by the Python client's tests.",
		"encoding": encoding_vectors(),
		"rejected": rejected_vectors(),
		"rounding": rounding_vectors(),
		"channels": channel_vectors(),
	});
	let text = format!("{}\n", serde_json::to_string_pretty(&vectors).expect("serializable"));
	// `cargo test` sets CARGO_MANIFEST_DIR when it runs the test: the checkout it runs in.
	let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
		.map(std::path::PathBuf::from)
		.unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
	let path = manifest.join("../python/tests/vectors/tensors.json");
	let rewrite = std::env::var_os("MODELHUB_WRITE_VECTORS").is_some_and(|v| v == "1");
	if rewrite || !path.exists() {
		std::fs::create_dir_all(path.parent().expect("a parent")).expect("vector directory");
		std::fs::write(&path, &text).expect("vectors written");
		return;
	}
	let current = std::fs::read_to_string(&path).expect("vectors readable");
	assert!(
		current == text,
		"{} is not what the tensor codec produces now: run MODELHUB_WRITE_VECTORS=1 cargo test -p modelhub-primitives, then the Python tests",
		path.display()
	);
}

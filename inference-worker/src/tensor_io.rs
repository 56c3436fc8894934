//! Tensors in and out of the worker: the JSON form people read and write, NumPy `.npy` files,
//! and the half-precision conversions both need.
//!
//! JSON form: `{"inputs" | "outputs": {NAME: {"dtype": "f32", "shape": [1, 4], "data": [...]}}}`,
//! data flattened in row-major order. Floats that JSON cannot write are the strings `"NaN"`,
//! `"Infinity"` and `"-Infinity"`; `f16` elements are written as the numbers they hold.

use anyhow::{anyhow, bail, Context, Result};
use modelhub_primitives::tensor::{DType, Limits, Tensor, TensorSet};
use serde_json::{json, Map, Value};

/// Limits for sets the worker reads or writes locally: any size a model produces.
pub fn local_limits() -> Limits {
	Limits { max_tensors: modelhub_primitives::tensor::MAX_TENSORS, max_data_bytes: u64::MAX }
}

/// Converts an `f32` to IEEE half precision, rounding to nearest even.
pub fn f32_to_f16(value: f32) -> u16 {
	let bits = value.to_bits();
	let sign = ((bits >> 16) & 0x8000) as u16;
	let exponent = ((bits >> 23) & 0xff) as i32;
	let mantissa = bits & 0x007f_ffff;
	if exponent == 0xff {
		// Infinity, or a quiet NaN.
		return sign | 0x7c00 | if mantissa != 0 { 0x0200 } else { 0 };
	}
	let half_exponent = exponent - 127 + 15;
	if half_exponent >= 0x1f {
		return sign | 0x7c00;
	}
	if half_exponent <= 0 {
		// Subnormal half, or zero.
		if half_exponent < -10 {
			return sign;
		}
		let full = mantissa | 0x0080_0000;
		let shift = (14 - half_exponent) as u32;
		let half = full >> shift;
		let rest = full & ((1 << shift) - 1);
		let halfway = 1 << (shift - 1);
		let round_up = rest > halfway || (rest == halfway && half & 1 == 1);
		return sign | (half + u32::from(round_up)) as u16;
	}
	let half = ((half_exponent as u32) << 10) | (mantissa >> 13);
	let rest = mantissa & 0x1fff;
	let round_up = rest > 0x1000 || (rest == 0x1000 && half & 1 == 1);
	// A carry out of the mantissa correctly bumps the exponent (up to infinity).
	sign | (half + u32::from(round_up)) as u16
}

/// Converts IEEE half precision to `f32` (exactly).
pub fn f16_to_f32(half: u16) -> f32 {
	let sign = u32::from(half & 0x8000) << 16;
	let exponent = u32::from((half >> 10) & 0x1f);
	let mantissa = u32::from(half & 0x03ff);
	let bits = match (exponent, mantissa) {
		(0, 0) => sign,
		(0, _) => {
			// Subnormal: normalise.
			let mut e = 127 - 15 + 1;
			let mut m = mantissa;
			while m & 0x0400 == 0 {
				m <<= 1;
				e -= 1;
			}
			sign | (e << 23) | ((m & 0x03ff) << 13)
		},
		(0x1f, 0) => sign | 0x7f80_0000,
		(0x1f, _) => sign | 0x7fc0_0000 | (mantissa << 13),
		_ => sign | ((exponent + 127 - 15) << 23) | (mantissa << 13),
	};
	f32::from_bits(bits)
}

fn float_json(value: f64) -> Value {
	if value.is_nan() {
		json!("NaN")
	} else if value.is_infinite() {
		json!(if value > 0.0 { "Infinity" } else { "-Infinity" })
	} else {
		json!(value)
	}
}

fn json_float(value: &Value) -> Result<f64> {
	match value {
		Value::Number(number) => number.as_f64().ok_or_else(|| anyhow!("{number} is not a float")),
		Value::String(text) => match text.as_str() {
			"NaN" => Ok(f64::NAN),
			"Infinity" => Ok(f64::INFINITY),
			"-Infinity" => Ok(f64::NEG_INFINITY),
			other => bail!("{other:?} is not a number"),
		},
		other => bail!("{other} is not a number"),
	}
}

fn json_int(value: &Value) -> Result<i128> {
	match value {
		Value::Number(number) => number
			.as_i64()
			.map(i128::from)
			.or_else(|| number.as_u64().map(i128::from))
			.ok_or_else(|| anyhow!("{number} is not an integer")),
		Value::Bool(flag) => Ok(i128::from(*flag)),
		other => bail!("{other} is not an integer"),
	}
}

/// Encodes one element of `dtype` from its JSON value.
fn encode_element(dtype: DType, value: &Value, out: &mut Vec<u8>) -> Result<()> {
	fn int<T: TryFrom<i128>>(value: &Value, dtype: DType) -> Result<T> {
		let wide = json_int(value)?;
		T::try_from(wide).map_err(|_| anyhow!("{wide} does not fit {}", dtype.name()))
	}
	match dtype {
		DType::F32 => out.extend((json_float(value)? as f32).to_le_bytes()),
		DType::F64 => out.extend(json_float(value)?.to_le_bytes()),
		DType::F16 => out.extend(f32_to_f16(json_float(value)? as f32).to_le_bytes()),
		DType::I8 => out.extend(int::<i8>(value, dtype)?.to_le_bytes()),
		DType::I16 => out.extend(int::<i16>(value, dtype)?.to_le_bytes()),
		DType::I32 => out.extend(int::<i32>(value, dtype)?.to_le_bytes()),
		DType::I64 => out.extend(int::<i64>(value, dtype)?.to_le_bytes()),
		DType::U8 => out.extend(int::<u8>(value, dtype)?.to_le_bytes()),
		DType::U16 => out.extend(int::<u16>(value, dtype)?.to_le_bytes()),
		DType::U32 => out.extend(int::<u32>(value, dtype)?.to_le_bytes()),
		DType::U64 => out.extend(int::<u64>(value, dtype)?.to_le_bytes()),
		DType::Bool => match value {
			Value::Bool(flag) => out.push(u8::from(*flag)),
			other => match json_int(other)? {
				0 => out.push(0),
				1 => out.push(1),
				n => bail!("{n} is not a boolean"),
			},
		},
	}
	Ok(())
}

/// The JSON value of each element of `tensor`.
fn decode_elements(tensor: &Tensor) -> Vec<Value> {
	let size = tensor.dtype.size();
	tensor
		.data
		.chunks_exact(size)
		.map(|chunk| {
			let mut bytes = [0u8; 8];
			bytes[..size].copy_from_slice(chunk);
			let word = u64::from_le_bytes(bytes);
			match tensor.dtype {
				DType::F32 => float_json(f64::from(f32::from_bits(word as u32))),
				DType::F64 => float_json(f64::from_bits(word)),
				DType::F16 => float_json(f64::from(f16_to_f32(word as u16))),
				DType::I8 => json!(word as u8 as i8),
				DType::I16 => json!(word as u16 as i16),
				DType::I32 => json!(word as u32 as i32),
				DType::I64 => json!(word as i64),
				DType::U8 | DType::U16 | DType::U32 | DType::U64 => json!(word),
				DType::Bool => json!(word != 0),
			}
		})
		.collect()
}

/// Reads a tensor set from the JSON object under `key` (`"inputs"` or `"outputs"`).
pub fn set_from_json(document: &Value, key: &str) -> Result<TensorSet> {
	let tensors = document
		.get(key)
		.and_then(Value::as_object)
		.ok_or_else(|| anyhow!("expected an object {{\"{key}\": {{NAME: tensor}}}}"))?;
	let mut parsed = Vec::new();
	for (name, tensor) in tensors {
		let context = || format!("tensor {name:?}");
		let dtype_name = tensor.get("dtype").and_then(Value::as_str).with_context(context)?;
		let dtype = DType::from_name(dtype_name)
			.ok_or_else(|| anyhow!("unknown dtype {dtype_name:?}"))
			.with_context(context)?;
		let shape: Vec<u64> = tensor
			.get("shape")
			.and_then(Value::as_array)
			.ok_or_else(|| anyhow!("missing \"shape\""))
			.with_context(context)?
			.iter()
			.map(|dim| dim.as_u64().ok_or_else(|| anyhow!("dimension {dim} is not a count")))
			.collect::<Result<_>>()
			.with_context(context)?;
		let values = match tensor.get("data") {
			Some(Value::Array(values)) => values.clone(),
			Some(scalar) => vec![scalar.clone()],
			None => bail!("{}: missing \"data\"", context()),
		};
		let mut data = Vec::with_capacity(values.len() * dtype.size());
		for value in &values {
			encode_element(dtype, value, &mut data).with_context(context)?;
		}
		parsed.push(Tensor { name: name.as_bytes().to_vec(), dtype, shape, data });
	}
	TensorSet::new(parsed, &local_limits())
		.map_err(|error| anyhow!("invalid tensor set: {error:?}"))
}

/// Writes a tensor set as the JSON object under `key`.
pub fn set_to_json(set: &TensorSet, key: &str) -> Value {
	let mut tensors = Map::new();
	for tensor in &set.tensors {
		tensors.insert(
			String::from_utf8_lossy(&tensor.name).into_owned(),
			json!({
				"dtype": tensor.dtype.name(),
				"shape": tensor.shape,
				"data": decode_elements(tensor),
			}),
		);
	}
	let mut document = Map::new();
	document.insert(key.to_string(), Value::Object(tensors));
	Value::Object(document)
}

/// The NumPy `descr` of `dtype` (little-endian).
fn npy_descr(dtype: DType) -> &'static str {
	match dtype {
		DType::F16 => "<f2",
		DType::F32 => "<f4",
		DType::F64 => "<f8",
		DType::I8 => "|i1",
		DType::I16 => "<i2",
		DType::I32 => "<i4",
		DType::I64 => "<i8",
		DType::U8 => "|u1",
		DType::U16 => "<u2",
		DType::U32 => "<u4",
		DType::U64 => "<u8",
		DType::Bool => "|b1",
	}
}

/// Reads a C-ordered, little-endian `.npy` file (format 1.0 to 3.0) as a tensor named `name`.
pub fn tensor_from_npy(name: &str, bytes: &[u8]) -> Result<Tensor> {
	const MAGIC: &[u8] = b"\x93NUMPY";
	if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
		bail!("not a .npy file");
	}
	let (header_len, start) = match bytes[6] {
		1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
		2 | 3 if bytes.len() >= 12 => {
			(u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
		},
		major => bail!("unsupported .npy format version {major}"),
	};
	let header =
		bytes.get(start..start + header_len).ok_or_else(|| anyhow!("truncated .npy header"))?;
	let header = std::str::from_utf8(header).context(".npy header is not text")?;
	let field = |key: &str| -> Result<&str> {
		let at = header.find(&format!("'{key}'")).ok_or_else(|| anyhow!("no {key:?} in header"))?;
		let rest = &header[at + key.len() + 2..];
		let colon = rest.find(':').ok_or_else(|| anyhow!("malformed header"))?;
		Ok(rest[colon + 1..].trim_start())
	};
	let descr = field("descr")?;
	let descr = descr.split('\'').nth(1).ok_or_else(|| anyhow!("malformed descr"))?;
	let dtype = DType::ALL
		.into_iter()
		.find(|dtype| {
			let known = npy_descr(*dtype);
			known == descr
				|| (known.starts_with('<') && descr.starts_with('=') && known[1..] == descr[1..])
		})
		.ok_or_else(|| {
			anyhow!("unsupported .npy dtype {descr:?} (little-endian numbers and bools only)")
		})?;
	if field("fortran_order")?.starts_with("True") {
		bail!("Fortran-ordered arrays are not supported; save np.ascontiguousarray(a)");
	}
	let shape_text = field("shape")?;
	let close = shape_text.find(')').ok_or_else(|| anyhow!("malformed shape"))?;
	let shape: Vec<u64> = shape_text[1..close]
		.split(',')
		.map(str::trim)
		.filter(|dim| !dim.is_empty())
		.map(|dim| dim.parse::<u64>().with_context(|| format!("dimension {dim:?}")))
		.collect::<Result<_>>()?;
	let data = bytes[start + header_len..].to_vec();
	let tensor = Tensor { name: name.as_bytes().to_vec(), dtype, shape, data };
	tensor.validate().map_err(|error| anyhow!("{name}: {error:?}"))?;
	Ok(tensor)
}

/// Writes `tensor` as a version 1.0 `.npy` file.
pub fn tensor_to_npy(tensor: &Tensor) -> Vec<u8> {
	let descr = npy_descr(tensor.dtype);
	let dims: Vec<String> = tensor.shape.iter().map(u64::to_string).collect();
	let shape = match dims.len() {
		1 => format!("({},)", dims[0]),
		_ => format!("({})", dims.join(", ")),
	};
	let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
	// Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
	let unpadded = 10 + header.len() + 1;
	header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
	header.push('\n');
	let mut out = b"\x93NUMPY\x01\x00".to_vec();
	out.extend((header.len() as u16).to_le_bytes());
	out.extend(header.as_bytes());
	out.extend(&tensor.data);
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn half_conversions_round_to_nearest_even_and_keep_specials() {
		for (value, bits) in [
			(0.0f32, 0x0000u16),
			(-0.0, 0x8000),
			(1.0, 0x3c00),
			(-2.0, 0xc000),
			(65504.0, 0x7bff),
			(65520.0, 0x7c00),
			(6.103_515_6e-5, 0x0400),
			(5.960_464_5e-8, 0x0001),
			(2.980_232_2e-8, 0x0000),
			(f32::INFINITY, 0x7c00),
			(f32::NEG_INFINITY, 0xfc00),
		] {
			assert_eq!(f32_to_f16(value), bits, "{value}");
		}
		assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
		// 1 + 2^-11 is halfway between 1 and the next half: ties to even (1).
		assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
		assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
		for bits in 0..=u16::MAX {
			let exponent = (bits >> 10) & 0x1f;
			if exponent == 0x1f && bits & 0x3ff != 0 {
				continue;
			}
			assert_eq!(f32_to_f16(f16_to_f32(bits)), bits, "{bits:#06x}");
		}
	}

	fn every_dtype() -> Value {
		json!({"inputs": {
			"a_f32": {"dtype": "f32", "shape": [2], "data": [1.5, "NaN"]},
			"b_f64": {"dtype": "f64", "shape": [2], "data": ["Infinity", -0.125]},
			"c_f16": {"dtype": "f16", "shape": [1], "data": [0.5]},
			"d_i8": {"dtype": "i8", "shape": [2], "data": [-128, 127]},
			"e_i16": {"dtype": "i16", "shape": [1], "data": [-300]},
			"f_i32": {"dtype": "i32", "shape": [1], "data": [-70000]},
			"g_i64": {"dtype": "i64", "shape": [1], "data": [-9223372036854775808i64]},
			"h_u8": {"dtype": "u8", "shape": [1], "data": [255]},
			"i_u16": {"dtype": "u16", "shape": [1], "data": [65535]},
			"j_u32": {"dtype": "u32", "shape": [1], "data": [4294967295u64]},
			"k_u64": {"dtype": "u64", "shape": [1], "data": [18446744073709551615u64]},
			"l_bool": {"dtype": "bool", "shape": [3], "data": [true, false, 1]},
			"m_scalar": {"dtype": "f32", "shape": [], "data": 2.0}
		}})
	}

	#[test]
	fn json_round_trips_every_dtype() {
		let set = set_from_json(&every_dtype(), "inputs").expect("parses");
		assert_eq!(set.tensors.len(), 13);
		let again = set_from_json(&set_to_json(&set, "inputs"), "inputs").expect("re-parses");
		assert_eq!(again, set);
		let written = set_to_json(&set, "outputs");
		assert_eq!(written["outputs"]["a_f32"]["data"][1], json!("NaN"));
		assert_eq!(written["outputs"]["l_bool"]["data"], json!([true, false, true]));
		assert_eq!(written["outputs"]["k_u64"]["data"][0], json!(u64::MAX));
	}

	#[test]
	fn json_errors_name_the_tensor() {
		let bad = |tensor: Value| {
			let document = json!({"inputs": {"x": tensor}});
			format!("{:#}", set_from_json(&document, "inputs").expect_err("rejected"))
		};
		assert!(bad(json!({"dtype": "f33", "shape": [1], "data": [1]})).contains("unknown dtype"));
		assert!(bad(json!({"dtype": "u8", "shape": [1], "data": [256]})).contains("does not fit"));
		assert!(bad(json!({"dtype": "i32", "shape": [1], "data": [1.5]})).contains("\"x\""));
		assert!(bad(json!({"dtype": "bool", "shape": [1], "data": [2]})).contains("boolean"));
		assert!(bad(json!({"dtype": "f32", "shape": [2], "data": [1.0]})).contains("invalid"));
		assert!(bad(json!({"dtype": "f32", "data": [1.0]})).contains("shape"));
		assert!(set_from_json(&json!({"outputs": {}}), "inputs").is_err());
	}

	#[test]
	fn npy_round_trips_and_rejects_what_it_cannot_read() {
		let set = set_from_json(&every_dtype(), "inputs").expect("parses");
		for tensor in &set.tensors {
			let bytes = tensor_to_npy(tensor);
			assert_eq!((bytes.len() - tensor.data.len()) % 64, 0, "header padded to 64");
			let back = tensor_from_npy(std::str::from_utf8(&tensor.name).expect("ascii"), &bytes)
				.expect("reads back");
			assert_eq!(&back, tensor);
		}
		// What NumPy 1.x writes for np.zeros((2, 3), np.float32).
		let mut numpy = b"\x93NUMPY\x01\x00v\x00".to_vec();
		let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
		numpy.extend(header.as_bytes());
		numpy.extend(std::iter::repeat_n(b' ', 117 - header.len()));
		numpy.push(b'\n');
		numpy.extend([0u8; 24]);
		let tensor = tensor_from_npy("x", &numpy).expect("reads NumPy's file");
		assert_eq!((tensor.dtype, tensor.shape.clone()), (DType::F32, vec![2, 3]));

		let edited = |from: &str, to: &str| {
			let at = numpy.windows(from.len()).position(|w| w == from.as_bytes()).expect("found");
			let mut copy = numpy.clone();
			copy[at..at + to.len()].copy_from_slice(to.as_bytes());
			copy
		};
		let error =
			|bytes: &[u8]| format!("{:#}", tensor_from_npy("x", bytes).expect_err("rejected"));
		assert!(error(b"not numpy").contains("not a .npy"));
		assert!(error(&edited("False", "True ")).contains("Fortran"));
		assert!(error(&edited("<f4", ">f4")).contains("unsupported .npy dtype"));
		assert!(error(&numpy[..numpy.len() - 4]).contains("DataLengthMismatch"));
	}
}

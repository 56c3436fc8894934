//! The tensor protocol: how inference inputs and outputs travel between developers, the chain
//! and workers.
//!
//! A [`TensorSet`] is a list of named tensors, each with a [`DType`], a shape and its elements
//! as little-endian bytes, encoded with SCALE. The encoding is *canonical*: tensors are sorted
//! by name (so names are unique), every length matches its shape, booleans are `0` or `1`, and
//! nothing trails the set. [`TensorSet::decode_canonical`] accepts exactly the canonical
//! encodings within [`Limits`], so one set of tensors has one encoding and one
//! [`content hash`](TensorSet::content_hash).
//!
//! Floating-point outputs differ in their last bits between CPUs and kernels; before hashing,
//! [`TensorSet::canonicalize_floats`] rounds every float to a model-declared number of
//! significant mantissa bits, makes `-0` into `+0` and every NaN into one quiet NaN.
//! `docs/protocol.md` documents the format with test vectors that a test checks.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// The largest number of dimensions a tensor may have.
pub const MAX_RANK: u32 = 8;
/// The longest tensor name, in bytes.
pub const MAX_NAME_LEN: u32 = 64;
/// The most tensors one set may hold.
pub const MAX_TENSORS: u32 = 16;

/// The element type of a tensor. The SCALE index of each variant is part of the protocol.
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
	PartialOrd,
	Ord,
	Debug,
)]
pub enum DType {
	/// IEEE 754 binary32.
	F32 = 0,
	/// IEEE 754 binary64.
	F64 = 1,
	/// IEEE 754 binary16.
	F16 = 2,
	/// Signed 8-bit integer.
	I8 = 3,
	/// Signed 16-bit integer.
	I16 = 4,
	/// Signed 32-bit integer.
	I32 = 5,
	/// Signed 64-bit integer.
	I64 = 6,
	/// Unsigned 8-bit integer.
	U8 = 7,
	/// Unsigned 16-bit integer.
	U16 = 8,
	/// Unsigned 32-bit integer.
	U32 = 9,
	/// Unsigned 64-bit integer.
	U64 = 10,
	/// Boolean, one byte: `0` or `1`.
	Bool = 11,
}

impl DType {
	/// Every dtype, in index order.
	pub const ALL: [DType; 12] = [
		DType::F32,
		DType::F64,
		DType::F16,
		DType::I8,
		DType::I16,
		DType::I32,
		DType::I64,
		DType::U8,
		DType::U16,
		DType::U32,
		DType::U64,
		DType::Bool,
	];

	/// Bytes per element.
	pub const fn size(self) -> usize {
		match self {
			DType::I8 | DType::U8 | DType::Bool => 1,
			DType::F16 | DType::I16 | DType::U16 => 2,
			DType::F32 | DType::I32 | DType::U32 => 4,
			DType::F64 | DType::I64 | DType::U64 => 8,
		}
	}

	/// Whether elements are floating point.
	pub const fn is_float(self) -> bool {
		matches!(self, DType::F16 | DType::F32 | DType::F64)
	}

	/// Explicit mantissa bits of a floating dtype (0 for integers).
	pub const fn mantissa_bits(self) -> u32 {
		match self {
			DType::F16 => 10,
			DType::F32 => 23,
			DType::F64 => 52,
			_ => 0,
		}
	}

	/// The dtype named `name` (`"f32"`, `"bool"`, …).
	pub fn from_name(name: &str) -> Option<Self> {
		Self::ALL.into_iter().find(|dtype| dtype.name() == name)
	}

	/// The lowercase name used in JSON and ONNX tooling (`"f32"`, `"bool"`, …).
	pub const fn name(self) -> &'static str {
		match self {
			DType::F32 => "f32",
			DType::F64 => "f64",
			DType::F16 => "f16",
			DType::I8 => "i8",
			DType::I16 => "i16",
			DType::I32 => "i32",
			DType::I64 => "i64",
			DType::U8 => "u8",
			DType::U16 => "u16",
			DType::U32 => "u32",
			DType::U64 => "u64",
			DType::Bool => "bool",
		}
	}
}

/// One named tensor.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Tensor {
	/// The tensor's name: 1 to [`MAX_NAME_LEN`] bytes of ASCII letters, digits and `_ . : / -`.
	pub name: Vec<u8>,
	/// Element type.
	pub dtype: DType,
	/// Dimensions, at most [`MAX_RANK`]; an empty shape is a scalar (one element).
	pub shape: Vec<u64>,
	/// Elements in row-major order, little-endian, `dtype.size()` bytes each.
	pub data: Vec<u8>,
}

/// A canonical set of named tensors, sorted by name.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct TensorSet {
	/// The tensors, strictly ascending by name.
	pub tensors: Vec<Tensor>,
}

/// Bounds a decoder enforces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Limits {
	/// Most tensors in a set.
	pub max_tensors: u32,
	/// Most element bytes across the whole set.
	pub max_data_bytes: u64,
}

impl Default for Limits {
	fn default() -> Self {
		Self { max_tensors: MAX_TENSORS, max_data_bytes: 1 << 20 }
	}
}

/// Why bytes are not a canonical tensor set.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum TensorError {
	/// The bytes are not a SCALE-encoded tensor set, or bytes trail it.
	Malformed,
	/// The set is empty.
	Empty,
	/// More tensors than the limit.
	TooManyTensors,
	/// A name is empty, too long or has a character outside the allowed set.
	InvalidName,
	/// Names are not strictly ascending (unsorted or repeated).
	NamesNotSorted,
	/// A shape has more than [`MAX_RANK`] dimensions.
	RankTooHigh,
	/// The element count overflows.
	ShapeOverflow,
	/// The data length is not the element count times the dtype size.
	DataLengthMismatch,
	/// A boolean byte is neither `0` nor `1`.
	InvalidBool,
	/// The element bytes exceed the limit.
	TooLarge,
}

/// Whether `name` is a valid tensor name.
pub fn is_valid_name(name: &[u8]) -> bool {
	!name.is_empty()
		&& name.len() <= MAX_NAME_LEN as usize
		&& name.iter().all(|c| c.is_ascii_alphanumeric() || b"_.:/-".contains(c))
}

impl Tensor {
	/// Number of elements the shape describes, if it does not overflow.
	pub fn element_count(&self) -> Option<u64> {
		self.shape.iter().try_fold(1u64, |count, dim| count.checked_mul(*dim))
	}

	/// Checks this tensor on its own: name, rank, data length, booleans.
	pub fn validate(&self) -> Result<(), TensorError> {
		if !is_valid_name(&self.name) {
			return Err(TensorError::InvalidName);
		}
		if self.shape.len() > MAX_RANK as usize {
			return Err(TensorError::RankTooHigh);
		}
		let expected = self
			.element_count()
			.and_then(|count| count.checked_mul(self.dtype.size() as u64))
			.ok_or(TensorError::ShapeOverflow)?;
		if expected != self.data.len() as u64 {
			return Err(TensorError::DataLengthMismatch);
		}
		if self.dtype == DType::Bool && self.data.iter().any(|b| *b > 1) {
			return Err(TensorError::InvalidBool);
		}
		Ok(())
	}
}

impl TensorSet {
	/// Builds a set from tensors in any order, sorting them by name, and checks it.
	pub fn new(mut tensors: Vec<Tensor>, limits: &Limits) -> Result<Self, TensorError> {
		tensors.sort_by(|a, b| a.name.cmp(&b.name));
		let set = Self { tensors };
		set.validate(limits)?;
		Ok(set)
	}

	/// Decodes `bytes`, accepting only a canonical encoding within `limits`.
	pub fn decode_canonical(bytes: &[u8], limits: &Limits) -> Result<Self, TensorError> {
		let mut input = bytes;
		// Tensor count and sizes are checked after decoding; the caller bounds `bytes`, so the
		// decoder never allocates more than `bytes.len()` for the elements.
		let set = Self::decode(&mut input).map_err(|_| TensorError::Malformed)?;
		if !input.is_empty() {
			return Err(TensorError::Malformed);
		}
		set.validate(limits)?;
		Ok(set)
	}

	/// Checks the set: size limits, every tensor, names strictly ascending.
	pub fn validate(&self, limits: &Limits) -> Result<(), TensorError> {
		if self.tensors.is_empty() {
			return Err(TensorError::Empty);
		}
		if self.tensors.len() > limits.max_tensors as usize {
			return Err(TensorError::TooManyTensors);
		}
		let mut total: u64 = 0;
		for tensor in &self.tensors {
			tensor.validate()?;
			total = total.saturating_add(tensor.data.len() as u64);
		}
		if total > limits.max_data_bytes {
			return Err(TensorError::TooLarge);
		}
		if self.tensors.windows(2).any(|pair| match pair {
			[a, b] => a.name >= b.name,
			_ => false,
		}) {
			return Err(TensorError::NamesNotSorted);
		}
		Ok(())
	}

	/// The tensor named `name`.
	pub fn get(&self, name: &[u8]) -> Option<&Tensor> {
		self.tensors.iter().find(|t| t.name == name)
	}

	/// blake2-256 of the canonical SCALE encoding.
	pub fn content_hash(&self) -> [u8; 32] {
		sp_crypto_hashing::blake2_256(&self.encode())
	}

	/// Rounds every floating element to `bits` significant mantissa bits (round half to
	/// even), turns `-0` into `+0` and every NaN into the canonical quiet NaN. Integers and
	/// booleans are unchanged.
	pub fn canonicalize_floats(&mut self, bits: u8) {
		for tensor in &mut self.tensors {
			canonicalize_float_bytes(tensor.dtype, &mut tensor.data, u32::from(bits));
		}
	}
}

/// The `bits` lowest bits set (all 64 from 64 on).
pub(crate) fn low_mask(bits: u32) -> u64 {
	u64::MAX.checked_shr(64u32.saturating_sub(bits)).unwrap_or(0)
}

/// The bit pattern of one little-endian element of up to 8 bytes.
pub(crate) fn le_bits(element: &[u8]) -> u64 {
	let mut bytes = [0u8; 8];
	bytes.iter_mut().zip(element).for_each(|(byte, value)| *byte = *value);
	u64::from_le_bytes(bytes)
}

/// Rounds a float's bit pattern (`width` bits, `mantissa` explicit mantissa bits) to `keep`
/// mantissa bits, round half to even; `-0` becomes `+0` and NaN the canonical quiet NaN.
fn round_bits(value: u64, width: u32, mantissa: u32, keep: u32) -> u64 {
	let exponent_bits = width.saturating_sub(mantissa).saturating_sub(1);
	let sign = low_mask(width) & !low_mask(width.saturating_sub(1));
	let exponent_mask = low_mask(mantissa.saturating_add(exponent_bits)) & !low_mask(mantissa);
	let mantissa_mask = low_mask(mantissa);
	let magnitude = value & !sign;
	if magnitude & exponent_mask == exponent_mask {
		if magnitude & mantissa_mask != 0 {
			// NaN: positive, quiet (the top mantissa bit), no payload.
			return exponent_mask | (mantissa_mask & !low_mask(mantissa.saturating_sub(1)));
		}
		return value; // ±infinity
	}
	if magnitude == 0 {
		return 0; // -0 becomes +0
	}
	if keep >= mantissa {
		return value;
	}
	let drop = mantissa.saturating_sub(keep);
	let below = low_mask(drop);
	let unit = below.saturating_add(1);
	let half = unit >> 1;
	let remainder = magnitude & below;
	let truncated = magnitude & !below;
	// Ties go to the even kept significand. With no mantissa bits kept, the only kept bit is
	// the implicit leading one, which is odd, so ties round up.
	let kept_is_odd = keep == 0 || truncated & unit != 0;
	let round_up = remainder > half || (remainder == half && kept_is_odd);
	// A carry out of the mantissa moves into the exponent: that is the correctly rounded
	// value (and rounds the largest finite values to infinity). The magnitude is below the
	// sign bit, so the sum stays below 2^width.
	let rounded = if round_up { truncated.saturating_add(unit) } else { truncated };
	if rounded == 0 {
		0
	} else {
		(value & sign) | rounded
	}
}

/// Canonicalises the little-endian elements of a floating tensor in place.
fn canonicalize_float_bytes(dtype: DType, data: &mut [u8], keep: u32) {
	if !dtype.is_float() {
		return;
	}
	let size = dtype.size();
	let width = (size as u32).saturating_mul(8);
	for chunk in data.chunks_exact_mut(size) {
		let rounded = round_bits(le_bits(chunk), width, dtype.mantissa_bits(), keep).to_le_bytes();
		chunk.iter_mut().zip(rounded).for_each(|(byte, value)| *byte = value);
	}
}

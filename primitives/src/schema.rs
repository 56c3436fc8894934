//! The input/output schema of a model, and the check "does this tensor set fit this schema".

use crate::tensor::{is_valid_name, DType, TensorSet, MAX_NAME_LEN, MAX_RANK, MAX_TENSORS};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::{bounded::BoundedVec, ConstU32};

/// One dimension of a declared shape.
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
pub enum Dim {
	/// The dimension must have exactly this size.
	Fixed(u64),
	/// Any size (a batch dimension, a sequence length).
	Dynamic,
}

/// A tensor's name as stored on chain.
pub type TensorName = BoundedVec<u8, ConstU32<MAX_NAME_LEN>>;

/// The declared name, dtype and shape of one input or output.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct TensorSpec {
	/// The tensor's name in the ONNX graph.
	pub name: TensorName,
	/// Element type.
	pub dtype: DType,
	/// Declared shape: its rank is exact, each dimension fixed or dynamic.
	pub shape: BoundedVec<Dim, ConstU32<MAX_RANK>>,
}

impl TensorSpec {
	/// A spec with `name`, `dtype` and `shape`; `None` if the name or rank exceeds its bound.
	pub fn new(name: &[u8], dtype: DType, shape: &[Dim]) -> Option<Self> {
		Some(Self {
			name: name.to_vec().try_into().ok()?,
			dtype,
			shape: shape.to_vec().try_into().ok()?,
		})
	}
}

/// The inputs a model takes and the outputs it gives.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct IoSchema {
	/// Declared inputs.
	pub inputs: BoundedVec<TensorSpec, ConstU32<MAX_TENSORS>>,
	/// Declared outputs.
	pub outputs: BoundedVec<TensorSpec, ConstU32<MAX_TENSORS>>,
}

/// Why a schema is invalid, or why a tensor set does not fit one.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub enum SchemaError {
	/// The schema declares no inputs or no outputs.
	NoTensors,
	/// A declared name is empty, too long or has a character outside the allowed set.
	InvalidName,
	/// Two inputs, or two outputs, share a name.
	DuplicateName,
	/// A declared tensor is missing from the set.
	MissingTensor,
	/// The set has a tensor the schema does not declare.
	UnexpectedTensor,
	/// A tensor's dtype differs from the declared one.
	DTypeMismatch,
	/// A tensor's rank differs from the declared one.
	RankMismatch,
	/// A fixed dimension has another size.
	DimMismatch,
}

fn validate_specs(specs: &[TensorSpec]) -> Result<(), SchemaError> {
	if specs.is_empty() {
		return Err(SchemaError::NoTensors);
	}
	for (i, spec) in specs.iter().enumerate() {
		if !is_valid_name(&spec.name) {
			return Err(SchemaError::InvalidName);
		}
		if specs.iter().skip(i.saturating_add(1)).any(|other| other.name == spec.name) {
			return Err(SchemaError::DuplicateName);
		}
	}
	Ok(())
}

fn check_fit(specs: &[TensorSpec], set: &TensorSet) -> Result<(), SchemaError> {
	for tensor in &set.tensors {
		let spec = specs
			.iter()
			.find(|spec| spec.name.as_slice() == tensor.name.as_slice())
			.ok_or(SchemaError::UnexpectedTensor)?;
		if spec.dtype != tensor.dtype {
			return Err(SchemaError::DTypeMismatch);
		}
		if spec.shape.len() != tensor.shape.len() {
			return Err(SchemaError::RankMismatch);
		}
		let dims_fit =
			spec.shape.iter().zip(tensor.shape.iter()).all(|(declared, actual)| match declared {
				Dim::Fixed(size) => size == actual,
				Dim::Dynamic => true,
			});
		if !dims_fit {
			return Err(SchemaError::DimMismatch);
		}
	}
	if specs.iter().any(|spec| set.get(&spec.name).is_none()) {
		return Err(SchemaError::MissingTensor);
	}
	Ok(())
}

impl IoSchema {
	/// Checks the schema itself: at least one input and output, valid and unique names.
	pub fn validate(&self) -> Result<(), SchemaError> {
		validate_specs(&self.inputs)?;
		validate_specs(&self.outputs)
	}

	/// Whether `set` holds exactly the declared inputs with fitting dtypes and shapes.
	pub fn check_inputs(&self, set: &TensorSet) -> Result<(), SchemaError> {
		check_fit(&self.inputs, set)
	}

	/// Whether `set` holds exactly the declared outputs with fitting dtypes and shapes.
	pub fn check_outputs(&self, set: &TensorSet) -> Result<(), SchemaError> {
		check_fit(&self.outputs, set)
	}
}

//! Publishing a model in one call, for other pallets' tests and benchmarks.

use crate::{pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use modelhub_primitives::{agreement::Agreement, registry::ModelId, schema::IoSchema};
use sp_runtime::Permill;

/// The artifact every model published here points at.
pub fn test_artifact<T: Config>() -> ArtifactOf<T> {
	Artifact {
		hash: [0x5a; 32],
		size: 1_024,
		uri: BoundedVec::truncate_from(b"file:///models/test.onnx".to_vec()),
		opset: 17,
	}
}

/// Publishes a model owned by `owner` (who pays the deposits) with the given terms.
pub fn publish<T: Config>(
	owner: T::AccountId,
	price: BalanceOf<T>,
	royalties: Vec<(T::AccountId, Permill)>,
	parent: Option<ParentLink>,
	schema: IoSchema,
	output_rounding_bits: u8,
) -> Result<ModelId, DispatchError> {
	Pallet::<T>::do_publish_model(
		owner,
		BoundedVec::truncate_from(b"test".to_vec()),
		BoundedVec::new(),
		test_artifact::<T>(),
		schema,
		output_rounding_bits,
		Agreement::DEFAULT,
		price,
		BoundedVec::try_from(royalties)
			.map_err(|_| DispatchError::Other("more beneficiaries than the bound"))?,
		parent,
	)
}

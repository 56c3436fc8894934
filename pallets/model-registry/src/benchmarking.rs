//! Benchmarks of every registry call, each at its worst case.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, EnsureOrigin, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use modelhub_primitives::agreement::Agreement;
use modelhub_primitives::{
	registry::ModelId,
	schema::{Dim, IoSchema, TensorSpec},
	tensor::{DType, MAX_NAME_LEN, MAX_RANK, MAX_TENSORS},
};
use sp_runtime::{
	traits::{Bounded, Saturating, StaticLookup},
	Permill,
};

/// An account funded with plenty for every deposit.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

/// The largest schema: the most tensors, the longest names, the highest rank.
fn largest_schema() -> IoSchema {
	let spec = |i: u32| TensorSpec {
		name: {
			let mut name = alloc::format!("t{i}").into_bytes();
			name.resize(MAX_NAME_LEN as usize, b'x');
			name.try_into().expect("name of MAX_NAME_LEN bytes")
		},
		dtype: DType::F32,
		shape: (0..MAX_RANK)
			.map(|d| if d == 0 { Dim::Dynamic } else { Dim::Fixed(8) })
			.collect::<Vec<_>>()
			.try_into()
			.expect("MAX_RANK dims"),
	};
	let specs: Vec<TensorSpec> = (0..MAX_TENSORS).map(spec).collect();
	IoSchema {
		inputs: specs.clone().try_into().expect("MAX_TENSORS"),
		outputs: specs.try_into().expect("MAX_TENSORS"),
	}
}

/// The largest artifact: the longest URI.
fn largest_artifact<T: Config>() -> ArtifactOf<T> {
	let mut uri = b"https://".to_vec();
	uri.resize(T::MaxUriLen::get() as usize, b'm');
	Artifact { hash: [1; 32], size: 1, uri: uri.try_into().expect("MaxUriLen"), opset: 17 }
}

fn filled<S: Get<u32>>() -> BoundedVec<u8, S> {
	alloc::vec![b'n'; S::get() as usize].try_into().expect("fits its bound")
}

/// A split of `count` beneficiaries whose shares sum to 100%.
fn split<T: Config>(count: u32) -> RoyaltySplitOf<T> {
	let count = count.max(1);
	let base = 1_000_000 / count;
	(0..count)
		.map(|i| {
			let parts = if i == 0 { 1_000_000 - base * (count - 1) } else { base };
			(account::<T::AccountId>("beneficiary", i, 0), Permill::from_parts(parts))
		})
		.collect::<Vec<_>>()
		.try_into()
		.expect("at most MaxBeneficiaries")
}

/// Publishes a model of `owner` with the largest inputs; returns its id.
fn publish<T: Config>(owner: &T::AccountId, parent: Option<ParentLink>) -> ModelId {
	Pallet::<T>::do_publish_model(
		owner.clone(),
		filled::<T::MaxNameLen>(),
		filled::<T::MaxDescriptionLen>(),
		largest_artifact::<T>(),
		largest_schema(),
		16,
		Agreement::DEFAULT,
		1u32.into(),
		split::<T>(T::MaxBeneficiaries::get()),
		parent,
	)
	.expect("publishes")
}

/// Publishes versions of `id` until it has `versions`, each with the largest artifact and
/// schema.
fn publish_versions<T: Config>(owner: &T::AccountId, id: ModelId, versions: u32) {
	for _ in 1..versions {
		Pallet::<T>::do_publish_version(
			owner.clone(),
			id,
			largest_artifact::<T>(),
			largest_schema(),
			16,
			Agreement::DEFAULT,
		)
		.expect("publishes a version");
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Worst case: the longest inputs, a parent at the deepest allowed level, `b` beneficiaries.
	#[benchmark]
	fn publish_model(b: Linear<1, { T::MaxBeneficiaries::get() }>) {
		let owner = funded::<T>("owner", 0);
		let mut parent = None;
		for _ in 0..T::MaxLineageDepth::get() {
			let id = publish::<T>(&owner, parent);
			parent = Some(ParentLink { model: id, share: Permill::from_percent(10) });
		}
		let id = NextModelId::<T>::get();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			filled::<T::MaxNameLen>(),
			filled::<T::MaxDescriptionLen>(),
			largest_artifact::<T>(),
			largest_schema(),
			16,
			Some(Agreement::DEFAULT),
			1u32.into(),
			split::<T>(b),
			parent,
		);

		assert!(Models::<T>::contains_key(id));
	}

	#[benchmark]
	fn publish_version() {
		let owner = funded::<T>("owner", 0);
		let id = publish::<T>(&owner, None);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			id,
			largest_artifact::<T>(),
			largest_schema(),
			20,
			Some(Agreement::DEFAULT),
		);

		assert!(Versions::<T>::contains_key(id, 2));
	}

	#[benchmark]
	fn set_price() {
		let owner = funded::<T>("owner", 0);
		let id = publish::<T>(&owner, None);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, 7u32.into());

		assert_eq!(Models::<T>::get(id).map(|m| m.price), Some(7u32.into()));
	}

	#[benchmark]
	fn set_royalties(b: Linear<1, { T::MaxBeneficiaries::get() }>) {
		let owner = funded::<T>("owner", 0);
		let id = publish::<T>(&owner, None);
		let royalties = split::<T>(b);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, royalties.clone());

		assert_eq!(Models::<T>::get(id).map(|m| m.royalties), Some(royalties));
	}

	/// Retiring a model with `v` versions.
	#[benchmark]
	fn set_status(v: Linear<1, { T::MaxVersions::get() }>) {
		let owner = funded::<T>("owner", 0);
		let id = publish::<T>(&owner, None);
		publish_versions::<T>(&owner, id, v);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, ModelStatus::Retired);

		assert_eq!(Models::<T>::get(id).map(|m| m.status), Some(ModelStatus::Retired));
	}

	/// Worst case: removing a retired model with `v` versions releases `v + 1` deposits.
	#[benchmark]
	fn remove_model(v: Linear<1, { T::MaxVersions::get() }>) {
		let owner = funded::<T>("owner", 0);
		let id = publish::<T>(&owner, None);
		publish_versions::<T>(&owner, id, v);
		Pallet::<T>::do_set_status(owner.clone(), id, ModelStatus::Retired).expect("retires");
		let removable =
			frame_system::Pallet::<T>::block_number().saturating_add(T::RemovalDelay::get());
		frame_system::Pallet::<T>::set_block_number(removable);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id);

		assert!(Models::<T>::get(id).is_none());
	}

	/// Worst case: both owners' lists are nearly full.
	#[benchmark]
	fn transfer_ownership() {
		let owner = funded::<T>("owner", 0);
		let receiver = funded::<T>("receiver", 1);
		let id = publish::<T>(&owner, None);
		for _ in 1..T::MaxModelsPerOwner::get() {
			publish::<T>(&owner, None);
			publish::<T>(&receiver, None);
		}
		let lookup = T::Lookup::unlookup(receiver.clone());

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, lookup);

		assert_eq!(Models::<T>::get(id).map(|m| m.owner), Some(receiver));
	}

	#[benchmark]
	fn delist_model() -> Result<(), BenchmarkError> {
		let owner = funded::<T>("owner", 0);
		let id = publish::<T>(&owner, None);
		let origin =
			T::ModerationOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, id);

		assert_eq!(Models::<T>::get(id).map(|m| m.status), Some(ModelStatus::Delisted));
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

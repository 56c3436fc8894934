//! Benchmarks of every verification call, each at its worst case.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_runtime::traits::Saturating;

/// An account funded with a thousand minimum bonds.
fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, T::MinBond::get().saturating_mul(1_000u32.into()));
	who
}

/// The longest meta.
fn meta<T: Config>() -> WorkerMeta<T> {
	let runtime: Vec<u8> = alloc::vec![b'r'; T::MaxRuntimeLen::get() as usize];
	WorkerMeta {
		runtime: BoundedVec::truncate_from(runtime),
		capacity: 8,
		profile: Default::default(),
	}
}

/// Registers `count` workers.
fn fill_pool<T: Config>(count: u32) {
	for index in 0..count {
		let worker = funded::<T>("filler", index);
		let _ = Pallet::<T>::register_worker(
			RawOrigin::Signed(worker).into(),
			T::MinBond::get(),
			[index as u8; 32],
			meta::<T>(),
		);
	}
}

/// A funded worker registered at the minimum bond, and its origin.
fn registered<T: Config>() -> (T::AccountId, RawOrigin<T::AccountId>) {
	let worker = funded::<T>("worker", 0);
	let origin = RawOrigin::Signed(worker.clone());
	let _ = Pallet::<T>::register_worker(
		origin.clone().into(),
		T::MinBond::get(),
		[7; 32],
		meta::<T>(),
	);
	(worker, origin)
}

/// Publishes `count` models and has `worker` declare each ready; returns them.
fn declare_models<T: Config>(
	worker: &T::AccountId,
	count: u32,
) -> Vec<(modelhub_primitives::registry::ModelId, modelhub_primitives::registry::ModelVersion)> {
	let mut declared = Vec::new();
	for _ in 0..count {
		let (model, version) = T::BenchmarkHelper::publish_model(worker);
		let _ =
			Pallet::<T>::declare_ready(RawOrigin::Signed(worker.clone()).into(), model, version);
		declared.push((model, version));
	}
	declared
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_worker() {
		fill_pool::<T>(T::MaxWorkers::get().saturating_sub(1));
		let worker = funded::<T>("worker", 0);
		let bond = T::MinBond::get().saturating_mul(2u32.into());

		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), bond, [7; 32], meta::<T>());

		assert_eq!(Workers::<T>::get(&worker).map(|info| info.bond), Some(bond));
	}

	#[benchmark]
	fn update_worker() {
		let worker = funded::<T>("worker", 0);
		let bond = T::MinBond::get();
		let origin = RawOrigin::Signed(worker.clone());
		let _ = Pallet::<T>::register_worker(origin.clone().into(), bond, [7; 32], meta::<T>());
		let higher = bond.saturating_mul(2u32.into());

		#[extrinsic_call]
		_(origin, Some(higher), Some([8; 32]), Some(meta::<T>()));

		assert_eq!(Workers::<T>::get(&worker).map(|info| info.bond), Some(higher));
	}

	#[benchmark]
	fn unregister_worker(
		w: Linear<1, { T::MaxWorkers::get() }>,
		r: Linear<0, { T::MaxReadyModels::get() }>,
	) {
		fill_pool::<T>(w - 1);
		let (worker, origin) = registered::<T>();
		declare_models::<T>(&worker, r);

		#[extrinsic_call]
		_(origin);

		assert!(!ActiveWorkers::<T>::get().contains(&worker));
		assert!(Readiness::<T>::get(&worker).is_empty());
	}

	#[benchmark]
	fn declare_ready() {
		let (worker, origin) = registered::<T>();
		declare_models::<T>(&worker, T::MaxReadyModels::get().saturating_sub(1));
		let (model, version) = T::BenchmarkHelper::publish_model(&worker);

		#[extrinsic_call]
		_(origin, model, version);

		assert!(ReadyWorkers::<T>::contains_key((model, version), &worker));
	}

	#[benchmark]
	fn withdraw_ready() {
		let (worker, origin) = registered::<T>();
		let declared = declare_models::<T>(&worker, T::MaxReadyModels::get());
		let (model, version) = declared.first().copied().unwrap_or_default();

		#[extrinsic_call]
		_(origin, model, version);

		assert!(!ReadyWorkers::<T>::contains_key((model, version), &worker));
	}

	#[benchmark]
	fn withdraw_bond() {
		let (worker, origin) = registered::<T>();
		let _ = Pallet::<T>::unregister_worker(origin.clone().into());
		let unlock =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		frame_system::Pallet::<T>::set_block_number(unlock);

		#[extrinsic_call]
		_(origin);

		assert!(Workers::<T>::get(&worker).is_none());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

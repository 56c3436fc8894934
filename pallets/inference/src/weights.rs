//! Weights of `pallet_inference`. Regenerate with `scripts/benchmark-weights.sh`.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::ParityDbWeight}};
use core::marker::PhantomData;

/// The weight of each call of `pallet_inference`.
pub trait WeightInfo {
	fn request_inference(b: u32, r: u32, ) -> Weight;
	fn submit_result(o: u32, ) -> Weight;
	fn commit_result() -> Weight;
	fn reveal_result(o: u32, r: u32, ) -> Weight;
	fn report_failure(r: u32, ) -> Weight;
	fn expire_requests(n: u32, ) -> Weight;
	fn prune_result() -> Weight;
}

/// Weights measured on the reference machine, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn request_inference(b: u32, r: u32, ) -> Weight {
		Weight::from_parts(120_000_000, 10_000)
			.saturating_add(Weight::from_parts(2_000, 0).saturating_mul(b.into()))
			.saturating_add(Weight::from_parts(5_000_000, 0).saturating_mul(r.into()))
			.saturating_add(T::DbWeight::get().reads(12_u64))
			.saturating_add(T::DbWeight::get().writes(10_u64))
	}
	fn submit_result(o: u32, ) -> Weight {
		Weight::from_parts(250_000_000, 10_000)
			.saturating_add(Weight::from_parts(2_000, 0).saturating_mul(o.into()))
			.saturating_add(T::DbWeight::get().reads(30_u64))
			.saturating_add(T::DbWeight::get().writes(30_u64))
	}
	fn commit_result() -> Weight {
		Weight::from_parts(40_000_000, 10_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	fn reveal_result(o: u32, r: u32, ) -> Weight {
		Weight::from_parts(250_000_000, 10_000)
			.saturating_add(Weight::from_parts(2_000, 0).saturating_mul(o.into()))
			.saturating_add(Weight::from_parts(40_000_000, 0).saturating_mul(r.into()))
			.saturating_add(T::DbWeight::get().reads(30_u64))
			.saturating_add(T::DbWeight::get().writes(30_u64))
	}
	fn report_failure(r: u32, ) -> Weight {
		Weight::from_parts(120_000_000, 10_000)
			.saturating_add(Weight::from_parts(5_000_000, 0).saturating_mul(r.into()))
			.saturating_add(T::DbWeight::get().reads(12_u64))
			.saturating_add(T::DbWeight::get().writes(8_u64))
	}
	fn expire_requests(n: u32, ) -> Weight {
		Weight::from_parts(5_000_000, 10_000)
			.saturating_add(Weight::from_parts(200_000_000, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	fn prune_result() -> Weight {
		Weight::from_parts(10_000_000, 10_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
}

/// The same weights with ParityDB's database weights, for tests.
impl WeightInfo for () {
	fn request_inference(b: u32, r: u32, ) -> Weight {
		Weight::from_parts(120_000_000, 10_000)
			.saturating_add(Weight::from_parts(2_000, 0).saturating_mul(b.into()))
			.saturating_add(Weight::from_parts(5_000_000, 0).saturating_mul(r.into()))
			.saturating_add(ParityDbWeight::get().reads(12_u64))
			.saturating_add(ParityDbWeight::get().writes(10_u64))
	}
	fn submit_result(o: u32, ) -> Weight {
		Weight::from_parts(250_000_000, 10_000)
			.saturating_add(Weight::from_parts(2_000, 0).saturating_mul(o.into()))
			.saturating_add(ParityDbWeight::get().reads(30_u64))
			.saturating_add(ParityDbWeight::get().writes(30_u64))
	}
	fn commit_result() -> Weight {
		Weight::from_parts(40_000_000, 10_000)
			.saturating_add(ParityDbWeight::get().reads(3_u64))
			.saturating_add(ParityDbWeight::get().writes(2_u64))
	}
	fn reveal_result(o: u32, r: u32, ) -> Weight {
		Weight::from_parts(250_000_000, 10_000)
			.saturating_add(Weight::from_parts(2_000, 0).saturating_mul(o.into()))
			.saturating_add(Weight::from_parts(40_000_000, 0).saturating_mul(r.into()))
			.saturating_add(ParityDbWeight::get().reads(30_u64))
			.saturating_add(ParityDbWeight::get().writes(30_u64))
	}
	fn report_failure(r: u32, ) -> Weight {
		Weight::from_parts(120_000_000, 10_000)
			.saturating_add(Weight::from_parts(5_000_000, 0).saturating_mul(r.into()))
			.saturating_add(ParityDbWeight::get().reads(12_u64))
			.saturating_add(ParityDbWeight::get().writes(8_u64))
	}
	fn expire_requests(n: u32, ) -> Weight {
		Weight::from_parts(5_000_000, 10_000)
			.saturating_add(Weight::from_parts(200_000_000, 0).saturating_mul(n.into()))
			.saturating_add(ParityDbWeight::get().reads(1_u64))
			.saturating_add(ParityDbWeight::get().writes(1_u64))
	}
	fn prune_result() -> Weight {
		Weight::from_parts(10_000_000, 10_000)
			.saturating_add(ParityDbWeight::get().reads(1_u64))
			.saturating_add(ParityDbWeight::get().writes(1_u64))
	}
}

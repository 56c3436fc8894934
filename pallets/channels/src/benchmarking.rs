//! Benchmarks of every channel call, each at its worst case: settlements of the most entries,
//! each of a model whose royalties reach the most accounts, and of the most calls, each
//! raising its model to a call level no model reached before.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{traits::Get, BoundedVec};
use frame_system::RawOrigin;
use modelhub_primitives::{
	channel::{ChannelId, Voucher, MAX_VOUCHER_ENTRIES},
	inference::Verifier,
	registry::{ModelId, ModelRegistry},
};
use sp_runtime::traits::{Bounded, Saturating};

type Helper<T> = <T as Config>::BenchmarkHelper;

/// A funded payer, an active worker and an open channel between them holding `deposit`.
fn open<T: Config>(
	deposit: BalanceOf<T>,
) -> Result<(T::AccountId, T::AccountId, ChannelId), BenchmarkError> {
	let payer = Helper::<T>::payer();
	Helper::<T>::fund(&payer, BalanceOf::<T>::max_value() / 4u32.into());
	let worker = Helper::<T>::worker();
	if !T::Verifier::is_active(&worker) {
		return Err(BenchmarkError::Stop("the helper's worker is not active"));
	}
	Pallet::<T>::open_channel(
		RawOrigin::Signed(payer.clone()).into(),
		worker.clone(),
		deposit,
		T::MaxLifetime::get(),
	)
	.map_err(|_| BenchmarkError::Stop("open failed"))?;
	Ok((payer, worker, NextChannelId::<T>::get().saturating_sub(1)))
}

/// A deposit large enough for any benchmark's voucher.
fn large_deposit<T: Config>() -> BalanceOf<T> {
	BalanceOf::<T>::max_value() / 16u32.into()
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn open_channel() -> Result<(), BenchmarkError> {
		let payer = Helper::<T>::payer();
		Helper::<T>::fund(&payer, BalanceOf::<T>::max_value() / 4u32.into());
		let worker = Helper::<T>::worker();
		let deposit = T::MinDeposit::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(payer), worker, deposit, T::MaxLifetime::get());

		assert!(Channels::<T>::contains_key(0));
		Ok(())
	}

	#[benchmark]
	fn top_up() -> Result<(), BenchmarkError> {
		let (payer, _, channel) = open::<T>(T::MinDeposit::get())?;
		let amount = T::MinDeposit::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(payer), channel, amount, T::MaxLifetime::get());

		let info = Channels::<T>::get(channel).ok_or(BenchmarkError::Stop("no channel"))?;
		assert_eq!(info.deposit, amount.saturating_add(amount));
		Ok(())
	}

	/// `e` voucher entries, each of its own model whose royalties reach the most accounts,
	/// paying `c` calls in all: one call each but the first, which takes the rest. The
	/// registry's usage statistics cost one read and one write per call a model's count
	/// passes, and levels no other model passed in the same settlement are the dearest: the
	/// calls all on one model are the worst case for any `c`.
	#[benchmark]
	fn settle(
		e: Linear<1, MAX_VOUCHER_ENTRIES>,
		c: Linear<{ MAX_VOUCHER_ENTRIES }, { T::MaxCallsPerSettlement::get() }>,
	) -> Result<(), BenchmarkError> {
		let (payer, worker, channel) = open::<T>(large_deposit::<T>())?;
		let recipients = T::Registry::max_royalty_recipients();
		let owner: T::AccountId = account("owner", 0, 0);
		let price: BalanceOf<T> = 1_000u32.into();
		let execution = T::MinExecutionFee::get();
		let models: Vec<ModelId> =
			(0..e).map(|_| Helper::<T>::publish_model(&owner, recipients, price)).collect();
		let mut voucher = Voucher::empty(channel);
		let first_calls = c.saturating_sub(e.saturating_sub(1));
		for call in 0..c {
			let index = call.saturating_sub(first_calls.saturating_sub(1));
			let model = models.get(index as usize).copied().unwrap_or_default();
			voucher = voucher
				.next(model, price, execution)
				.ok_or(BenchmarkError::Stop("voucher full"))?;
		}
		let signature = Helper::<T>::sign(&payer, &voucher.message(&Pallet::<T>::genesis_hash()));

		#[extrinsic_call]
		_(RawOrigin::Signed(worker), channel, voucher, signature);

		let info = Channels::<T>::get(channel).ok_or(BenchmarkError::Stop("no channel"))?;
		assert_eq!(info.settled_calls, u64::from(c));
		Ok(())
	}

	#[benchmark]
	fn close_channel() -> Result<(), BenchmarkError> {
		// The worker's close ends the channel and releases the deposit: the heavier branch.
		let (_, worker, channel) = open::<T>(T::MinDeposit::get())?;

		#[extrinsic_call]
		_(RawOrigin::Signed(worker), channel);

		assert!(!Channels::<T>::contains_key(channel));
		Ok(())
	}

	#[benchmark]
	fn claim() -> Result<(), BenchmarkError> {
		let (payer, _, channel) = open::<T>(T::MinDeposit::get())?;
		Pallet::<T>::close_channel(RawOrigin::Signed(payer.clone()).into(), channel)
			.map_err(|_| BenchmarkError::Stop("close failed"))?;
		let now =
			frame_system::Pallet::<T>::block_number().saturating_add(T::ChallengePeriod::get());
		frame_system::Pallet::<T>::set_block_number(now);

		#[extrinsic_call]
		_(RawOrigin::Signed(payer), channel);

		assert!(!Channels::<T>::contains_key(channel));
		Ok(())
	}

	#[benchmark]
	fn set_endpoint() -> Result<(), BenchmarkError> {
		let worker = Helper::<T>::worker();
		let mut url = b"https://".to_vec();
		url.resize(T::MaxEndpointLen::get() as usize, b'w');
		let endpoint: BoundedVec<u8, T::MaxEndpointLen> =
			url.try_into().map_err(|_| BenchmarkError::Stop("endpoint too long"))?;

		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), Some(endpoint));

		assert!(Endpoints::<T>::contains_key(&worker));
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}

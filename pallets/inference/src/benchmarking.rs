//! Benchmarks of every inference call and of the per-block deadline work, each at its worst
//! case: a full worker pool to draw from, the widest royalty payout to settle, the most
//! workers per request.

use super::*;
use crate::lifecycle::Judgement;
use alloc::{vec, vec::Vec};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{traits::Get, weights::Weight};
use frame_system::RawOrigin;
use modelhub_primitives::{
	agreement::{compare, Agreement, Closeness},
	channel::FastAttestation,
	inference::{result_commitment, FailureReason, RequestId, Verifier},
	registry::{ModelId, ModelRegistry},
	tensor::{DType, Limits, Tensor, TensorSet},
};
use sp_runtime::traits::{Bounded, Saturating, UniqueSaturatedInto};

type Helper<T> = <T as Config>::BenchmarkHelper;

/// A canonical set holding one f32 tensor `name` of about `bytes` encoded bytes, every
/// element 0.5 (exact at any rounding).
fn tensors(name: &[u8], bytes: u32) -> Vec<u8> {
	let count = (bytes.saturating_sub(32) / 4).max(1) as usize;
	let tensor = Tensor {
		name: name.to_vec(),
		dtype: DType::F32,
		shape: vec![count as u64],
		data: 0.5f32.to_le_bytes().repeat(count),
	};
	let limits = Limits { max_tensors: 1, max_data_bytes: u64::MAX };
	TensorSet::new(vec![tensor], &limits).map(|set| set.encode()).unwrap_or_default()
}

/// A funded requester, a model paying one royalty recipient, and a full pool ready for it.
fn setup<T: Config>(workers: u32) -> (T::AccountId, ModelId) {
	setup_paying::<T>(workers, 1)
}

/// [`setup`] with a model whose royalties reach `recipients` accounts.
fn setup_paying<T: Config>(workers: u32, recipients: u32) -> (T::AccountId, ModelId) {
	setup_pool::<T>(workers, recipients, T::Verifier::max_workers())
}

/// [`setup_paying`] with `pool` workers ready for the model.
fn setup_pool<T: Config>(workers: u32, recipients: u32, pool: u32) -> (T::AccountId, ModelId) {
	let requester: T::AccountId = account("requester", 0, 0);
	Helper::<T>::fund(&requester, BalanceOf::<T>::max_value() / 4u32.into());
	let owner: T::AccountId = account("owner", 0, 0);
	let model = Helper::<T>::publish_model(&owner, recipients);
	Helper::<T>::register_workers(model, workers, pool.max(workers));
	(requester, model)
}

/// Opens a request with `redundancy` workers on an input of `bytes` bytes.
fn open<T: Config>(
	requester: &T::AccountId,
	model: ModelId,
	bytes: u32,
	redundancy: u32,
) -> Result<RequestId, BenchmarkError> {
	Pallet::<T>::do_request(
		requester.clone(),
		model,
		tensors(b"x", bytes),
		BalanceOf::<T>::max_value(),
		redundancy,
	)
	.map(|(id, _)| id)
	.map_err(|_| BenchmarkError::Stop("request_inference failed"))
}

fn workers_of<T: Config>(id: RequestId) -> Vec<T::AccountId> {
	Requests::<T>::get(id)
		.map(|request| request.slots.iter().map(|slot| slot.worker.clone()).collect())
		.unwrap_or_default()
}

fn signed<T: Config>(id: RequestId, worker: &T::AccountId, output: &[u8]) -> [u8; 64] {
	let Some(request) = Requests::<T>::get(id) else { return [0; 64] };
	let hash = sp_io::hashing::blake2_256(output);
	Helper::<T>::sign(worker, &Pallet::<T>::attestation(id, &request, worker, hash).message())
}

fn salt_of(index: usize) -> [u8; 32] {
	[index as u8; 32]
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn request_inference(
		b: Linear<64, { T::MaxInputLen::get() }>,
		r: Linear<1, { T::MaxRedundancy::get() }>,
		w: Linear<{ T::MaxRedundancy::get() }, { T::Verifier::max_workers() }>,
	) {
		let (requester, model) = setup_pool::<T>(r, 1, w);
		let input = tensors(b"x", b);

		#[extrinsic_call]
		_(RawOrigin::Signed(requester), model, input, BalanceOf::<T>::max_value(), r);

		assert_eq!(NextRequestId::<T>::get(), 1);
	}

	#[benchmark]
	fn submit_result(o: Linear<64, { T::MaxOutputLen::get() }>) -> Result<(), BenchmarkError> {
		let (requester, model) = setup::<T>(1);
		let id = open::<T>(&requester, model, 64, 1)?;
		let worker = workers_of::<T>(id).pop().ok_or(BenchmarkError::Stop("no worker"))?;
		let output = tensors(b"y", o);
		let signature = signed::<T>(id, &worker, &output);

		#[extrinsic_call]
		_(RawOrigin::Signed(worker), id, output, signature);

		assert!(matches!(Results::<T>::get(id).map(|r| r.outcome), Some(Outcome::Settled { .. })));
		Ok(())
	}

	#[benchmark]
	fn commit_result() -> Result<(), BenchmarkError> {
		let k = T::MaxRedundancy::get().max(2);
		let (requester, model) = setup::<T>(k);
		let id = open::<T>(&requester, model, 64, k)?;
		let mut workers = workers_of::<T>(id);
		let last = workers.pop().ok_or(BenchmarkError::Stop("no worker"))?;
		for worker in workers {
			Pallet::<T>::do_commit(worker, id, [1; 32])
				.map_err(|_| BenchmarkError::Stop("commit failed"))?;
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(last), id, [1; 32]);

		assert_eq!(Requests::<T>::get(id).map(|r| r.phase), Some(Phase::Reveal));
		Ok(())
	}

	#[benchmark]
	fn reveal_result(
		o: Linear<64, { T::MaxOutputLen::get() }>,
		r: Linear<2, { T::MaxRedundancy::get() }>,
	) -> Result<(), BenchmarkError> {
		let (requester, model) = setup::<T>(r);
		let id = open::<T>(&requester, model, 64, r)?;
		let workers = workers_of::<T>(id);
		let output = tensors(b"y", o);
		let hash = sp_io::hashing::blake2_256(&output);
		for (index, worker) in workers.iter().enumerate() {
			let commitment = result_commitment(id, &hash, &salt_of(index), worker);
			Pallet::<T>::do_commit(worker.clone(), id, commitment)
				.map_err(|_| BenchmarkError::Stop("commit failed"))?;
		}
		let last = workers.len().saturating_sub(1);
		for (index, worker) in workers.iter().enumerate().take(last) {
			let signature = signed::<T>(id, worker, &output);
			Pallet::<T>::do_reveal(worker.clone(), id, output.clone(), salt_of(index), signature)
				.map_err(|_| BenchmarkError::Stop("reveal failed"))?;
		}
		let worker = workers.get(last).cloned().ok_or(BenchmarkError::Stop("no worker"))?;
		let signature = signed::<T>(id, &worker, &output);

		#[extrinsic_call]
		_(RawOrigin::Signed(worker), id, output, salt_of(last), signature);

		assert!(matches!(Results::<T>::get(id).map(|r| r.outcome), Some(Outcome::Settled { .. })));
		Ok(())
	}

	#[benchmark]
	fn report_failure(r: Linear<1, { T::MaxRedundancy::get() }>) -> Result<(), BenchmarkError> {
		let (requester, model) = setup::<T>(r);
		let id = open::<T>(&requester, model, 64, r)?;
		let worker = workers_of::<T>(id).pop().ok_or(BenchmarkError::Stop("no worker"))?;

		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), id, FailureReason::ExecutionError);

		assert!(!workers_of::<T>(id).contains(&worker));
		Ok(())
	}

	#[benchmark]
	fn expire_requests(n: Linear<0, 64>) -> Result<(), BenchmarkError> {
		let k = T::MaxRedundancy::get();
		let (requester, model) = setup::<T>(k);
		let mut ids = Vec::new();
		for _ in 0..n {
			ids.push(open::<T>(&requester, model, 64, k)?);
		}
		let deadline = frame_system::Pallet::<T>::block_number().saturating_add(if k == 1 {
			T::ResultTimeout::get()
		} else {
			T::CommitTimeout::get()
		});
		frame_system::Pallet::<T>::set_block_number(deadline);
		DeadlineCursor::<T>::put(deadline);

		#[block]
		{
			Pallet::<T>::process_deadlines_within(deadline, Weight::MAX);
		}

		assert!(ids.iter().all(|id| Results::<T>::contains_key(id)));
		Ok(())
	}

	/// Paying out a settled fee to `p` royalty recipients (plus the pot, the treasury and the
	/// worker), slashing nobody.
	#[benchmark]
	fn settle(
		p: Linear<1, { T::Registry::max_royalty_recipients() }>,
	) -> Result<(), BenchmarkError> {
		let (requester, model) = setup_paying::<T>(1, p);
		let id = open::<T>(&requester, model, 64, 1)?;
		let mut request = Requests::<T>::get(id).ok_or(BenchmarkError::Stop("no request"))?;
		let output = tensors(b"y", 64);
		let hash = sp_io::hashing::blake2_256(&output);
		for slot in request.slots.iter_mut() {
			slot.state = SlotState::Revealed(hash);
		}
		let output: OutputOf<T> =
			output.try_into().map_err(|_| BenchmarkError::Stop("output too long"))?;

		#[block]
		{
			Pallet::<T>::settle(id, request, &Judgement::unanimous(hash), output)
				.map_err(|_| BenchmarkError::Stop("settle failed"))?;
		}

		assert!(Results::<T>::contains_key(id));
		Ok(())
	}

	/// Comparing two outputs of `e` f32 elements under the default tolerance, at its worst:
	/// every element differs (by a part in ten million, within tolerance), so none is skipped
	/// and the comparison reads both outputs to the end.
	#[benchmark]
	fn compare_outputs(
		e: Linear<1, { T::MaxComparedElements::get() }>,
	) -> Result<(), BenchmarkError> {
		let set = |scale: f32| TensorSet {
			tensors: vec![Tensor {
				name: b"y".to_vec(),
				dtype: DType::F32,
				shape: vec![u64::from(e)],
				data: (0..e)
					.flat_map(|i| ((i % 997) as f32 * 0.37 * scale - 150.0).to_le_bytes())
					.collect(),
			}],
		};
		let (a, b) = (set(1.0), set(1.000_000_1));
		let agreement = Agreement::DEFAULT;
		let closeness;

		#[block]
		{
			closeness = compare(&a, &b, &agreement.tolerance, agreement.fraud_margin);
		}

		assert_eq!(closeness, Closeness::Within);
		Ok(())
	}

	#[benchmark]
	fn prune_result() -> Result<(), BenchmarkError> {
		let (requester, model) = setup::<T>(1);
		let id = open::<T>(&requester, model, 64, 1)?;
		let worker = workers_of::<T>(id).pop().ok_or(BenchmarkError::Stop("no worker"))?;
		let output = tensors(b"y", T::MaxOutputLen::get());
		let signature = signed::<T>(id, &worker, &output);
		Pallet::<T>::do_submit(worker, id, output, signature)
			.map_err(|_| BenchmarkError::Stop("submit failed"))?;
		let now =
			frame_system::Pallet::<T>::block_number().saturating_add(T::ResultRetention::get());
		frame_system::Pallet::<T>::set_block_number(now);

		#[block]
		{
			Pallet::<T>::prune_results(now, Weight::MAX);
		}

		assert!(!Results::<T>::contains_key(id));
		Ok(())
	}

	#[benchmark]
	fn dispute(
		i: Linear<64, { T::MaxInputLen::get() }>,
		o: Linear<64, { T::MaxOutputLen::get() }>,
		r: Linear<2, { T::MaxRedundancy::get() }>,
		w: Linear<{ T::MaxRedundancy::get() }, { T::Verifier::max_workers() }>,
	) -> Result<(), BenchmarkError> {
		let requester: T::AccountId = account("requester", 0, 0);
		Helper::<T>::fund(&requester, BalanceOf::<T>::max_value() / 4u32.into());
		let model = Helper::<T>::publish_model(&account("owner", 0, 0), 1);
		let Some(accused) = Helper::<T>::register_workers(model, r, w).into_iter().next() else {
			return Err(BenchmarkError::Stop("no worker"));
		};
		let terms = T::Registry::call_terms(model)
			.map_err(|_| BenchmarkError::Stop("the model is not active"))?;
		let (input, output) = (tensors(b"x", i), tensors(b"y", o));
		let block: u32 = frame_system::Pallet::<T>::block_number().unique_saturated_into();
		let receipt = FastAttestation {
			genesis_hash: Pallet::<T>::genesis_hash(),
			channel: 0,
			call: 1,
			block,
			artifact_hash: terms.artifact_hash,
			input_hash: sp_io::hashing::blake2_256(&input),
			output_hash: sp_io::hashing::blake2_256(&output),
			worker: accused,
		};
		let signature = Helper::<T>::sign(&receipt.worker, &receipt.message());

		#[extrinsic_call]
		_(
			RawOrigin::Signed(requester),
			model,
			receipt,
			signature,
			input,
			output,
			BalanceOf::<T>::max_value(),
			r - 1,
		);

		assert!(Disputes::<T>::contains_key(0));
		Ok(())
	}
}

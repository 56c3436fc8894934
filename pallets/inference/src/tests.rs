//! Tests of the inference pallet, with the real registry and verification pallets.

use crate::{mock::*, pallet::*, types::*, Error};
use frame_support::{
	assert_noop, assert_ok,
	dispatch::Pays,
	traits::{
		fungible::{Inspect, InspectHold},
		Hooks,
	},
};
use modelhub_primitives::{
	channel::FastAttestation,
	inference::{FailureReason, RequestId},
	registry::ModelRegistry,
};
use pallet_verification::{WorkerUsage, Workers};
use sp_core::Pair;

type Registry = pallet_model_registry::Pallet<Test>;
type Pool = pallet_verification::Pallet<Test>;

fn escrow(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Inference(HoldReason::Escrow), &who)
}

fn bond(who: AccountId) -> Balance {
	Workers::<Test>::get(who).map_or(0, |info| info.bond)
}

fn free(who: AccountId) -> Balance {
	Balances::balance(&who)
}

/// A worker's bond after one slash in a request at `redundancy`: the request's fee is at stake,
/// more than a tenth of the bond.
fn slashed_once(redundancy: u32) -> Balance {
	BOND - (BOND / 10).max(fee(redundancy))
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Inference(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// Sum of every account's total balance (free plus held).
fn total_balances() -> Balance {
	let mut accounts = funded();
	accounts.extend([TREASURY, VALIDATOR_POT, PAUPER]);
	accounts.iter().map(Balances::total_balance).sum()
}

fn request(model: u64, redundancy: u32) -> RequestId {
	let id = NextRequestId::<Test>::get();
	assert_ok!(Inference::request_inference(
		RuntimeOrigin::signed(REQUESTER),
		model,
		input(),
		fee(redundancy),
		redundancy
	));
	id
}

fn workers_of(id: RequestId) -> Vec<AccountId> {
	Requests::<Test>::get(id).expect("running").slots.iter().map(|slot| slot.worker).collect()
}

fn submit(
	id: RequestId,
	worker: AccountId,
	variant: u8,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
	let out = output(variant);
	let signature = sign(id, worker, &out);
	Inference::submit_result(RuntimeOrigin::signed(worker), id, out, signature)
}

fn commit(id: RequestId, worker: AccountId, variant: u8) {
	assert_ok!(Inference::commit_result(
		RuntimeOrigin::signed(worker),
		id,
		commitment(id, worker, &output(variant))
	));
}

/// A request at redundancy `variants.len()` whose `i`-th worker committed to `output(variants[i])`.
fn committed(model: u64, variants: &[u8]) -> (RequestId, Vec<AccountId>) {
	let id = request(model, variants.len() as u32);
	let workers = workers_of(id);
	for (worker, variant) in workers.iter().zip(variants) {
		commit(id, *worker, *variant);
	}
	(id, workers)
}

fn reveal(id: RequestId, worker: AccountId, variant: u8) {
	let out = output(variant);
	let signature = sign(id, worker, &out);
	assert_ok!(Inference::reveal_result(
		RuntimeOrigin::signed(worker),
		id,
		out,
		salt(worker),
		signature
	));
}

fn outcome(id: RequestId) -> Outcome {
	Results::<Test>::get(id).expect("ended").outcome
}

#[test]
fn a_request_is_charged_for_the_workers_its_draw_scanned() {
	run(|model| {
		let length = input().len() as u32;
		let info = Inference::request_inference(
			RuntimeOrigin::signed(REQUESTER),
			model,
			input(),
			fee(1),
			1,
		)
		.expect("requested");
		assert_eq!(info.actual_weight, Some(Inference::request_weight(length, 1, Some(3))));
		assert!(Inference::request_weight(length, 1, Some(3))
			.all_lte(Inference::request_weight(length, 1, None)));
	});
}

#[test]
fn request_holds_the_fee_and_assigns_workers() {
	run(|model| {
		let id = request(model, 1);
		assert_eq!(id, 0);
		let stored = Requests::<Test>::get(id).expect("running");
		assert_eq!(stored.requester, REQUESTER);
		assert_eq!(stored.royalty, PRICE);
		assert_eq!(stored.execution, BASE_FEE + PER_BYTE * input().len() as Balance);
		assert_eq!(stored.fee(), fee(1));
		assert_eq!(stored.phase, Phase::Running);
		assert_eq!(stored.deadline, 1 + RESULT_TIMEOUT);
		assert_eq!(stored.input_hash, sp_io::hashing::blake2_256(&input()));
		assert_eq!(Inputs::<Test>::get(id).expect("kept").into_inner(), input());
		assert_eq!(escrow(REQUESTER), fee(1));
		assert_eq!(free(REQUESTER), INITIAL_BALANCE - fee(1));
		let worker = workers_of(id)[0];
		assert!(Assignments::<Test>::contains_key(worker, id));
		assert_eq!(Workers::<Test>::get(worker).expect("worker").pending_jobs, 1);
		assert!(Deadlines::<Test>::contains_key(1 + RESULT_TIMEOUT, id));
		assert_eq!(
			events().last(),
			Some(&Event::InferenceRequested {
				request: id,
				model,
				requester: REQUESTER,
				fee: fee(1),
				workers: vec![worker],
				deadline: 1 + RESULT_TIMEOUT,
			})
		);
		let three = request(model, 3);
		let mut assigned = workers_of(three);
		assigned.sort();
		assigned.dedup();
		assert_eq!(assigned.len(), 3);
		assert_eq!(Requests::<Test>::get(three).expect("running").phase, Phase::Commit);
	});
}

#[test]
fn the_requester_pays_the_chain_fee_of_the_result_it_gets_and_no_more() {
	OutputFeePerByte::set(2);
	FeePerMillisecond::set(100);
	run(|model| {
		// The most the results and the settlement can cost is held with the fee.
		let most = Inference::max_chain_fee(1);
		let output_len = output(0).len() as u32;
		assert!(most >= 2 * 1_024, "the longest output's bytes are held: {most}");
		assert_eq!(fee(1), PRICE + BASE_FEE + PER_BYTE * input().len() as Balance + most);
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(REQUESTER),
				model,
				input(),
				fee(1) - 1,
				1
			),
			Error::<Test>::FeeAboveMax
		);
		let id = request(model, 1);
		assert_eq!(Requests::<Test>::get(id).expect("running").chain, most);
		assert_eq!(escrow(REQUESTER), fee(1));

		// Settlement charges the chain fee of the output it stores and its five payouts (two
		// royalty beneficiaries, the pot, which takes the chain fee too, the treasury and the
		// worker) and returns the rest.
		let pot = free(VALIDATOR_POT);
		let worker = workers_of(id)[0];
		assert_ok!(submit(id, worker, 0));
		let chain = Inference::chain_fee(output_len, 1, 5);
		assert!(chain >= 2 * Balance::from(output_len) && chain < most, "{chain} of {most}");
		let paid = fee(1) - most + chain;
		assert_eq!(escrow(REQUESTER), 0);
		assert_eq!(free(REQUESTER), INITIAL_BALANCE - paid);
		let execution = BASE_FEE + PER_BYTE * input().len() as Balance;
		assert_eq!(free(VALIDATOR_POT), pot + execution / 10 + chain);
		assert_eq!(Epochs::<Test>::get(0).fees, paid);
		assert!(events().contains(&Event::CallsSettled {
			model,
			payer: REQUESTER,
			calls: 1,
			fee: paid,
			royalty: PRICE,
		}));
		match events().last() {
			Some(Event::InferenceSettled { payouts, .. }) => {
				assert_eq!(payouts.iter().map(|(_, amount)| amount).sum::<Balance>(), paid);
			},
			other => panic!("not settled: {other:?}"),
		}

		// A refund returns the chain fee with the rest.
		let id = request(model, 1);
		run_to(1 + RESULT_TIMEOUT + 1);
		assert!(matches!(outcome(id), Outcome::Refunded { .. }));
		assert_eq!(escrow(REQUESTER), 0);
		assert_eq!(free(REQUESTER), INITIAL_BALANCE - paid);
	});
}

#[test]
fn bad_requests_fail_before_anything_is_held() {
	use modelhub_primitives::api::RequestError;
	run(|model| {
		// Each refusal of `request_inference` is foreseen by `check_request`, and neither
		// changes anything.
		let refused = |who: AccountId,
		               model: u64,
		               input: Vec<u8>,
		               max_fee: Balance,
		               k: u32,
		               error| {
			assert_eq!(
				Inference::check_request(&who, model, input.clone(), max_fee, k, 0),
				Err(error)
			);
			assert_noop!(
				Inference::request_inference(RuntimeOrigin::signed(who), model, input, max_fee, k),
				Error::<Test>::from(error)
			);
		};
		refused(REQUESTER, model, input(), fee(1), 0, RequestError::InvalidRedundancy);
		refused(REQUESTER, model, input(), fee(6), 6, RequestError::InvalidRedundancy);
		refused(REQUESTER, model, vec![0; 1_025], Balance::MAX, 1, RequestError::InputTooLarge);
		refused(REQUESTER, model + 1, input(), fee(1), 1, RequestError::ModelNotFound);
		refused(REQUESTER, model, vec![1, 2, 3], Balance::MAX, 1, RequestError::InputNotCanonical);
		refused(
			REQUESTER,
			model,
			tensors("z", &[1.0]),
			Balance::MAX,
			1,
			RequestError::InputDoesNotFitSchema,
		);
		refused(REQUESTER, model, input(), fee(1) - 1, 1, RequestError::FeeAboveMax);
		refused(REQUESTER, model, input(), fee(4), 4, RequestError::NotEnoughWorkers);
		refused(PAUPER, model, input(), fee(1), 1, RequestError::InsufficientBalance);
		// The transaction fee is paid first: a balance that covers the fee alone is not enough.
		let spare = free(REQUESTER) - fee(1);
		assert_eq!(
			Inference::check_request(&REQUESTER, model, input(), fee(1), 1, spare + 1),
			Err(RequestError::InsufficientBalance)
		);
		assert_eq!(
			Inference::check_request(&REQUESTER, model, input(), fee(1), 1, 0),
			Ok((FeeParts { royalty: PRICE, execution: fee(1) - PRICE, chain: 0 }, 3))
		);
		assert_ok!(Registry::set_status(
			RuntimeOrigin::signed(OWNER),
			model,
			pallet_model_registry::ModelStatus::Paused
		));
		refused(REQUESTER, model, input(), fee(1), 1, RequestError::ModelNotActive);
		assert_eq!(escrow(REQUESTER), 0);
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
	});
}

#[test]
fn a_model_no_ready_worker_serves_is_refused_before_anything_is_held() {
	use modelhub_primitives::api::RequestError;
	run(|model| {
		let refused = |redundancy: u32, error: RequestError| {
			assert_eq!(
				Inference::check_request(
					&REQUESTER,
					model,
					input(),
					fee(redundancy),
					redundancy,
					0
				),
				Err(error)
			);
			assert_noop!(
				Inference::request_inference(
					RuntimeOrigin::signed(REQUESTER),
					model,
					input(),
					fee(redundancy),
					redundancy
				),
				Error::<Test>::from(error)
			);
		};
		// Two of the three workers let the model go: a redundancy of 2 finds too few.
		for worker in [WORKER, WORKER + 1] {
			assert_ok!(Pool::withdraw_ready(RuntimeOrigin::signed(worker), model, 1));
		}
		refused(2, RequestError::NotEnoughWorkers);
		let id = request(model, 1);
		assert_eq!(workers_of(id), vec![WORKER + 2]);
		assert_ok!(Pool::withdraw_ready(RuntimeOrigin::signed(WORKER + 2), model, 1));
		refused(1, RequestError::NoReadyWorker);

		// A new version is served only once a worker declares it: readiness of the old one
		// does not carry over.
		for worker in WORKER..WORKER + 3 {
			assert_ok!(Pool::declare_ready(RuntimeOrigin::signed(worker), model, 1));
		}
		assert_ok!(Registry::publish_version(
			RuntimeOrigin::signed(OWNER),
			model,
			pallet_model_registry::testing::test_artifact::<Test>(),
			schema(),
			16,
			None,
		));
		refused(1, RequestError::NoReadyWorker);
		declare_ready(WORKER, model);
		let id = request(model, 1);
		assert_eq!(workers_of(id), vec![WORKER]);
		assert_eq!(Requests::<Test>::get(id).expect("running").version, 2);
		assert_eq!(escrow(REQUESTER), fee(1) * 2);
	});
}

#[test]
fn an_attested_result_settles_the_fee_exactly() {
	run(|model| {
		let issuance = Balances::total_issuance();
		let id = request(model, 1);
		let worker = workers_of(id)[0];
		let post = submit(id, worker, 0).expect("accepted");
		assert_eq!(post.pays_fee, Pays::No);

		let execution = fee(1) - PRICE;
		let to_pot = execution / 10;
		let to_treasury = execution / 20;
		let to_worker = execution - to_pot - to_treasury;
		assert_eq!(free(REQUESTER), INITIAL_BALANCE - fee(1));
		assert_eq!(escrow(REQUESTER), 0);
		assert_eq!(free(OWNER), INITIAL_BALANCE - 110 + PRICE * 7 / 10);
		assert_eq!(free(CO_AUTHOR), INITIAL_BALANCE + PRICE * 3 / 10);
		assert_eq!(free(worker), INITIAL_BALANCE - BOND + to_worker);
		assert_eq!(free(VALIDATOR_POT), 1 + to_pot);
		assert_eq!(free(TREASURY), 1 + to_treasury);
		assert_eq!(Balances::total_issuance(), issuance);

		let output_hash = sp_io::hashing::blake2_256(&output(0));
		let result = Results::<Test>::get(id).expect("stored");
		assert_eq!(result.outcome, Outcome::Settled { output_hash });
		assert_eq!(result.output.into_inner(), output(0));
		assert!(Requests::<Test>::get(id).is_none());
		assert!(Inputs::<Test>::get(id).is_none());
		assert!(!Assignments::<Test>::contains_key(worker, id));
		assert_eq!(Workers::<Test>::get(worker).expect("worker").pending_jobs, 0);
		assert_eq!(WorkerUsage::<Test>::get(worker).earnings, to_worker);

		let usage = pallet_model_registry::ModelUsage::<Test>::get(model);
		assert_eq!((usage.calls, usage.revenue, usage.payers.estimate()), (1, PRICE, 1));
		let epoch = Epochs::<Test>::get(0);
		assert_eq!((epoch.calls, epoch.fees, epoch.royalties, epoch.models), (1, fee(1), PRICE, 1));
		assert_eq!(EpochModelCalls::<Test>::get(0, model).calls, 1);
		match events().last() {
			Some(Event::InferenceSettled { request, workers, payouts, .. }) => {
				assert_eq!((*request, workers.clone()), (id, vec![worker]));
				assert_eq!(payouts.iter().map(|(_, amount)| amount).sum::<Balance>(), fee(1));
			},
			other => panic!("expected InferenceSettled, got {other:?}"),
		}
	});
}

#[test]
fn bad_submissions_are_rejected_and_change_nothing() {
	run(|model| {
		let id = request(model, 1);
		let worker = workers_of(id)[0];
		let other = (WORKER..WORKER + 3).find(|w| *w != worker).expect("another worker");
		let signed = RuntimeOrigin::signed;
		let good = output(0);
		let signature = sign(id, worker, &good);
		assert_noop!(
			Inference::submit_result(signed(worker), id + 9, good.clone(), signature),
			Error::<Test>::RequestNotFound
		);
		assert_noop!(
			Inference::submit_result(signed(other), id, good.clone(), sign(id, other, &good)),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Inference::submit_result(signed(worker), id, vec![0; 1_025], signature),
			Error::<Test>::OutputTooLarge
		);
		assert_noop!(
			Inference::submit_result(signed(worker), id, vec![9, 9], signature),
			Error::<Test>::OutputNotCanonical
		);
		// 1 + 2^-20 is not rounded to 16 mantissa bits.
		let unrounded = tensors("y", &[1.000_001]);
		assert_noop!(
			Inference::submit_result(signed(worker), id, unrounded, signature),
			Error::<Test>::OutputNotCanonical
		);
		let misfit = tensors("z", &[1.0]);
		assert_noop!(
			Inference::submit_result(signed(worker), id, misfit, signature),
			Error::<Test>::OutputDoesNotFitSchema
		);
		assert_noop!(
			Inference::submit_result(signed(worker), id, output(1), signature),
			Error::<Test>::InvalidAttestation
		);
		let forged = key_of(other).sign(&[0u8; 4]).0;
		assert_noop!(
			Inference::submit_result(signed(worker), id, good.clone(), forged),
			Error::<Test>::InvalidAttestation
		);
		let three = request(model, 3);
		let member = workers_of(three)[0];
		assert_noop!(
			Inference::submit_result(signed(member), three, good.clone(), signature),
			Error::<Test>::CommitRevealRequired
		);
		assert_eq!(escrow(REQUESTER), fee(1) + fee(3));
	});
}

#[test]
fn a_missed_deadline_refunds_in_full_and_slashes_the_worker() {
	run(|model| {
		let issuance = Balances::total_issuance();
		let id = request(model, 1);
		let worker = workers_of(id)[0];
		run_to(RESULT_TIMEOUT);
		assert!(Requests::<Test>::get(id).is_some());
		run_to(1 + RESULT_TIMEOUT);
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::Timeout });
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
		assert_eq!(escrow(REQUESTER), 0);
		assert_eq!(bond(worker), slashed_once(1));
		assert_eq!(free(TREASURY), 1 + fee(1));
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(pallet_model_registry::ModelUsage::<Test>::get(model).failures, 1);
		assert!(events().contains(&Event::InferenceRefunded {
			request: id,
			amount: fee(1),
			reason: RefundReason::Timeout
		}));
	});
}

#[test]
fn three_workers_that_agree_share_the_execution_fee() {
	run(|model| {
		let (id, workers) = committed(model, &[0, 0, 0]);
		assert_eq!(Requests::<Test>::get(id).expect("running").phase, Phase::Reveal);
		assert_eq!(
			events().last(),
			Some(&Event::RevealStarted { request: id, deadline: 1 + REVEAL_TIMEOUT })
		);
		for worker in &workers {
			reveal(id, *worker, 0);
		}
		let output_hash = sp_io::hashing::blake2_256(&output(0));
		assert_eq!(outcome(id), Outcome::Settled { output_hash });
		let execution = fee(3) - PRICE;
		let to_workers = execution - execution / 10 - execution / 20;
		let earned: Vec<Balance> =
			workers.iter().map(|w| WorkerUsage::<Test>::get(w).earnings).collect();
		assert_eq!(earned.iter().sum::<Balance>(), to_workers);
		assert!(earned.iter().all(|e| *e >= to_workers / 3));
		assert!(workers.iter().all(|w| bond(*w) == BOND));
		assert_eq!(escrow(REQUESTER), 0);
	});
}

#[test]
fn the_majority_settles_and_the_liar_is_slashed() {
	run(|model| {
		let issuance = Balances::total_issuance();
		let (id, workers) = committed(model, &[0, 7, 0]);
		let liar = workers[1];
		for worker in &workers {
			reveal(id, *worker, if *worker == liar { 7 } else { 0 });
		}
		let output_hash = sp_io::hashing::blake2_256(&output(0));
		assert_eq!(outcome(id), Outcome::Settled { output_hash });
		assert_eq!(bond(liar), slashed_once(3));
		assert_eq!(WorkerUsage::<Test>::get(liar).earnings, 0);
		assert_eq!(WorkerUsage::<Test>::get(liar).slashes, 1);
		for honest in workers.iter().filter(|w| **w != liar) {
			assert_eq!(bond(*honest), BOND);
			assert!(WorkerUsage::<Test>::get(honest).earnings > 0);
		}
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn no_majority_refunds_and_slashes_nobody() {
	run(|model| {
		let (id, workers) = committed(model, &[0, 1, 2]);
		for (variant, worker) in workers.iter().enumerate() {
			reveal(id, *worker, variant as u8);
		}
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::NoMajority });
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
		assert!(workers.iter().all(|w| bond(*w) == BOND));
	});
}

#[test]
fn a_worker_absent_at_commit_is_slashed_and_the_rest_settle() {
	run(|model| {
		let id = request(model, 3);
		let workers = workers_of(id);
		commit(id, workers[0], 0);
		commit(id, workers[1], 0);
		run_to(1 + COMMIT_TIMEOUT);
		let stored = Requests::<Test>::get(id).expect("running");
		assert_eq!(stored.phase, Phase::Reveal);
		assert_eq!(stored.slots[2].state, SlotState::Absent);
		assert_eq!(bond(workers[2]), slashed_once(3));
		reveal(id, workers[0], 0);
		reveal(id, workers[1], 0);
		assert!(matches!(outcome(id), Outcome::Settled { .. }));
		assert_eq!(WorkerUsage::<Test>::get(workers[2]).earnings, 0);
		assert_eq!(escrow(REQUESTER), 0);
	});
}

#[test]
fn a_worker_absent_at_reveal_is_slashed_and_the_majority_settles_at_the_deadline() {
	run(|model| {
		let (id, workers) = committed(model, &[0, 0, 0]);
		reveal(id, workers[0], 0);
		reveal(id, workers[1], 0);
		assert!(Requests::<Test>::get(id).is_some());
		run_to(1 + REVEAL_TIMEOUT);
		assert!(matches!(outcome(id), Outcome::Settled { .. }));
		assert_eq!(bond(workers[2]), slashed_once(3));
		assert_eq!(bond(workers[0]), BOND);
	});
}

#[test]
fn too_few_commits_refund_and_slash_the_absent() {
	run(|model| {
		let id = request(model, 3);
		let workers = workers_of(id);
		commit(id, workers[0], 0);
		run_to(1 + COMMIT_TIMEOUT);
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::NoQuorum });
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
		assert_eq!(bond(workers[0]), BOND);
		assert_eq!(bond(workers[1]), slashed_once(3));
		assert_eq!(bond(workers[2]), slashed_once(3));
	});
}

#[test]
fn commit_and_reveal_failure_paths() {
	run(|model| {
		let signed = RuntimeOrigin::signed;
		let single = request(model, 1);
		let lone = workers_of(single)[0];
		assert_noop!(
			Inference::commit_result(signed(lone), single, [0; 32]),
			Error::<Test>::SubmitResultRequired
		);
		assert_noop!(
			Inference::reveal_result(signed(lone), single, output(0), salt(lone), [0; 64]),
			Error::<Test>::SubmitResultRequired
		);

		let id = request(model, 3);
		let workers = workers_of(id);
		assert_noop!(
			Inference::commit_result(signed(REQUESTER), id, [0; 32]),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Inference::reveal_result(signed(workers[0]), id, output(0), salt(workers[0]), [0; 64]),
			Error::<Test>::NotInRevealPhase
		);
		commit(id, workers[0], 0);
		assert_noop!(
			Inference::commit_result(signed(workers[0]), id, [0; 32]),
			Error::<Test>::AlreadyCommitted
		);
		commit(id, workers[1], 0);
		commit(id, workers[2], 0);
		assert_noop!(
			Inference::commit_result(signed(workers[0]), id, [0; 32]),
			Error::<Test>::NotInCommitPhase
		);
		let out = output(0);
		let signature = sign(id, workers[0], &out);
		assert_noop!(
			Inference::reveal_result(signed(REQUESTER), id, out.clone(), salt(3), signature),
			Error::<Test>::NotCommitted
		);
		assert_noop!(
			Inference::reveal_result(signed(workers[0]), id, out.clone(), [0; 32], signature),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(
			Inference::reveal_result(
				signed(workers[0]),
				id,
				output(3),
				salt(workers[0]),
				signature
			),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(
			Inference::reveal_result(
				signed(workers[0]),
				id,
				out.clone(),
				salt(workers[0]),
				[1; 64]
			),
			Error::<Test>::InvalidAttestation
		);
		reveal(id, workers[0], 0);
		assert_noop!(
			Inference::reveal_result(signed(workers[0]), id, out, salt(workers[0]), signature),
			Error::<Test>::NotCommitted
		);
	});
}

#[test]
fn a_failure_report_reassigns_and_one_unchecked_result_does_not_condemn_it() {
	run(|model| {
		let id = request(model, 1);
		let first = workers_of(id)[0];
		run_to(3);
		assert_ok!(Inference::report_failure(
			RuntimeOrigin::signed(first),
			id,
			FailureReason::ModelUnavailable
		));
		let second = workers_of(id)[0];
		assert_ne!(first, second);
		let stored = Requests::<Test>::get(id).expect("running");
		assert_eq!(stored.deadline, 3 + RESULT_TIMEOUT);
		assert_eq!(stored.replaced.into_inner(), vec![(first, FailureReason::ModelUnavailable)]);
		assert!(!Assignments::<Test>::contains_key(first, id));
		assert!(Assignments::<Test>::contains_key(second, id));
		assert!(events().contains(&Event::JobReassigned {
			request: id,
			from: first,
			to: second,
			deadline: 3 + RESULT_TIMEOUT
		}));
		// The old deadline passes without effect.
		run_to(1 + RESULT_TIMEOUT);
		assert!(Requests::<Test>::get(id).is_some());
		// The publisher's own worker may be the only one that can read the artifact (a
		// `file://` URI, a URL that answers one client): one worker's result proves nothing
		// about the honest reporter.
		assert_ok!(submit(id, second, 0));
		assert!(matches!(outcome(id), Outcome::Settled { .. }));
		assert_eq!(bond(first), BOND);
		assert_eq!(WorkerUsage::<Test>::get(first).slashes, 0);
		assert_eq!(bond(second), BOND);
		assert_eq!(Workers::<Test>::get(first).expect("worker").pending_jobs, 0);
		// The reporter said it cannot get the model: it is no longer drawn for it.
		assert!(!pallet_verification::ReadyWorkers::<Test>::contains_key((model, 1), first));
		for _ in 0..6 {
			let id = request(model, 1);
			assert_ne!(workers_of(id)[0], first);
		}
	});
}

#[test]
fn failures_beyond_the_reassignment_bound_refund() {
	run(|model| {
		let id = request(model, 1);
		let mut reporters = Vec::new();
		for _ in 0..3 {
			let worker = workers_of(id)[0];
			reporters.push(worker);
			assert_ok!(Inference::report_failure(
				RuntimeOrigin::signed(worker),
				id,
				FailureReason::ExecutionError
			));
		}
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::WorkersFailed });
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
		assert!(reporters.iter().all(|w| bond(*w) == BOND));
		assert!(reporters.iter().all(|w| Workers::<Test>::get(w).expect("w").pending_jobs == 0));
		assert_noop!(
			Inference::report_failure(
				RuntimeOrigin::signed(reporters[0]),
				id,
				FailureReason::ExecutionError
			),
			Error::<Test>::RequestNotFound
		);
	});
}

#[test]
fn a_failure_with_no_other_worker_refunds() {
	run_with(1, |model| {
		let id = request(model, 1);
		assert_ok!(Inference::report_failure(
			RuntimeOrigin::signed(WORKER),
			id,
			FailureReason::InvalidModel
		));
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::WorkersFailed });
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
	});
}

#[test]
fn a_failed_slot_in_a_redundant_request_is_slashed_when_the_majority_succeeds() {
	run(|model| {
		let id = request(model, 3);
		let workers = workers_of(id);
		let signed = RuntimeOrigin::signed;
		assert_noop!(
			Inference::report_failure(signed(REQUESTER), id, FailureReason::InvalidInput),
			Error::<Test>::NotAssigned
		);
		// Only three workers: no replacement, the slot fails.
		assert_ok!(Inference::report_failure(signed(workers[2]), id, FailureReason::InvalidInput));
		assert_eq!(
			Requests::<Test>::get(id).expect("running").slots[2].state,
			SlotState::Failed(FailureReason::InvalidInput)
		);
		commit(id, workers[0], 0);
		commit(id, workers[1], 0);
		assert_noop!(
			Inference::report_failure(signed(workers[0]), id, FailureReason::InvalidInput),
			Error::<Test>::NotAssigned
		);
		reveal(id, workers[0], 0);
		reveal(id, workers[1], 0);
		assert!(matches!(outcome(id), Outcome::Settled { .. }));
		// Two workers agreeing verify the result: the report is contradicted.
		assert_eq!(bond(workers[2]), slashed_once(3));
	});
}

#[test]
fn a_worker_with_a_job_cannot_leave_until_it_ends() {
	run_with(1, |model| {
		let id = request(model, 1);
		assert_noop!(
			Pool::unregister_worker(RuntimeOrigin::signed(WORKER)),
			pallet_verification::Error::<Test>::WorkerHasPendingJobs
		);
		assert_ok!(submit(id, WORKER, 0));
		assert_ok!(Pool::unregister_worker(RuntimeOrigin::signed(WORKER)));
	});
}

#[test]
fn split_reveals_without_a_majority_at_the_deadline_refund() {
	run(|model| {
		let (id, workers) = committed(model, &[0, 1, 2]);
		reveal(id, workers[0], 0);
		reveal(id, workers[1], 1);
		run_to(1 + REVEAL_TIMEOUT);
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::NoMajority });
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
		assert_eq!((bond(workers[0]), bond(workers[1])), (BOND, BOND));
		assert_eq!(bond(workers[2]), slashed_once(3));
	});
}

#[test]
fn a_single_reveal_at_the_deadline_is_no_quorum() {
	run(|model| {
		let (id, workers) = committed(model, &[0, 0, 0]);
		reveal(id, workers[0], 0);
		run_to(1 + REVEAL_TIMEOUT);
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::NoQuorum });
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
		assert_eq!(bond(workers[0]), BOND);
		assert_eq!(bond(workers[1]), slashed_once(3));
	});
}

#[test]
fn a_payout_that_cannot_create_an_account_returns_to_the_payer() {
	run(|_| {
		ExistentialDeposit::set(50);
		for protocol in [TREASURY, VALIDATOR_POT] {
			<Balances as frame_support::traits::fungible::Mutate<_>>::set_balance(&protocol, 1_000);
		}
		// A beneficiary with no account would get 30% of 100 = 30, below the deposit of 50.
		let newcomer = 777;
		let model = pallet_model_registry::testing::publish::<Test>(
			OWNER,
			100,
			vec![
				(OWNER, sp_runtime::Permill::from_percent(70)),
				(newcomer, sp_runtime::Permill::from_percent(30)),
			],
			None,
			schema(),
			16,
		)
		.expect("publishes");
		for worker in WORKER..WORKER + 3 {
			declare_ready(worker, model);
		}
		let total = total_balances();
		let id = NextRequestId::<Test>::get();
		let fee = 100 + BASE_FEE + PER_BYTE * input().len() as Balance;
		assert_ok!(Inference::request_inference(
			RuntimeOrigin::signed(REQUESTER),
			model,
			input(),
			fee,
			1
		));
		assert_ok!(submit(id, workers_of(id)[0], 0));
		assert_eq!(Balances::total_balance(&newcomer), 0);
		assert_eq!(escrow(REQUESTER), 0);
		assert_eq!(free(REQUESTER), INITIAL_BALANCE - fee + 30);
		assert_eq!(total_balances(), total);
		ExistentialDeposit::set(1);
	});
}

#[test]
fn results_are_pruned_after_the_retention_in_request_order() {
	run(|model| {
		let first = request(model, 1);
		let second = request(model, 1);
		assert_ok!(submit(second, workers_of(second)[0], 0));
		run_to(1 + RETENTION);
		// `first` is still running, so `second` waits behind it.
		assert!(Results::<Test>::contains_key(second));
		assert_eq!(PruneCursor::<Test>::get(), 0);
		assert!(Results::<Test>::contains_key(first) || Requests::<Test>::contains_key(first));
		// `first` timed out at block 6; both go once it is 10 blocks old.
		run_to(1 + RESULT_TIMEOUT + RETENTION - 1);
		assert!(Results::<Test>::contains_key(first));
		run_to(1 + RESULT_TIMEOUT + RETENTION);
		assert!(!Results::<Test>::contains_key(first));
		assert!(!Results::<Test>::contains_key(second));
		assert_eq!(PruneCursor::<Test>::get(), 2);
	});
}

#[test]
fn epochs_list_a_bounded_number_of_models_and_are_pruned() {
	run(|model| {
		let second = publish_model();
		let third = publish_model();
		let call = |called: u64| {
			let id = request(called, 1);
			assert_ok!(submit(id, workers_of(id)[0], 0));
		};
		for called in [model, model, second, model] {
			call(called);
		}
		// The list (two places) is full; a call to a third model replaces the lowest-standing
		// one, whose call moves to the unlisted ones, and inherits its standing.
		call(third);
		let totals = Epochs::<Test>::get(0);
		assert_eq!((totals.calls, totals.models, totals.unlisted_calls), (5, 2, 1));
		assert_eq!(totals.royalties, 5 * PRICE);
		assert_eq!(EpochModelCalls::<Test>::get(0, model).calls, 3);
		assert!(!EpochModelCalls::<Test>::contains_key(0, second));
		let usage = EpochModelCalls::<Test>::get(0, third);
		assert_eq!((usage.calls, usage.inherited, usage.standing()), (1, 1, 2));
		assert_eq!(totals.lowest, 2);
		// However many other models were called first, one in demand comes back: the most
		// called model was never replaced.
		call(second);
		let totals = Epochs::<Test>::get(0);
		assert_eq!((totals.calls, totals.unlisted_calls, totals.lowest), (6, 2, 3));
		assert!(!EpochModelCalls::<Test>::contains_key(0, third));
		assert_eq!(EpochModelCalls::<Test>::get(0, second).standing(), 3);
		assert_eq!(EpochModelCalls::<Test>::get(0, model).calls, 3);
		assert_eq!(Registry::call_terms(third).map(|t| t.price), Ok(PRICE));
		run_to(2 * EPOCH - 1);
		assert_eq!(Epochs::<Test>::get(0).calls, 6);
		run_to(2 * EPOCH);
		assert_eq!(Epochs::<Test>::get(0), EpochTotals::default());
		assert!(!EpochModelCalls::<Test>::contains_key(0, model));
		assert_eq!(EpochStandings::<Test>::iter_keys().count(), 0);
	});
}

#[test]
fn junk_calls_cannot_push_a_model_in_demand_out_of_the_epoch_list() {
	run(|model| {
		// Two places; the first calls of the epoch go to two junk models.
		let junk = [publish_model(), publish_model()];
		let newcomers = [publish_model(), publish_model(), publish_model()];
		for called in junk {
			let id = request(called, 1);
			assert_ok!(submit(id, workers_of(id)[0], 0));
		}
		// The model in demand arrives late, and junk calls to ever new models keep coming.
		for round in 0..6 {
			let id = request(model, 1);
			assert_ok!(submit(id, workers_of(id)[0], 0));
			let other = newcomers[round % newcomers.len()];
			let id = request(other, 1);
			assert_ok!(submit(id, workers_of(id)[0], 0));
		}
		let listed = EpochModelCalls::<Test>::get(0, model);
		assert!(EpochModelCalls::<Test>::contains_key(0, model));
		assert_eq!(listed.calls, 6);
		let totals = Epochs::<Test>::get(0);
		assert_eq!(totals.calls, 14);
		assert_eq!(totals.models, 2);
	});
}

/// A small deterministic generator for the property test.
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}

	fn below(&mut self, n: u64) -> u64 {
		self.next() % n
	}
}

#[test]
fn random_lifecycles_conserve_funds_and_end_every_hold() {
	let (settled, refunded) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
	for seed in 1..=40u64 {
		run_with(WORKERS, |model| {
			let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
			let total = total_balances();
			let issuance = Balances::total_issuance();
			for _ in 0..60 {
				match rng.below(6) {
					0 | 1 => {
						let k = [1, 3, 5][rng.below(3) as usize];
						let _ = Inference::request_inference(
							RuntimeOrigin::signed(REQUESTER),
							model,
							input(),
							fee(k),
							k,
						);
					},
					2 | 3 => {
						let running: Vec<RequestId> = Requests::<Test>::iter_keys().collect();
						if running.is_empty() {
							continue;
						}
						let id = running[rng.below(running.len() as u64) as usize];
						let stored = Requests::<Test>::get(id).expect("running");
						let slot = &stored.slots[rng.below(stored.slots.len() as u64) as usize];
						let worker = slot.worker;
						let variant = (rng.below(4) == 0) as u8;
						let _ = match (stored.phase, slot.state) {
							(Phase::Running, SlotState::Assigned) => submit(id, worker, variant),
							(Phase::Commit, SlotState::Assigned) => Inference::commit_result(
								RuntimeOrigin::signed(worker),
								id,
								commitment(id, worker, &output(variant)),
							),
							(Phase::Reveal, SlotState::Committed(_)) => {
								let out = output(0);
								let signature = sign(id, worker, &out);
								Inference::reveal_result(
									RuntimeOrigin::signed(worker),
									id,
									out,
									salt(worker),
									signature,
								)
							},
							_ => Ok(().into()),
						};
					},
					4 => {
						let running: Vec<RequestId> = Requests::<Test>::iter_keys().collect();
						if let Some(id) = running.first() {
							let worker = workers_of(*id)[0];
							let _ = Inference::report_failure(
								RuntimeOrigin::signed(worker),
								*id,
								FailureReason::ExecutionError,
							);
						}
					},
					_ => run_to(System::block_number() + 1 + rng.below(3)),
				}
				assert_eq!(total_balances(), total, "seed {seed}");
				check_invariants();
			}
			run_to(System::block_number() + 2 * (COMMIT_TIMEOUT + REVEAL_TIMEOUT) + 20);
			assert_eq!(Requests::<Test>::iter().count(), 0, "seed {seed}");
			assert_eq!(escrow(REQUESTER), 0, "seed {seed}");
			assert_eq!(total_balances(), total, "seed {seed}");
			assert_eq!(Balances::total_issuance(), issuance, "seed {seed}");
			assert!(funded()
				.iter()
				.all(|w| Workers::<Test>::get(w).map_or(0, |i| i.pending_jobs) == 0));

			// Every request ended once, and every settlement paid out exactly its fee.
			let mut fees = std::collections::BTreeMap::new();
			let mut ended = std::collections::BTreeMap::new();
			for event in events() {
				match event {
					Event::InferenceRequested { request, fee, .. } => {
						fees.insert(request, fee);
					},
					Event::InferenceSettled { request, payouts, .. } => {
						let paid: Balance = payouts.iter().map(|(_, amount)| amount).sum();
						assert_eq!(Some(&paid), fees.get(&request), "seed {seed}");
						*ended.entry(request).or_insert(0) += 1;
						settled.set(settled.get() + 1);
					},
					Event::InferenceRefunded { request, amount, .. } => {
						assert_eq!(Some(&amount), fees.get(&request), "seed {seed}");
						*ended.entry(request).or_insert(0) += 1;
						refunded.set(refunded.get() + 1);
					},
					_ => {},
				}
			}
			assert_eq!(fees.len(), ended.len(), "seed {seed}");
			assert!(ended.values().all(|count| *count == 1), "seed {seed}");
		});
	}
	// The sequences reach both endings many times.
	assert!(
		settled.get() > 100 && refunded.get() > 100,
		"{settled:?} settled, {refunded:?} refunded"
	);
}

// ---- Agreement within the model's tolerance (default rule: 5e-6 of the largest magnitude
// plus 5e-5 of each element, fraud beyond 100 times that). ----

/// An output `[0.5, 1.5 + delta]`, canonical at the model's 16 rounding bits for the deltas used.
fn near(delta: f32) -> Vec<u8> {
	tensors("y", &[0.5, 1.5 + delta])
}

/// One 16-bit step at 1.5: within tolerance of `near(0.0)`.
const STEP: f32 = 1.0 / 65_536.0;
/// 2^-10 at 1.5: beyond tolerance (8.25e-5 there), within 100 times it.
const GREY: f32 = 1.0 / 1_024.0;

/// A request at redundancy `outputs.len()` whose `i`-th worker committed to and revealed
/// `outputs[i]`, in order.
fn revealed(model: u64, outputs: &[Vec<u8>]) -> (RequestId, Vec<AccountId>) {
	let id = request(model, outputs.len() as u32);
	let workers = workers_of(id);
	for (worker, out) in workers.iter().zip(outputs) {
		assert_ok!(Inference::commit_result(signed(*worker), id, commitment(id, *worker, out)));
	}
	for (worker, out) in workers.iter().zip(outputs) {
		let signature = sign(id, *worker, out);
		assert_ok!(Inference::reveal_result(
			signed(*worker),
			id,
			out.clone(),
			salt(*worker),
			signature
		));
	}
	(id, workers)
}

fn signed(who: AccountId) -> RuntimeOrigin {
	RuntimeOrigin::signed(who)
}

fn paid(worker: AccountId) -> bool {
	WorkerUsage::<Test>::get(worker).earnings > 0
}

/// Nothing minted or burned, nothing left in escrow, the pallet's invariants hold.
fn money_is_conserved(issuance: Balance) {
	assert_eq!(Balances::total_issuance(), issuance);
	assert_eq!(escrow(REQUESTER), 0);
	check_invariants();
}

#[test]
fn outputs_within_tolerance_settle_and_the_liar_beyond_the_margin_is_slashed() {
	run(|model| {
		let issuance = Balances::total_issuance();
		let (a, b) = (near(0.0), near(STEP));
		let (id, workers) = revealed(model, &[a.clone(), b.clone(), near(1.0)]);
		// No two hashes are equal; the first two agree within tolerance. They tie, so the
		// smaller hash is the result.
		let hashes = [sp_io::hashing::blake2_256(&a), sp_io::hashing::blake2_256(&b)];
		let output_hash = hashes[0].min(hashes[1]);
		assert_eq!(outcome(id), Outcome::Settled { output_hash });
		assert_eq!(
			Results::<Test>::get(id).expect("ended").output.into_inner(),
			if output_hash == hashes[0] { a } else { b }
		);
		assert!(paid(workers[0]) && paid(workers[1]));
		assert_eq!((bond(workers[0]), bond(workers[1])), (BOND, BOND));
		assert!(!paid(workers[2]));
		assert_eq!(bond(workers[2]), slashed_once(3));
		assert!(events().iter().any(|event| matches!(
			event,
			Event::InferenceSettled { workers: paid, .. } if *paid == vec![workers[0], workers[1]]
		)));
		money_is_conserved(issuance);
	});
}

#[test]
fn a_minority_within_tolerance_of_an_exact_majority_is_paid() {
	run(|model| {
		let issuance = Balances::total_issuance();
		let (id, workers) = revealed(model, &[near(0.0), near(STEP), near(0.0)]);
		let output_hash = sp_io::hashing::blake2_256(&near(0.0));
		assert_eq!(outcome(id), Outcome::Settled { output_hash });
		assert!(workers.iter().all(|worker| paid(*worker) && bond(*worker) == BOND));
		money_is_conserved(issuance);
	});
}

#[test]
fn a_worker_in_the_grey_zone_is_unpaid_and_keeps_its_bond() {
	run(|model| {
		let issuance = Balances::total_issuance();
		let (id, workers) = revealed(model, &[near(0.0), near(0.0), near(GREY)]);
		let output_hash = sp_io::hashing::blake2_256(&near(0.0));
		assert_eq!(outcome(id), Outcome::Settled { output_hash });
		assert!(paid(workers[0]) && paid(workers[1]));
		assert!(!paid(workers[2]));
		assert_eq!(bond(workers[2]), BOND);
		assert_eq!(WorkerUsage::<Test>::get(workers[2]).slashes, 0);
		assert!(events().contains(&Event::WorkerUnpaid {
			request: id,
			worker: workers[2],
			output_hash: sp_io::hashing::blake2_256(&near(GREY)),
		}));
		// The two paid workers share the workers' part of the execution fee.
		let execution = fee(3) - PRICE;
		let to_workers = execution - execution / 10 - execution / 20;
		assert_eq!(
			WorkerUsage::<Test>::get(workers[0]).earnings
				+ WorkerUsage::<Test>::get(workers[1]).earnings,
			to_workers
		);
		money_is_conserved(issuance);
	});
}

#[test]
fn outputs_no_two_of_which_agree_refund_in_full_and_slash_nobody() {
	run(|model| {
		let issuance = Balances::total_issuance();
		// Each pair is beyond the tolerance but within the fraud margin.
		let (id, workers) = revealed(model, &[near(0.0), near(GREY), near(-GREY)]);
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::NoMajority });
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
		assert!(workers.iter().all(|worker| bond(*worker) == BOND && !paid(*worker)));
		money_is_conserved(issuance);
	});
}

#[test]
fn a_reveal_that_does_not_match_its_commitment_is_refused_and_slashed_at_the_deadline() {
	run(|model| {
		let issuance = Balances::total_issuance();
		let id = request(model, 3);
		let workers = workers_of(id);
		for worker in &workers {
			assert_ok!(Inference::commit_result(
				signed(*worker),
				id,
				commitment(id, *worker, &near(0.0))
			));
		}
		// The third reveals an output within tolerance, but not the one it committed to.
		let other = near(STEP);
		let signature = sign(id, workers[2], &other);
		assert_noop!(
			Inference::reveal_result(signed(workers[2]), id, other, salt(workers[2]), signature),
			Error::<Test>::CommitmentMismatch
		);
		for worker in &workers[..2] {
			let out = near(0.0);
			let signature = sign(id, *worker, &out);
			assert_ok!(Inference::reveal_result(
				signed(*worker),
				id,
				out,
				salt(*worker),
				signature
			));
		}
		run_to(1 + REVEAL_TIMEOUT);
		assert!(matches!(outcome(id), Outcome::Settled { .. }));
		assert_eq!(bond(workers[2]), slashed_once(3));
		assert!(paid(workers[0]) && paid(workers[1]) && !paid(workers[2]));
		money_is_conserved(issuance);
	});
}

// ---- Disagreement escalates; deadlines never fail and stay within their weight. ----

#[test]
fn a_lone_liar_at_redundancy_two_is_slashed_after_escalation() {
	run_with(5, |model| {
		let issuance = Balances::total_issuance();
		let (id, workers) = revealed(model, &[output(0), output(7)]);
		let liar = workers[1];
		// One against one: a third worker is drawn and the request takes its commitment.
		let stored = Requests::<Test>::get(id).expect("escalated");
		assert_eq!(stored.redundancy, 3);
		assert_eq!(stored.phase, Phase::Commit);
		let third = stored.slots[2].worker;
		assert!(!workers.contains(&third));
		assert!(events().contains(&Event::DisagreementEscalated {
			request: id,
			workers: vec![third],
			redundancy: 3,
			deadline: 1 + COMMIT_TIMEOUT,
		}));
		// The first two cannot commit or reveal again.
		assert_noop!(
			Inference::commit_result(
				signed(workers[0]),
				id,
				commitment(id, workers[0], &output(0))
			),
			Error::<Test>::NotAssigned
		);
		commit(id, third, 0);
		assert_eq!(Requests::<Test>::get(id).expect("running").phase, Phase::Reveal);
		reveal(id, third, 0);
		let output_hash = sp_io::hashing::blake2_256(&output(0));
		assert_eq!(outcome(id), Outcome::Settled { output_hash });
		assert_eq!(bond(liar), slashed_once(2));
		assert!(!paid(liar));
		assert!(paid(workers[0]) && paid(third));
		assert_eq!((bond(workers[0]), bond(third)), (BOND, BOND));
		assert!(funded()
			.iter()
			.all(|w| Workers::<Test>::get(w).map_or(0, |i| i.pending_jobs) == 0));
		money_is_conserved(issuance);
	});
}

#[test]
fn an_escalation_that_finds_no_worker_refunds_and_slashes_nobody() {
	run_with(2, |model| {
		let issuance = Balances::total_issuance();
		let (id, workers) = revealed(model, &[output(0), output(7)]);
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::NoMajority });
		assert!(workers.iter().all(|w| bond(*w) == BOND));
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
		money_is_conserved(issuance);
	});
}

#[test]
fn an_escalated_request_whose_new_worker_is_silent_refunds_and_slashes_it() {
	run_with(3, |model| {
		let (id, workers) = revealed(model, &[output(0), output(7)]);
		let third = Requests::<Test>::get(id).expect("escalated").slots[2].worker;
		run_to(1 + COMMIT_TIMEOUT);
		// Two of three still in, but they disagree: no majority can form without the third.
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::NoMajority });
		assert_eq!(bond(third), slashed_once(2));
		assert!(workers.iter().all(|w| bond(*w) == BOND));
		assert_eq!(free(REQUESTER), INITIAL_BALANCE);
	});
}

#[test]
fn transitions_never_fail_however_many_deadlines_share_a_block() {
	run_with(5, |model| {
		let issuance = Balances::total_issuance();
		// Eight redundant requests in one block (as many as five workers of capacity eight
		// surely take): every commit deadline falls in one block, and so does every reveal
		// deadline once they all commit, twice what one block handles.
		let ids: Vec<RequestId> = (0..8).map(|_| request(model, 3)).collect();
		assert_eq!(Deadlines::<Test>::iter_key_prefix(1 + COMMIT_TIMEOUT).count(), 8);
		for id in &ids {
			for worker in workers_of(*id) {
				commit(*id, worker, 0);
			}
		}
		assert_eq!(Deadlines::<Test>::iter_key_prefix(1 + COMMIT_TIMEOUT).count(), 0);
		assert_eq!(Deadlines::<Test>::iter_key_prefix(1 + REVEAL_TIMEOUT).count(), 8);
		// Every worker reveals in time for the first four; the rest see one worker silent.
		for id in &ids[..4] {
			for worker in workers_of(*id) {
				reveal(*id, worker, 0);
			}
		}
		for id in &ids[4..] {
			for worker in &workers_of(*id)[..2] {
				reveal(*id, *worker, 0);
			}
		}
		assert!(ids[..4].iter().all(|id| matches!(outcome(*id), Outcome::Settled { .. })));
		// The four missed deadlines are all handled, however many blocks that takes.
		run_to(1 + REVEAL_TIMEOUT + 4);
		assert!(ids.iter().all(|id| matches!(outcome(*id), Outcome::Settled { .. })));
		assert_eq!(Deadlines::<Test>::iter().count(), 0);
		money_is_conserved(issuance);
	});
}

#[test]
fn deadline_handling_stays_within_its_weight_and_resumes_oldest_first() {
	run_with(5, |model| {
		let issuance = Balances::total_issuance();
		// Room for one deadline at its costliest per block.
		DeadlinesPerBlock::set(1);
		let budget = DeadlineWeight::get();
		// Five requests whose fourth worker is silent: five commit deadlines in one block.
		let ids: Vec<RequestId> = (0..5)
			.map(|_| {
				let id = request(model, 4);
				for worker in &workers_of(id)[..3] {
					commit(id, *worker, 0);
				}
				id
			})
			.collect();
		let deadline = 1 + COMMIT_TIMEOUT;
		run_to(deadline - 1);
		let mut handled = Vec::new();
		for block in deadline..deadline + 5 {
			System::set_block_number(block);
			let used = Inference::on_initialize(block);
			assert!(used.all_lte(budget), "{used:?} above {budget:?}");
			let revealing = ids
				.iter()
				.filter(|id| Requests::<Test>::get(*id).expect("running").phase == Phase::Reveal)
				.count();
			handled.push(revealing);
		}
		// One per block, the oldest block first, none lost.
		assert_eq!(handled, vec![1, 2, 3, 4, 5]);
		// Nobody reveals: every request is refunded, its reveal deadline handled one per block
		// after the commit deadlines still waiting.
		run_to(deadline + 10 + REVEAL_TIMEOUT);
		assert!(ids
			.iter()
			.all(|id| outcome(*id) == Outcome::Refunded { reason: RefundReason::NoQuorum }));
		money_is_conserved(issuance);
	});
}

#[test]
fn the_deadline_weight_fits_the_costliest_deadline() {
	new_test_ext().execute_with(|| {
		let worst = Inference::max_expiry_weight();
		let settle = <() as crate::weights::WeightInfo>::settle(Inference::max_payouts());
		assert!(worst.all_gte(settle));
		assert!(DeadlineWeight::get().all_gte(Inference::deadline_weight_for(1)));
	});
}

#[test]
fn the_pool_refuses_a_request_that_would_fail_keeps_one_waiting_for_busy_workers_and_passes_other_calls(
) {
	use crate::CheckInferenceRequest;
	use frame_support::dispatch::DispatchInfo;
	use modelhub_primitives::api::RequestError;
	use sp_runtime::{
		traits::DispatchTransaction,
		transaction_validity::{InvalidTransaction, TransactionSource, TransactionValidityError},
	};
	run(|model| {
		let validate = |who: AccountId, call: RuntimeCall| {
			CheckInferenceRequest::<Test>::new()
				.validate_only(
					Some(who).into(),
					&call,
					&DispatchInfo::default(),
					0,
					TransactionSource::External,
					0,
				)
				.map(|_| ())
		};
		let request = |model: u64, max_fee: Balance, redundancy: u32| {
			RuntimeCall::Inference(Call::request_inference {
				model,
				input: input(),
				max_fee,
				redundancy,
			})
		};
		let refused = |code: RequestError| {
			Err(TransactionValidityError::Invalid(InvalidTransaction::Custom(code.code())))
		};
		assert_eq!(validate(REQUESTER, request(model, fee(1), 1)), Ok(()));
		assert_eq!(
			validate(REQUESTER, request(model + 1, fee(1), 1)),
			refused(RequestError::ModelNotFound)
		);
		assert_eq!(
			validate(REQUESTER, request(model, fee(1) - 1, 1)),
			refused(RequestError::FeeAboveMax)
		);
		assert_eq!(
			validate(REQUESTER, request(model, fee(4), 4)),
			refused(RequestError::NotEnoughWorkers)
		);
		assert_eq!(
			validate(PAUPER, request(model, fee(1), 1)),
			refused(RequestError::InsufficientBalance)
		);
		// Busy workers: the pool keeps the request for a result timeout at a time, a block
		// author leaves it for a later block, and the call alone fails.
		for _ in 0..3 * 8 {
			self::request(model, 1);
		}
		let busy = request(model, fee(1), 1);
		let validity = |source| {
			CheckInferenceRequest::<Test>::new()
				.validate_only(
					Some(REQUESTER).into(),
					&busy,
					&DispatchInfo::default(),
					0,
					source,
					0,
				)
				.map(|(valid, ..)| valid.longevity)
		};
		assert_eq!(validity(TransactionSource::External), Ok(RESULT_TIMEOUT));
		assert_eq!(
			validity(TransactionSource::InBlock),
			Err(TransactionValidityError::Invalid(InvalidTransaction::ExhaustsResources))
		);
		assert_eq!(
			validate(PAUPER, request(model, fee(1), 1)),
			refused(RequestError::InsufficientBalance)
		);
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(REQUESTER),
				model,
				input(),
				fee(1),
				1
			),
			Error::<Test>::WorkersBusy
		);
		for worker in WORKER..WORKER + 3 {
			assert_ok!(Pool::withdraw_ready(RuntimeOrigin::signed(worker), model, 1));
		}
		assert_eq!(
			validate(REQUESTER, request(model, fee(1), 1)),
			refused(RequestError::NoReadyWorker)
		);
		// Other calls pass unchecked; so does an unsigned origin, which the call refuses.
		let other = RuntimeCall::Inference(Call::report_failure {
			request: 7,
			reason: FailureReason::ExecutionError,
		});
		assert_eq!(validate(WORKER, other), Ok(()));
		// The codes are the errors' indices, as clients decode them.
		assert_eq!(RequestError::ModelNotFound.code(), 0);
		assert_eq!(RequestError::NoReadyWorker.code(), 9);
		assert_eq!(RequestError::WorkersBusy.code(), 10);
	});
}

/// What a worker in the randomized test does with its jobs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Behaviour {
	/// Answers with the true output at once.
	Honest,
	/// Answers with the true output in the last block before the deadline.
	Slow,
	/// Answers with its own wrong output.
	Liar(u8),
	/// Never answers.
	Silent,
	/// Reports every job as failed and declares the model ready again.
	Failing,
}

/// The models of the randomized test: each active one's current version is declared ready by
/// every worker, stale declarations withdrawn, as `modelhub-worker` keeps them.
fn keep_ready(workers: &[AccountId]) {
	use pallet_model_registry::{ModelStatus, Models};
	for worker in workers {
		let declared = pallet_verification::Readiness::<Test>::get(worker);
		for (model, version) in declared.iter().copied() {
			let current = Models::<Test>::get(model)
				.is_some_and(|info| info.status == ModelStatus::Active && info.version == version);
			if !current {
				assert_ok!(Pool::withdraw_ready(RuntimeOrigin::signed(*worker), model, version));
			}
		}
		for (model, info) in Models::<Test>::iter() {
			let ready = pallet_verification::ReadyWorkers::<Test>::contains_key(
				(model, info.version),
				worker,
			);
			if info.status == ModelStatus::Active && !ready {
				assert_ok!(Pool::declare_ready(
					RuntimeOrigin::signed(*worker),
					model,
					info.version
				));
			}
		}
	}
}

/// What `worker` does at the current block with its job in request `id`.
fn act(worker: AccountId, behaviour: Behaviour, id: RequestId) {
	let Some(request) = Requests::<Test>::get(id) else { return };
	let Some(slot) = request.slots.iter().find(|slot| slot.worker == worker) else { return };
	let now = System::block_number();
	let variant = match behaviour {
		Behaviour::Honest => 0,
		Behaviour::Slow if now + 1 >= request.deadline => 0,
		Behaviour::Slow | Behaviour::Silent => return,
		Behaviour::Liar(variant) => variant,
		Behaviour::Failing => {
			if slot.state == SlotState::Assigned && request.phase != Phase::Reveal {
				assert_ok!(Inference::report_failure(
					RuntimeOrigin::signed(worker),
					id,
					FailureReason::ModelUnavailable
				));
			}
			return;
		},
	};
	match (request.phase, slot.state) {
		(Phase::Running, SlotState::Assigned) => {
			assert_ok!(submit(id, worker, variant));
		},
		(Phase::Commit, SlotState::Assigned) => commit(id, worker, variant),
		(Phase::Reveal, SlotState::Committed(_)) => reveal(id, worker, variant),
		_ => {},
	}
}

/// One random change to the hub by its users: requests, and owners and moderation changing
/// models under running requests.
fn random_change(rng: &mut Rng) {
	use pallet_model_registry::{ModelStatus, Models, ParentLink};
	let models: Vec<u64> = Models::<Test>::iter_keys().collect();
	let Some(model) = models.get(rng.below(models.len().max(1) as u64) as usize).copied() else {
		let _ = pallet_model_registry::testing::publish::<Test>(
			OWNER,
			PRICE,
			vec![(OWNER, sp_runtime::Permill::one())],
			None,
			schema(),
			16,
		);
		return;
	};
	let owner = RuntimeOrigin::signed(OWNER);
	// Each may fail (a retired model, a full pool, a poor requester): a failed call changes
	// nothing, which the invariants after the block check.
	match rng.below(100) {
		0..=64 => {
			let requester = [REQUESTER, 4, 5, PAUPER][rng.below(4) as usize];
			let redundancy = 1 + rng.below(5) as u32;
			let max_fee = if rng.below(100) < 90 { Balance::MAX } else { fee(redundancy) - 1 };
			// Mostly calls to models that serve them; now and then one that does not.
			let active: Vec<u64> = Models::<Test>::iter()
				.filter(|(_, info)| info.status == ModelStatus::Active)
				.map(|(id, _)| id)
				.collect();
			let called = match active.get(rng.below(active.len().max(1) as u64) as usize) {
				Some(id) if rng.below(10) > 0 => *id,
				_ => model,
			};
			let _ = Inference::request_inference(
				RuntimeOrigin::signed(requester),
				called,
				input(),
				max_fee,
				redundancy,
			);
		},
		65..=76 => {
			let _ = Registry::set_price(owner, model, rng.below(3 * PRICE as u64) as Balance);
		},
		77..=83 => {
			let status = [ModelStatus::Paused, ModelStatus::Active][rng.below(2) as usize];
			let _ = Registry::set_status(owner, model, status);
		},
		84 => {
			let _ = Registry::set_status(owner, model, ModelStatus::Retired);
		},
		85 => {
			let _ = Registry::delist_model(RuntimeOrigin::root(), model);
		},
		86..=87 => {
			// Removing a retired model's records, once its requests have all ended.
			let _ = Registry::remove_model(owner, model);
		},
		88..=93 => {
			let _ = Registry::publish_version(
				owner,
				model,
				pallet_model_registry::testing::test_artifact::<Test>(),
				schema(),
				16,
				None,
			);
		},
		_ => {
			let parent = (rng.below(100) < 60)
				.then(|| ParentLink { model, share: sp_runtime::Permill::from_percent(20) });
			let _ = pallet_model_registry::testing::publish::<Test>(
				OWNER,
				PRICE,
				vec![
					(OWNER, sp_runtime::Permill::from_percent(50)),
					(CO_AUTHOR, sp_runtime::Permill::from_percent(50)),
				],
				parent,
				schema(),
				16,
			);
		},
	}
}

#[test]
fn random_hub_life_keeps_every_fee_held_once_and_never_slashes_an_honest_worker() {
	use frame_support::traits::fungible::Mutate;
	let cast = [
		Behaviour::Honest,
		Behaviour::Honest,
		Behaviour::Honest,
		Behaviour::Slow,
		Behaviour::Liar(1),
		Behaviour::Liar(2),
		Behaviour::Silent,
		Behaviour::Failing,
	];
	let workers: Vec<AccountId> = (0..cast.len() as u64).map(|i| WORKER + i).collect();
	// A chain fee is held with every fee, charged in part at settlement and returned in part.
	FeePerMillisecond::set(10);
	for seed in [1u64, 0x5eed, 0xdead_beef] {
		new_test_ext().execute_with(|| {
			for worker in &workers {
				if Balances::balance(worker) == 0 {
					assert_ok!(Balances::mint_into(worker, INITIAL_BALANCE));
				}
			}
			publish_model();
			for worker in &workers {
				register_worker(*worker);
			}
			let issuance = Balances::total_issuance();
			let mut rng = Rng(seed);
			let (mut requested, mut settled, mut refunded) = (0, 0, 0);
			let blocks = 700;
			for block in 0..blocks + 40 {
				// Quiet blocks at the end let every request end.
				if block < blocks {
					DeadlinesPerBlock::set(1 + rng.below(4) as u32);
					for _ in 0..rng.below(4) {
						random_change(&mut rng);
					}
				} else {
					DeadlinesPerBlock::set(4);
				}
				keep_ready(&workers);
				// Cheaters bond again after each slash, to keep being drawn.
				for worker in &workers {
					if Workers::<Test>::get(worker).is_some_and(|info| info.bond < BOND) {
						assert_ok!(Pool::update_worker(
							RuntimeOrigin::signed(*worker),
							Some(BOND),
							None,
							None
						));
					}
				}
				for (worker, behaviour) in workers.iter().zip(cast) {
					let jobs: Vec<RequestId> =
						Assignments::<Test>::iter_key_prefix(worker).collect();
					for id in jobs {
						act(*worker, behaviour, id);
					}
				}
				for event in events() {
					match event {
						Event::InferenceRequested { .. } => requested += 1,
						Event::InferenceSettled { .. } => settled += 1,
						Event::InferenceRefunded { .. } => refunded += 1,
						_ => {},
					}
				}
				System::reset_events();
				run_to(System::block_number() + 1);

				assert_eq!(Balances::total_issuance(), issuance, "seed {seed} block {block}");
				check_invariants();
				for (worker, behaviour) in workers.iter().zip(cast) {
					if matches!(behaviour, Behaviour::Honest | Behaviour::Slow) {
						let usage = WorkerUsage::<Test>::get(worker);
						assert_eq!(usage.slashes, 0, "honest {worker} slashed, seed {seed}");
					}
				}
			}
			for event in events() {
				match event {
					Event::InferenceSettled { .. } => settled += 1,
					Event::InferenceRefunded { .. } => refunded += 1,
					_ => {},
				}
			}
			assert_eq!(Requests::<Test>::iter().count(), 0, "seed {seed}: requests left open");
			assert_eq!(settled + refunded, requested, "seed {seed}");
			for requester in [REQUESTER, 4, 5] {
				assert_eq!(escrow(requester), 0);
			}
			// The cheaters paid: the liars and the silent worker were slashed.
			for (worker, behaviour) in workers.iter().zip(cast) {
				if matches!(behaviour, Behaviour::Liar(_) | Behaviour::Silent) {
					assert!(
						WorkerUsage::<Test>::get(worker).slashes > 0,
						"{behaviour:?} never paid"
					);
				}
			}
			println!(
				"seed {seed:#x}: {requested} requests, {settled} settled, {refunded} refunded over \
				 {blocks} blocks"
			);
		});
	}
}

// ---- The court: disputes of fast-path receipts. ----

/// `worker`'s receipt for a fast call of `model` on [`input`] that returned `out`, served at
/// the current block, and its attestation signature.
fn receipt(model: u64, worker: AccountId, out: &[u8]) -> (FastAttestation<AccountId>, [u8; 64]) {
	let terms = <Registry as ModelRegistry<AccountId, Balance>>::call_terms(model).expect("active");
	let receipt = FastAttestation {
		genesis_hash: Inference::genesis_hash(),
		channel: 7,
		call: 42,
		block: System::block_number() as u32,
		artifact_hash: terms.artifact_hash,
		input_hash: sp_io::hashing::blake2_256(&input()),
		output_hash: sp_io::hashing::blake2_256(out),
		worker,
	};
	let signature = key_of(worker).sign(&receipt.message()).0;
	(receipt, signature)
}

/// What the disputed call paid: the price and the execution fee of one call on [`input`].
fn disputed_fee() -> Balance {
	PRICE + BASE_FEE + PER_BYTE * input().len() as Balance
}

/// Disputes `receipt` as [`REQUESTER`] with `redundancy` fresh workers; returns the court
/// request.
fn dispute(
	model: u64,
	(receipt, signature): (FastAttestation<AccountId>, [u8; 64]),
	out: Vec<u8>,
	redundancy: u32,
) -> RequestId {
	let id = NextRequestId::<Test>::get();
	assert_ok!(Inference::dispute(
		signed(REQUESTER),
		model,
		receipt,
		signature,
		input(),
		out,
		fee(redundancy + 1),
		redundancy
	));
	id
}

/// Commits and reveals `out` for every fresh worker of court request `id`.
fn judge(id: RequestId, out: &[u8]) -> Vec<AccountId> {
	let fresh: Vec<AccountId> = Requests::<Test>::get(id)
		.expect("running")
		.slots
		.iter()
		.filter(|slot| slot.state == SlotState::Assigned)
		.map(|slot| slot.worker)
		.collect();
	for worker in &fresh {
		assert_ok!(Inference::commit_result(signed(*worker), id, commitment(id, *worker, out)));
	}
	for worker in &fresh {
		let signature = sign(id, *worker, out);
		assert_ok!(Inference::reveal_result(
			signed(*worker),
			id,
			out.to_vec(),
			salt(*worker),
			signature
		));
	}
	fresh
}

#[test]
fn a_disputed_wrong_answer_slashes_the_liar_and_compensates_the_disputer() {
	run_with(4, |model| {
		let issuance = Balances::total_issuance();
		let start = free(REQUESTER);
		let liar = WORKER;
		let lie = output(9);
		let id = dispute(model, receipt(model, liar, &lie), lie.clone(), 2);
		let request = Requests::<Test>::get(id).expect("running");
		assert_eq!(request.redundancy, 3);
		assert_eq!(request.phase, Phase::Commit);
		let lie_hash = sp_io::hashing::blake2_256(&lie);
		assert!(request
			.slots
			.iter()
			.any(|slot| slot.worker == liar && slot.state == SlotState::Revealed(lie_hash)));
		assert!(!Assignments::<Test>::contains_key(liar, id));
		assert_eq!(escrow(REQUESTER), fee(3));
		assert!(events().contains(&Event::ReceiptDisputed {
			request: id,
			worker: liar,
			channel: 7,
			call: 42
		}));
		// The accused cannot leave while the court sits.
		assert!(pallet_verification::Pallet::<Test>::unregister_worker(signed(liar)).is_err());

		let fresh = judge(id, &output(0));
		assert!(!fresh.contains(&liar));
		let truth = sp_io::hashing::blake2_256(&output(0));
		assert_eq!(outcome(id), Outcome::Settled { output_hash: truth });
		let owed = fee(3) + disputed_fee();
		assert_eq!(bond(liar), BOND - owed);
		assert!(events().contains(&Event::DisputeUpheld {
			request: id,
			worker: liar,
			slashed: owed,
			compensation: owed,
		}));
		// The disputer paid for the court request as for any request, and the slash paid it
		// back more than that: the court's whole fee and the disputed call's.
		assert_eq!(free(REQUESTER), start - settled_payouts(id) + owed);
		assert!(free(REQUESTER) >= start + disputed_fee());
		assert_eq!(WorkerUsage::<Test>::get(liar).earnings, 0);
		assert!(fresh.iter().all(|worker| paid(*worker) && bond(*worker) == BOND));
		money_is_conserved(issuance);
	});
}

/// The sum of the payouts of request `id`'s settlement.
fn settled_payouts(id: RequestId) -> Balance {
	events()
		.into_iter()
		.find_map(|event| match event {
			Event::InferenceSettled { request, payouts, .. } if request == id => {
				Some(payouts.iter().map(|(_, amount)| amount).sum())
			},
			_ => None,
		})
		.expect("settled")
}

#[test]
fn a_disputed_right_answer_costs_the_disputer_the_court_fee() {
	run_with(4, |model| {
		let issuance = Balances::total_issuance();
		let start = free(REQUESTER);
		let accused = WORKER + 1;
		let truth = output(0);
		let id = dispute(model, receipt(model, accused, &truth), truth.clone(), 2);
		let fresh = judge(id, &truth);
		let output_hash = sp_io::hashing::blake2_256(&truth);
		assert_eq!(outcome(id), Outcome::Settled { output_hash });
		assert!(events().contains(&Event::DisputeDismissed { request: id, worker: accused }));
		assert_eq!(bond(accused), BOND);
		// The accused is judged, not paid; the fresh workers that agreed are.
		assert_eq!(WorkerUsage::<Test>::get(accused).earnings, 0);
		let Some(Event::InferenceSettled { workers, .. }) = events().into_iter().find(
			|event| matches!(event, Event::InferenceSettled { request, .. } if *request == id),
		) else {
			panic!("settled")
		};
		assert_eq!(workers, fresh);
		assert_eq!(free(REQUESTER), start - settled_payouts(id));
		assert!(settled_payouts(id) > 0);
		money_is_conserved(issuance);
	});
}

#[test]
fn a_court_that_cannot_settle_refunds_the_disputer_and_slashes_nobody_for_the_receipt() {
	run_with(4, |model| {
		let issuance = Balances::total_issuance();
		let start = free(REQUESTER);
		let accused = WORKER;
		let lie = output(9);
		let id = dispute(model, receipt(model, accused, &lie), lie, 2);
		// Nobody commits: the fresh workers are absent, no quorum is left.
		run_to(System::block_number() + COMMIT_TIMEOUT + 1);
		assert_eq!(outcome(id), Outcome::Refunded { reason: RefundReason::NoQuorum });
		assert_eq!(free(REQUESTER), start);
		assert_eq!(bond(accused), BOND);
		assert!(!Disputes::<Test>::contains_key(id));
		money_is_conserved(issuance);
	});
}

#[test]
fn bad_disputes_fail_and_change_nothing() {
	run_with(4, |model| {
		let accused = WORKER;
		let out = output(9);
		let (good, signature) = receipt(model, accused, &out);
		let attempt = |receipt: FastAttestation<AccountId>,
		               signature: [u8; 64],
		               input: Vec<u8>,
		               out: Vec<u8>,
		               max_fee: Balance,
		               redundancy: u32| {
			Inference::dispute(
				signed(REQUESTER),
				model,
				receipt,
				signature,
				input,
				out,
				max_fee,
				redundancy,
			)
		};
		let max = fee(3);
		let other_chain = FastAttestation { genesis_hash: [9; 32], ..good.clone() };
		let resign =
			|receipt: &FastAttestation<AccountId>| key_of(accused).sign(&receipt.message()).0;
		assert_noop!(
			attempt(other_chain.clone(), resign(&other_chain), input(), out.clone(), max, 2),
			Error::<Test>::ReceiptNotOfThisChain
		);
		let future = FastAttestation { block: good.block + 1, ..good.clone() };
		assert_noop!(
			attempt(future.clone(), resign(&future), input(), out.clone(), max, 2),
			Error::<Test>::DisputeWindowPassed
		);
		assert_noop!(
			attempt(good.clone(), signature, tensors("x", &[1.0]), out.clone(), max, 2),
			Error::<Test>::ReceiptMismatch
		);
		assert_noop!(
			attempt(good.clone(), signature, input(), output(8), max, 2),
			Error::<Test>::ReceiptMismatch
		);
		let forged = key_of(WORKER + 1).sign(&good.message()).0;
		assert_noop!(
			attempt(good.clone(), forged, input(), out.clone(), max, 2),
			Error::<Test>::InvalidAttestation
		);
		let old_version = FastAttestation { artifact_hash: [3; 32], ..good.clone() };
		assert_noop!(
			attempt(old_version.clone(), resign(&old_version), input(), out.clone(), max, 2),
			Error::<Test>::ReceiptVersionNotCurrent
		);
		for redundancy in [0, 5] {
			assert_noop!(
				attempt(good.clone(), signature, input(), out.clone(), fee(6), redundancy),
				Error::<Test>::InvalidRedundancy
			);
		}
		assert_noop!(
			attempt(good.clone(), signature, input(), out.clone(), max - 1, 2),
			Error::<Test>::FeeAboveMax
		);
		// Four workers: three others than the accused at most.
		assert_noop!(
			attempt(good.clone(), signature, input(), out.clone(), fee(5), 4),
			Error::<Test>::NotEnoughWorkers
		);
		assert_ok!(attempt(good.clone(), signature, input(), out.clone(), max, 2));
		assert_noop!(
			attempt(good.clone(), signature, input(), out.clone(), max, 2),
			Error::<Test>::ReceiptAlreadyDisputed
		);
		// Past its window a receipt cannot be disputed, and its record is pruned.
		let window_end = u64::from(good.block) + DISPUTE_WINDOW;
		assert!(Disputed::<Test>::contains_key(
			window_end,
			sp_io::hashing::blake2_256(&codec::Encode::encode(&good))
		));
		run_to(window_end + 1);
		let (late, late_signature) = {
			let late = FastAttestation { call: 43, ..good.clone() };
			let signature = resign(&late);
			(late, signature)
		};
		assert_noop!(
			attempt(late, late_signature, input(), out.clone(), max, 2),
			Error::<Test>::DisputeWindowPassed
		);
		run_to(window_end + 2);
		assert_eq!(Disputed::<Test>::iter().count(), 0);
	});
}

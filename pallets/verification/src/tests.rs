//! Tests of the verification pallet.

use crate::{mock::*, pallet::*, types::*, Error};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use modelhub_primitives::registry::{ModelId, ModelVersion};
use modelhub_primitives::{
	inference::Verifier,
	schema::{Dim, IoSchema, TensorSpec},
	tensor::DType,
	worker::{CpuClass, ExecutionProfile, GraphOptimization},
};
use sp_core::{sr25519, Pair};
use sp_runtime::Permill;

/// Owner of the test models.
const OWNER: AccountId = 29;

type Pool = crate::Pallet<Test>;

fn meta(capacity: u32) -> WorkerMeta<Test> {
	WorkerMeta {
		runtime: BoundedVec::truncate_from(b"onnxruntime 1.31.1".to_vec()),
		capacity,
		profile: ExecutionProfile::DEFAULT,
	}
}

fn key_of(who: AccountId) -> sr25519::Pair {
	sr25519::Pair::from_seed(&[who as u8; 32])
}

/// Publishes a model's first version.
fn publish() -> (ModelId, ModelVersion) {
	let model = pallet_model_registry::testing::publish::<Test>(
		OWNER,
		1,
		vec![(OWNER, Permill::one())],
		None,
		schema(),
		16,
	)
	.expect("published");
	(model, 1)
}

/// The model the selection tests draw workers for: model 0, published on first use.
fn model() -> (ModelId, ModelVersion) {
	if pallet_model_registry::Models::<Test>::get(0).is_none() {
		publish();
	}
	(0, 1)
}

/// Draws workers for [`model`].
fn select(seed: &[u8; 32], count: u32, exclude: &[AccountId]) -> Vec<AccountId> {
	let (model, version) = model();
	Pool::select_workers(seed, count, exclude, model, version).0
}

/// `who` declares [`model`] ready.
fn ready(who: AccountId) {
	let (model, version) = model();
	assert_ok!(Pool::declare_ready(RuntimeOrigin::signed(who), model, version));
}

/// Registers `who` with capacity 4 and declares it ready for [`model`].
fn register(who: AccountId, bond: Balance) {
	assert_ok!(Pool::register_worker(
		RuntimeOrigin::signed(who),
		bond,
		key_of(who).public().0,
		meta(4)
	));
	ready(who);
}

fn bonded(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Verification(HoldReason::WorkerBond), &who)
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

pub(crate) fn schema() -> IoSchema {
	let spec = |name: &str| {
		TensorSpec::new(name.as_bytes(), DType::F32, &[Dim::Fixed(1)]).expect("valid spec")
	};
	IoSchema {
		inputs: vec![spec("x")].try_into().expect("fits"),
		outputs: vec![spec("y")].try_into().expect("fits"),
	}
}

#[test]
fn register_worker_holds_the_bond_and_joins_the_pool() {
	run(|| {
		register(ALICE, 2_000);
		let info = Workers::<Test>::get(ALICE).expect("registered");
		assert_eq!(info.bond, 2_000);
		assert_eq!(info.attestation_key, key_of(ALICE).public().0);
		assert_eq!(info.meta, meta(4));
		assert_eq!(info.status, WorkerStatus::Active);
		assert_eq!(info.pending_jobs, 0);
		assert_eq!(bonded(ALICE), 2_000);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - 2_000);
		assert_eq!(ActiveWorkers::<Test>::get().into_inner(), vec![ALICE]);
		assert!(System::events().iter().any(|record| record.event
			== Event::<Test>::WorkerRegistered {
				worker: ALICE,
				bond: 2_000,
				attestation_key: key_of(ALICE).public().0,
				capacity: 4,
			}
			.into()));
	});
}

#[test]
fn register_worker_rejects_bad_registrations() {
	run(|| {
		let key = key_of(ALICE).public().0;
		let signed = RuntimeOrigin::signed;
		assert_noop!(
			Pool::register_worker(signed(ALICE), MIN_BOND - 1, key, meta(1)),
			Error::<Test>::BondTooLow
		);
		assert_noop!(
			Pool::register_worker(signed(ALICE), MIN_BOND, key, meta(0)),
			Error::<Test>::ZeroCapacity
		);
		assert_noop!(
			Pool::register_worker(signed(PAUPER), MIN_BOND, key, meta(1)),
			Error::<Test>::InsufficientBalance
		);
		register(ALICE, MIN_BOND);
		assert_noop!(
			Pool::register_worker(signed(ALICE), MIN_BOND, key, meta(1)),
			Error::<Test>::AlreadyRegistered
		);
		for who in 10..(10 + u64::from(MAX_WORKERS) - 1) {
			register(who, MIN_BOND);
		}
		assert_noop!(
			Pool::register_worker(signed(BOB), MIN_BOND, key, meta(1)),
			Error::<Test>::TooManyWorkers
		);
		assert_eq!(bonded(BOB), 0);
	});
}

#[test]
fn update_worker_changes_bond_key_meta_and_execution_profile() {
	run(|| {
		register(ALICE, 2_000);
		assert_eq!(
			Workers::<Test>::get(ALICE).map(|info| info.meta.profile),
			Some(ExecutionProfile::DEFAULT)
		);
		let new_key = key_of(BOB).public().0;
		// A worker that now runs without graph optimizations on an AVX2 machine says so.
		let profile = ExecutionProfile {
			graph_optimization: GraphOptimization::Disabled,
			cpu_class: CpuClass::X86_64Avx2,
			intra_op_threads: 2,
			..ExecutionProfile::DEFAULT
		};
		assert_ok!(Pool::update_worker(
			RuntimeOrigin::signed(ALICE),
			Some(5_000),
			Some(new_key),
			Some(WorkerMeta { profile, ..meta(9) })
		));
		let info = Workers::<Test>::get(ALICE).expect("registered");
		assert_eq!((info.bond, info.attestation_key, info.meta.capacity), (5_000, new_key, 9));
		assert_eq!(info.meta.profile, profile);
		assert_eq!(bonded(ALICE), 5_000);
		assert_eq!(
			last_event(),
			Event::<Test>::WorkerUpdated { worker: ALICE, bond: 5_000 }.into()
		);

		assert_ok!(Pool::update_worker(RuntimeOrigin::signed(ALICE), Some(MIN_BOND), None, None));
		assert_eq!(bonded(ALICE), MIN_BOND);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - MIN_BOND);
	});
}

#[test]
fn update_worker_failure_paths() {
	run(|| {
		let signed = RuntimeOrigin::signed;
		assert_noop!(
			Pool::update_worker(signed(ALICE), None, None, None),
			Error::<Test>::WorkerNotFound
		);
		register(ALICE, 2_000);
		assert_noop!(
			Pool::update_worker(signed(ALICE), Some(MIN_BOND - 1), None, None),
			Error::<Test>::BondTooLow
		);
		assert_noop!(
			Pool::update_worker(signed(ALICE), None, None, Some(meta(0))),
			Error::<Test>::ZeroCapacity
		);
		assert_noop!(
			Pool::update_worker(signed(ALICE), Some(INITIAL_BALANCE * 2), None, None),
			Error::<Test>::InsufficientBalance
		);
		Pool::job_assigned(&ALICE);
		assert_noop!(
			Pool::update_worker(signed(ALICE), Some(MIN_BOND), None, None),
			Error::<Test>::WorkerHasPendingJobs
		);
		// Raising the bond is fine with jobs pending.
		assert_ok!(Pool::update_worker(signed(ALICE), Some(3_000), None, None));
		Pool::job_ended(&ALICE);
		assert_ok!(Pool::unregister_worker(signed(ALICE)));
		assert_noop!(
			Pool::update_worker(signed(ALICE), None, None, None),
			Error::<Test>::WorkerUnbonding
		);
	});
}

#[test]
fn unregister_then_withdraw_after_the_unbonding_period() {
	run(|| {
		let signed = RuntimeOrigin::signed;
		assert_noop!(Pool::unregister_worker(signed(ALICE)), Error::<Test>::WorkerNotFound);
		assert_noop!(Pool::withdraw_bond(signed(ALICE)), Error::<Test>::WorkerNotFound);
		register(ALICE, 2_000);
		register(BOB, 2_000);
		assert_noop!(Pool::withdraw_bond(signed(ALICE)), Error::<Test>::WorkerNotUnbonding);
		Pool::job_assigned(&ALICE);
		assert_noop!(Pool::unregister_worker(signed(ALICE)), Error::<Test>::WorkerHasPendingJobs);
		Pool::job_ended(&ALICE);

		assert_ok!(Pool::unregister_worker(signed(ALICE)));
		let until = 1 + UNBONDING;
		assert_eq!(last_event(), Event::<Test>::WorkerUnbonding { worker: ALICE, until }.into());
		assert_eq!(ActiveWorkers::<Test>::get().into_inner(), vec![BOB]);
		assert_noop!(Pool::unregister_worker(signed(ALICE)), Error::<Test>::WorkerUnbonding);
		// An unbonding worker is never selected.
		assert_eq!(select(&[0; 32], 2, &[]), vec![BOB]);

		System::set_block_number(until - 1);
		assert_noop!(Pool::withdraw_bond(signed(ALICE)), Error::<Test>::BondStillLocked);
		System::set_block_number(until);
		assert_ok!(Pool::withdraw_bond(signed(ALICE)));
		assert_eq!(
			last_event(),
			Event::<Test>::BondWithdrawn { worker: ALICE, amount: 2_000 }.into()
		);
		assert_eq!(bonded(ALICE), 0);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE);
		assert!(Workers::<Test>::get(ALICE).is_none());
	});
}

#[test]
fn selection_is_deterministic_distinct_and_respects_exclusions() {
	run(|| {
		for who in 10..15 {
			register(who, MIN_BOND);
		}
		let first = select(&[7; 32], 3, &[]);
		assert_eq!(first.len(), 3);
		assert_eq!(first, select(&[7; 32], 3, &[]));
		let mut distinct = first.clone();
		distinct.sort();
		distinct.dedup();
		assert_eq!(distinct.len(), 3);

		let excluded = select(&[7; 32], 5, &first);
		assert_eq!(excluded.len(), 2);
		assert!(excluded.iter().all(|who| !first.contains(who)));
		assert_eq!(select(&[7; 32], 9, &[]).len(), 5);
	});
}

#[test]
fn selection_skips_full_and_underbonded_workers() {
	run(|| {
		assert!(select(&[1; 32], 1, &[]).is_empty());
		assert_ok!(Pool::register_worker(
			RuntimeOrigin::signed(ALICE),
			MIN_BOND,
			key_of(ALICE).public().0,
			meta(1)
		));
		ready(ALICE);
		register(BOB, MIN_BOND);
		Pool::job_assigned(&ALICE);
		assert_eq!(select(&[1; 32], 2, &[]), vec![BOB]);
		Pool::job_ended(&ALICE);
		// A slash takes BOB below the minimum bond until it tops up.
		Pool::slash(&BOB, 0, 0);
		assert_eq!(select(&[1; 32], 2, &[]), vec![ALICE]);
		assert_ok!(Pool::update_worker(RuntimeOrigin::signed(BOB), Some(MIN_BOND), None, None));
		assert_eq!(select(&[1; 32], 2, &[]).len(), 2);
	});
}

#[test]
fn selection_is_weighted_by_bond() {
	run(|| {
		register(ALICE, 3 * MIN_BOND);
		register(BOB, MIN_BOND);
		let draws = 2_000u32;
		let alice = (0..draws)
			.filter(|n| {
				let seed = sp_io::hashing::blake2_256(&n.to_le_bytes());
				select(&seed, 1, &[]) == vec![ALICE]
			})
			.count();
		// Expected 3/4 of the draws; 2,000 draws put 6 standard deviations within ±0.06.
		let share = alice as f64 / f64::from(draws);
		assert!((0.69..0.81).contains(&share), "ALICE drawn {share}");
	});
}

#[test]
fn attestations_verify_only_under_the_registered_key() {
	run(|| {
		register(ALICE, MIN_BOND);
		let message = b"opg:attestation:v1 payload";
		let signature = key_of(ALICE).sign(message).0;
		assert!(Pool::verify_attestation(&ALICE, message, &signature));
		assert!(!Pool::verify_attestation(&ALICE, b"another payload", &signature));
		assert!(!Pool::verify_attestation(&BOB, message, &signature));
		let forged = key_of(BOB).sign(message).0;
		assert!(!Pool::verify_attestation(&ALICE, message, &forged));
	});
}

#[test]
fn slashing_moves_part_of_the_bond_to_the_treasury() {
	run(|| {
		register(ALICE, 5_000);
		let issuance = Balances::total_issuance();
		assert_eq!(Pool::slash(&ALICE, 42, 0), 500);
		assert_eq!(bonded(ALICE), 4_500);
		assert_eq!(Workers::<Test>::get(ALICE).expect("kept").bond, 4_500);
		assert_eq!(Balances::balance(&TREASURY), 1 + 500);
		assert_eq!(Balances::total_issuance(), issuance);
		let stats = WorkerUsage::<Test>::get(ALICE);
		assert_eq!((stats.slashes, stats.slashed), (1, 500));
		assert_eq!(
			last_event(),
			Event::<Test>::WorkerSlashed { worker: ALICE, request: 42, amount: 500 }.into()
		);
		// Nothing to slash from an account that is not a worker.
		assert_eq!(Pool::slash(&BOB, 42, 0), 0);
	});
}

#[test]
fn settlement_splits_the_fee_exactly() {
	run(|| {
		let model = pallet_model_registry::testing::publish::<Test>(
			ALICE,
			1_000,
			vec![(ALICE, Permill::from_percent(70)), (BOB, Permill::from_percent(30))],
			None,
			schema(),
			16,
		)
		.expect("published");
		// Execution 1,001: 10% (100) to the pot, 5% (50) to the treasury, 851 to 2 workers:
		// 425 each, the odd unit to the first.
		let payout = Pool::settlement(model, 1_000, 1_001, &[CHARLIE, DAVE], 1).expect("splits");
		let mut sorted = payout.clone();
		sorted.sort();
		assert_eq!(
			sorted,
			vec![
				(ALICE, 700),
				(BOB, 300),
				(CHARLIE, 426),
				(DAVE, 425),
				(TREASURY, 50),
				(VALIDATOR_POT, 100)
			]
		);
		assert_eq!(payout.iter().map(|(_, amount)| amount).sum::<Balance>(), 2_001);
		assert_eq!(WorkerUsage::<Test>::get(CHARLIE).earnings, 426);
		assert_eq!(WorkerUsage::<Test>::get(DAVE).jobs, 1);

		// A worker that is also a beneficiary appears once.
		let payout = Pool::settlement(model, 1_000, 0, &[BOB], 1).expect("splits");
		assert_eq!(payout, vec![(ALICE, 700), (BOB, 300)]);

		assert_eq!(Pool::settlement(model, 1, 1, &[], 1), None);
		assert_eq!(Pool::settlement(model + 1, 1, 1, &[CHARLIE], 1), None);

		// 7 calls at once pay each account 7 times what one call pays it, rounding
		// included, and count 7 jobs.
		let one = Pool::settlement(model, 999, 1_001, &[CHARLIE], 1).expect("splits");
		let seven = Pool::settlement(model, 999, 1_001, &[CHARLIE], 7).expect("splits");
		let times_seven: Vec<_> = one.iter().map(|(who, amount)| (*who, amount * 7)).collect();
		assert_eq!(seven, times_seven);
		assert_eq!(seven.iter().map(|(_, amount)| amount).sum::<Balance>(), 7 * 2_000);
		assert_eq!(WorkerUsage::<Test>::get(CHARLIE).jobs, 1 + 1 + 7);
		assert_eq!(Pool::settlement(model, Balance::MAX / 2, 1, &[CHARLIE], 3), None);
	});
}

#[test]
fn a_slash_takes_at_least_what_was_at_stake_within_the_bond() {
	run(|| {
		register(ALICE, 5_000);
		let issuance = Balances::total_issuance();
		// 10% of the bond is 500; a request whose fee was 1,200 costs 1,200.
		assert_eq!(Pool::slash(&ALICE, 1, 1_200), 1_200);
		assert_eq!(bonded(ALICE), 3_800);
		// Never more than the bond.
		assert_eq!(Pool::slash(&ALICE, 2, 1_000_000), 3_800);
		assert_eq!(bonded(ALICE), 0);
		assert_eq!(Workers::<Test>::get(ALICE).expect("kept").bond, 0);
		assert_eq!(Balances::balance(&TREASURY), 1 + 5_000);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn workers_declare_and_withdraw_ready_model_versions() {
	run(|| {
		let signed = RuntimeOrigin::signed;
		let (model, version) = model();
		assert_noop!(
			Pool::declare_ready(signed(ALICE), model, version),
			Error::<Test>::WorkerNotFound
		);
		assert_ok!(Pool::register_worker(
			signed(ALICE),
			MIN_BOND,
			key_of(ALICE).public().0,
			meta(4)
		));
		assert_noop!(
			Pool::declare_ready(signed(ALICE), model, version + 1),
			Error::<Test>::ModelVersionNotFound
		);
		assert_noop!(
			Pool::declare_ready(signed(ALICE), 77, 1),
			Error::<Test>::ModelVersionNotFound
		);
		assert_eq!(Pool::select_workers(&[1; 32], 0, &[], model, version).1, 0);
		assert_ok!(Pool::declare_ready(signed(ALICE), model, version));
		assert_eq!(
			last_event(),
			Event::<Test>::WorkerReady { worker: ALICE, model, version }.into()
		);
		assert_eq!(Pool::select_workers(&[1; 32], 0, &[], model, version).1, 1);
		assert_noop!(
			Pool::declare_ready(signed(ALICE), model, version),
			Error::<Test>::AlreadyReady
		);
		let others: Vec<_> = (1..MAX_READY).map(|_| publish()).collect();
		for (other, other_version) in &others {
			assert_ok!(Pool::declare_ready(signed(ALICE), *other, *other_version));
		}
		let extra = publish();
		assert_noop!(
			Pool::declare_ready(signed(ALICE), extra.0, extra.1),
			Error::<Test>::TooManyReadyModels
		);
		assert_eq!(Readiness::<Test>::get(ALICE).len() as u32, MAX_READY);

		assert_noop!(Pool::withdraw_ready(signed(BOB), model, version), Error::<Test>::NotReady);
		assert_noop!(
			Pool::withdraw_ready(signed(ALICE), extra.0, extra.1),
			Error::<Test>::NotReady
		);
		assert_ok!(Pool::withdraw_ready(signed(ALICE), model, version));
		assert_eq!(
			last_event(),
			Event::<Test>::ReadinessWithdrawn { worker: ALICE, model, version }.into()
		);
		assert_eq!(Pool::select_workers(&[1; 32], 0, &[], model, version).1, 0);
		assert!(select(&[3; 32], 1, &[]).is_empty());
		// The freed room takes another declaration.
		assert_ok!(Pool::declare_ready(signed(ALICE), extra.0, extra.1));
	});
}

#[test]
fn only_ready_workers_are_drawn_and_leaving_withdraws_every_declaration() {
	run(|| {
		let signed = RuntimeOrigin::signed;
		let (model, version) = model();
		register(ALICE, MIN_BOND);
		// BOB is bonded but holds nothing ready: it is never drawn.
		assert_ok!(Pool::register_worker(signed(BOB), MIN_BOND, key_of(BOB).public().0, meta(4)));
		for n in 0..50u32 {
			let seed = sp_io::hashing::blake2_256(&n.to_le_bytes());
			assert_eq!(select(&seed, 2, &[]), vec![ALICE]);
		}
		let other = publish();
		assert!(Pool::select_workers(&[1; 32], 1, &[], other.0, other.1).0.is_empty());
		assert_ok!(Pool::declare_ready(signed(BOB), other.0, other.1));
		assert_eq!(Pool::select_workers(&[1; 32], 2, &[], other.0, other.1).0, vec![BOB]);

		// A worker that says it cannot get the model is no longer drawn for it.
		Pool::not_ready(&ALICE, model, version);
		assert!(select(&[1; 32], 1, &[]).is_empty());
		assert_eq!(Pool::select_workers(&[1; 32], 0, &[], model, version).1, 0);
		// Saying so twice changes nothing.
		Pool::not_ready(&ALICE, model, version);

		assert_ok!(Pool::declare_ready(signed(ALICE), model, version));
		assert_ok!(Pool::declare_ready(signed(ALICE), other.0, other.1));
		assert_ok!(Pool::unregister_worker(signed(ALICE)));
		assert!(Readiness::<Test>::get(ALICE).is_empty());
		assert_eq!(Pool::select_workers(&[1; 32], 0, &[], model, version).1, 0);
		assert_eq!(Pool::select_workers(&[1; 32], 2, &[], other.0, other.1).0, vec![BOB]);
		assert_noop!(
			Pool::declare_ready(signed(ALICE), model, version),
			Error::<Test>::WorkerUnbonding
		);
	});
}

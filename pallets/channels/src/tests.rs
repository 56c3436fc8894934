//! Unit tests of the channels pallet: every call's success and every error.

use crate::pallet::Channels as Records;
use crate::{mock::*, pallet::*, Error};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use modelhub_primitives::{
	channel::{ChannelId, Voucher},
	registry::ModelId,
	schema::{Dim, IoSchema, TensorSpec},
	tensor::DType,
};
use pallet_verification::WorkerMeta;
use sp_core::Pair;
use sp_runtime::{MultiSignature, Permill};

type Pallet = crate::Pallet<Test>;
type V = Voucher<Balance>;

const PRICE: Balance = 500;
const EXECUTION: Balance = 20;

fn schema() -> IoSchema {
	let spec = |name: &str| {
		TensorSpec::new(name.as_bytes(), DType::F32, &[Dim::Fixed(1)]).expect("valid spec")
	};
	IoSchema {
		inputs: vec![spec("x")].try_into().expect("fits"),
		outputs: vec![spec("y")].try_into().expect("fits"),
	}
}

/// Publishes a model of `owner` at `price`, its royalties 70% to the owner and 30% to Dave.
fn publish(owner: AccountId, price: Balance) -> ModelId {
	pallet_model_registry::testing::publish::<Test>(
		owner.clone(),
		price,
		vec![(owner, Permill::from_percent(70)), (dave(), Permill::from_percent(30))],
		None,
		schema(),
		16,
	)
	.expect("published")
}

/// Registers `who` as a worker at the minimum bond.
fn register(who: &AccountId) {
	assert_ok!(pallet_verification::Pallet::<Test>::register_worker(
		RuntimeOrigin::signed(who.clone()),
		MIN_BOND,
		[1; 32],
		WorkerMeta {
			runtime: BoundedVec::truncate_from(b"onnxruntime 1.31.1".to_vec()),
			capacity: 4,
			profile: Default::default(),
		}
	));
}

/// A model of Alice's, Bob registered as a worker, and a channel from Charlie to Bob holding
/// `deposit`.
fn setup(deposit: Balance) -> (ModelId, ChannelId) {
	let model = publish(alice(), PRICE);
	register(&bob());
	assert_ok!(Pallet::open_channel(RuntimeOrigin::signed(charlie()), bob(), deposit, 100));
	(model, NextChannelId::<Test>::get() - 1)
}

/// `voucher` signed by `signer`.
fn signed_by(signer: &str, voucher: &V) -> MultiSignature {
	MultiSignature::from(pair(signer).sign(&voucher.message(&Pallet::genesis_hash())))
}

/// The voucher of `calls` calls of `model` at the test price on `channel`.
fn voucher(channel: ChannelId, model: ModelId, calls: u64) -> V {
	(0..calls).fold(V::empty(channel), |v, _| v.next(model, PRICE, EXECUTION).expect("fits"))
}

/// Bob settles `voucher` signed by Charlie.
fn settle(channel: ChannelId, voucher: &V) -> frame_support::dispatch::DispatchResultWithPostInfo {
	Pallet::settle(
		RuntimeOrigin::signed(bob()),
		channel,
		voucher.clone(),
		signed_by("Charlie", voucher),
	)
}

fn held(who: &AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Channels(HoldReason::ChannelDeposit), who)
}

#[test]
fn open_channel_holds_the_deposit() {
	run(|| {
		let (_, channel) = setup(10_000);
		let info = Records::<Test>::get(channel).expect("open");
		assert_eq!((info.payer.clone(), info.worker.clone()), (charlie(), bob()));
		assert_eq!((info.deposit, info.paid, info.settled_calls), (10_000, 0, 0));
		assert_eq!((info.expires_at, info.closing), (101, None));
		assert_eq!(held(&charlie()), 10_000);
		System::assert_last_event(
			Event::<Test>::ChannelOpened {
				channel,
				payer: charlie(),
				worker: bob(),
				deposit: 10_000,
				expires_at: 101,
			}
			.into(),
		);
	});
}

#[test]
fn open_channel_refuses_what_it_cannot_hold_for() {
	run(|| {
		register(&bob());
		let origin = || RuntimeOrigin::signed(charlie());
		assert_noop!(
			Pallet::open_channel(origin(), dave(), 1_000, 10),
			Error::<Test>::WorkerNotActive
		);
		assert_noop!(
			Pallet::open_channel(origin(), bob(), MIN_DEPOSIT - 1, 10),
			Error::<Test>::DepositTooLow
		);
		assert_noop!(
			Pallet::open_channel(origin(), bob(), 1_000, 0),
			Error::<Test>::InvalidLifetime
		);
		assert_noop!(
			Pallet::open_channel(origin(), bob(), 1_000, MAX_LIFETIME + 1),
			Error::<Test>::InvalidLifetime
		);
		assert_noop!(
			Pallet::open_channel(origin(), bob(), INITIAL_BALANCE * 2, 10),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn top_up_adds_to_the_deposit_and_extends_the_lifetime() {
	run(|| {
		let (_, channel) = setup(1_000);
		System::set_block_number(50);
		assert_ok!(Pallet::top_up(RuntimeOrigin::signed(charlie()), channel, 500, 100));
		let info = Records::<Test>::get(channel).expect("open");
		assert_eq!((info.deposit, info.expires_at), (1_500, 150));
		assert_eq!(held(&charlie()), 1_500);
		// A shorter lifetime never brings the expiry closer.
		assert_ok!(Pallet::top_up(RuntimeOrigin::signed(charlie()), channel, 0, 1));
		assert_eq!(Records::<Test>::get(channel).expect("open").expires_at, 150);

		assert_noop!(
			Pallet::top_up(RuntimeOrigin::signed(bob()), channel, 1, 10),
			Error::<Test>::NotChannelPayer
		);
		assert_noop!(
			Pallet::top_up(RuntimeOrigin::signed(charlie()), channel + 1, 1, 10),
			Error::<Test>::ChannelNotFound
		);
		assert_noop!(
			Pallet::top_up(RuntimeOrigin::signed(charlie()), channel, INITIAL_BALANCE, 10),
			Error::<Test>::InsufficientBalance
		);
		System::set_block_number(150);
		assert_noop!(
			Pallet::top_up(RuntimeOrigin::signed(charlie()), channel, 1, 10),
			Error::<Test>::ChannelNotOpen
		);
	});
}

#[test]
fn a_settlement_pays_every_call_as_one_call_pays() {
	run(|| {
		let (model, channel) = setup(100_000);
		let before: Vec<Balance> = [alice(), dave(), bob(), treasury(), validator_pot()]
			.iter()
			.map(Balances::balance)
			.collect();
		let v = voucher(channel, model, 7);
		assert_ok!(settle(channel, &v));

		// One call: royalty 500 → Alice 350, Dave 150; execution 20 → pot 2, treasury 1,
		// worker 17. Seven calls pay seven times each.
		let after: Vec<Balance> = [alice(), dave(), bob(), treasury(), validator_pot()]
			.iter()
			.map(Balances::balance)
			.collect();
		let gained: Vec<Balance> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
		assert_eq!(gained, vec![7 * 350, 7 * 150, 7 * 17, 7, 7 * 2]);
		let worker = pallet_verification::WorkerUsage::<Test>::get(bob());
		assert_eq!((worker.jobs, worker.earnings), (7, 7 * 17));
		let one = frame_support::storage::with_transaction_unchecked(|| {
			sp_runtime::TransactionOutcome::Rollback(
				pallet_verification::Pallet::<Test>::split_fee(
					model,
					PRICE,
					EXECUTION,
					&[bob()],
					1,
				)
				.expect("splits"),
			)
		});
		let mut expected: Vec<_> = one.into_iter().map(|(who, amount)| (who, amount * 7)).collect();
		expected.sort();

		let info = Records::<Test>::get(channel).expect("open");
		assert_eq!((info.deposit, info.paid, info.settled_calls), (100_000 - 7 * 520, 7 * 520, 7));
		assert_eq!(info.settled, v.entries);
		assert_eq!(held(&charlie()), 100_000 - 7 * 520);
		let event = System::events().pop().expect("an event").event;
		let RuntimeEvent::Channels(Event::ChannelSettled {
			calls,
			amount,
			settled_calls,
			payouts,
			..
		}) = event
		else {
			panic!("not a settlement: {event:?}")
		};
		let mut payouts = payouts;
		payouts.sort();
		assert_eq!((calls, amount, settled_calls), (7, 7 * 520, 7));
		assert_eq!(payouts, expected);

		// Usage is counted as settled calls, with the payer.
		LEDGER.with(|ledger| {
			assert_eq!(*ledger.borrow(), vec![(model, charlie(), 7, 7 * 520, 7 * 500)]);
		});
		let usage = pallet_model_registry::ModelUsage::<Test>::get(model);
		assert_eq!((usage.calls, usage.revenue), (7, 7 * 500));

		// The next voucher pays only what it adds.
		let v = voucher(channel, model, 10);
		assert_ok!(settle(channel, &v));
		let info = Records::<Test>::get(channel).expect("open");
		assert_eq!((info.paid, info.settled_calls), (10 * 520, 10));
		assert_eq!(pallet_model_registry::ModelUsage::<Test>::get(model).calls, 10);
	});
}

#[test]
fn a_voucher_is_settled_once() {
	run(|| {
		let (model, channel) = setup(100_000);
		let older = voucher(channel, model, 3);
		let newer = voucher(channel, model, 5);
		assert_ok!(settle(channel, &newer));
		assert_noop!(settle(channel, &newer), Error::<Test>::VoucherNotNewer);
		assert_noop!(settle(channel, &older), Error::<Test>::VoucherNotNewer);
		// A voucher that counts more calls in all but drops a settled entry.
		let other = publish(alice(), PRICE);
		let skewed =
			(0..6).fold(V::empty(channel), |v, _| v.next(other, PRICE, EXECUTION).expect("fits"));
		assert_noop!(settle(channel, &skewed), Error::<Test>::VoucherNotCumulative);
	});
}

#[test]
fn settle_refuses_vouchers_the_payer_did_not_sign_for_this_channel() {
	run(|| {
		let (model, channel) = setup(100_000);
		let v = voucher(channel, model, 2);
		assert_noop!(
			Pallet::settle(RuntimeOrigin::signed(bob()), channel, v.clone(), signed_by("Dave", &v)),
			Error::<Test>::BadVoucherSignature
		);
		assert_noop!(
			Pallet::settle(
				RuntimeOrigin::signed(charlie()),
				channel,
				v.clone(),
				signed_by("Charlie", &v)
			),
			Error::<Test>::NotChannelWorker
		);
		assert_noop!(
			Pallet::settle(
				RuntimeOrigin::signed(bob()),
				channel + 1,
				v.clone(),
				signed_by("Charlie", &v)
			),
			Error::<Test>::ChannelNotFound
		);
		// Signed for another channel.
		assert_ok!(Pallet::open_channel(RuntimeOrigin::signed(charlie()), bob(), 1_000, 100));
		assert_noop!(
			Pallet::settle(
				RuntimeOrigin::signed(bob()),
				channel + 1,
				v.clone(),
				signed_by("Charlie", &v)
			),
			Error::<Test>::VoucherForOtherChannel
		);
		// Totals that are not the entries' sums.
		let inflated = V { total: v.total + 1, ..v.clone() };
		assert_noop!(settle(channel, &inflated), Error::<Test>::VoucherMalformed);
		// The signature covers the whole voucher.
		assert_noop!(
			Pallet::settle(
				RuntimeOrigin::signed(bob()),
				channel,
				inflated,
				signed_by("Charlie", &v)
			),
			Error::<Test>::VoucherMalformed
		);
	});
}

#[test]
fn settle_refuses_more_than_the_deposit_and_less_than_the_terms() {
	run(|| {
		let (model, channel) = setup(1_000);
		// 2 calls of 520 are more than 1,000.
		assert_noop!(
			settle(channel, &voucher(channel, model, 2)),
			Error::<Test>::VoucherAboveDeposit
		);
		let cheap = V::empty(channel).next(model, PRICE - 1, EXECUTION).expect("fits");
		assert_noop!(settle(channel, &cheap), Error::<Test>::PriceBelowFloor);
		let unpaid_work = V::empty(channel).next(model, PRICE, MIN_EXECUTION - 1).expect("fits");
		assert_noop!(settle(channel, &unpaid_work), Error::<Test>::ExecutionBelowFloor);
		// Paying more than the terms is the payer's choice.
		let generous = V::empty(channel).next(model, PRICE + 1, EXECUTION).expect("fits");
		assert_ok!(settle(channel, &generous));
	});
}

#[test]
fn calls_accepted_before_a_price_rise_settle_within_the_grace_period() {
	run(|| {
		let (model, channel) = setup(100_000);
		let v = voucher(channel, model, 2);
		System::set_block_number(5);
		assert_ok!(pallet_model_registry::Pallet::<Test>::set_price(
			RuntimeOrigin::signed(alice()),
			model,
			PRICE * 2
		));
		System::set_block_number(5 + PRICE_GRACE + 1);
		assert_noop!(settle(channel, &v), Error::<Test>::PriceBelowFloor);
		System::set_block_number(5 + PRICE_GRACE);
		assert_ok!(settle(channel, &v));
	});
}

#[test]
fn a_large_voucher_is_paid_over_several_settlements() {
	run(|| {
		let (model, channel) = setup(500_000);
		let other = publish(alice(), 100);
		// 30 calls of `model`, then 40 of `other`: 70 calls, 50 per settlement.
		let mut v = voucher(channel, model, 30);
		for _ in 0..40 {
			v = v.next(other, 100, EXECUTION).expect("fits");
		}
		assert_ok!(settle(channel, &v));
		let info = Records::<Test>::get(channel).expect("open");
		assert_eq!(info.settled_calls, 50);
		assert_eq!(info.paid, 30 * 520 + 20 * 120);
		assert_ok!(settle(channel, &v));
		let info = Records::<Test>::get(channel).expect("open");
		assert_eq!((info.settled_calls, info.paid), (70, 30 * 520 + 40 * 120));
		assert_eq!(info.settled, v.entries);
		assert_noop!(settle(channel, &v), Error::<Test>::VoucherNotNewer);
		let usage = pallet_model_registry::ModelUsage::<Test>::get(other);
		assert_eq!(usage.calls, 40);
	});
}

#[test]
fn the_payer_closes_and_the_worker_settles_within_the_challenge_period() {
	run(|| {
		let (model, channel) = setup(10_000);
		let v = voucher(channel, model, 3);
		System::set_block_number(20);
		assert_noop!(
			Pallet::close_channel(RuntimeOrigin::signed(dave()), channel),
			Error::<Test>::NotChannelParty
		);
		assert_ok!(Pallet::close_channel(RuntimeOrigin::signed(charlie()), channel));
		System::assert_last_event(
			Event::<Test>::ChannelClosing { channel, claimable_at: 20 + CHALLENGE }.into(),
		);
		assert_noop!(
			Pallet::close_channel(RuntimeOrigin::signed(charlie()), channel),
			Error::<Test>::ChannelClosing
		);
		assert_noop!(
			Pallet::top_up(RuntimeOrigin::signed(charlie()), channel, 1, 10),
			Error::<Test>::ChannelNotOpen
		);
		assert_noop!(
			Pallet::claim(RuntimeOrigin::signed(charlie()), channel),
			Error::<Test>::ChallengePeriodRunning
		);
		System::set_block_number(20 + CHALLENGE - 1);
		assert_ok!(settle(channel, &v));
		System::set_block_number(20 + CHALLENGE);
		let late = voucher(channel, model, 4);
		assert_noop!(settle(channel, &late), Error::<Test>::SettlementWindowOver);
		let free = Balances::balance(&charlie());
		// Anyone may end it; the rest goes to the payer.
		assert_ok!(Pallet::claim(RuntimeOrigin::signed(dave()), channel));
		System::assert_last_event(
			Event::<Test>::ChannelClosed { channel, paid: 3 * 520, returned: 10_000 - 3 * 520 }
				.into(),
		);
		assert_eq!(Balances::balance(&charlie()), free + 10_000 - 3 * 520);
		assert_eq!(held(&charlie()), 0);
		assert!(!Records::<Test>::contains_key(channel));
	});
}

#[test]
fn the_worker_closes_at_once() {
	run(|| {
		let (model, channel) = setup(10_000);
		assert_ok!(settle(channel, &voucher(channel, model, 1)));
		assert_ok!(Pallet::close_channel(RuntimeOrigin::signed(bob()), channel));
		System::assert_last_event(
			Event::<Test>::ChannelClosed { channel, paid: 520, returned: 10_000 - 520 }.into(),
		);
		assert_eq!(held(&charlie()), 0);
		assert_noop!(
			Pallet::close_channel(RuntimeOrigin::signed(bob()), channel),
			Error::<Test>::ChannelNotFound
		);
	});
}

#[test]
fn an_expired_channel_is_settled_for_the_challenge_period_then_claimed() {
	run(|| {
		let (model, channel) = setup(10_000);
		let expires_at = Records::<Test>::get(channel).expect("open").expires_at;
		System::set_block_number(expires_at);
		assert_noop!(
			Pallet::top_up(RuntimeOrigin::signed(charlie()), channel, 1, 10),
			Error::<Test>::ChannelNotOpen
		);
		assert_noop!(
			Pallet::claim(RuntimeOrigin::signed(charlie()), channel),
			Error::<Test>::ChallengePeriodRunning
		);
		assert_ok!(settle(channel, &voucher(channel, model, 2)));
		System::set_block_number(expires_at + CHALLENGE);
		assert_noop!(
			settle(channel, &voucher(channel, model, 3)),
			Error::<Test>::SettlementWindowOver
		);
		assert_noop!(
			Pallet::close_channel(RuntimeOrigin::signed(charlie()), channel),
			Error::<Test>::SettlementWindowOver
		);
		assert_ok!(Pallet::claim(RuntimeOrigin::signed(charlie()), channel));
		assert_eq!(held(&charlie()), 0);
	});
}

#[test]
fn calls_of_a_removed_model_are_not_paid() {
	run(|| {
		let (model, channel) = setup(10_000);
		let v = voucher(channel, model, 2);
		assert_ok!(pallet_model_registry::Pallet::<Test>::set_status(
			RuntimeOrigin::signed(alice()),
			model,
			pallet_model_registry::ModelStatus::Retired
		));
		System::set_block_number(30);
		assert_ok!(pallet_model_registry::Pallet::<Test>::remove_model(
			RuntimeOrigin::signed(alice()),
			model
		));
		let free = Balances::balance(&charlie());
		assert_ok!(settle(channel, &v));
		let info = Records::<Test>::get(channel).expect("open");
		assert_eq!((info.paid, info.settled_calls, info.deposit), (0, 2, 10_000 - 2 * 520));
		assert_eq!(Balances::balance(&charlie()), free + 2 * 520);
		LEDGER.with(|ledger| assert!(ledger.borrow().is_empty()));
	});
}

#[test]
fn an_active_worker_advertises_its_endpoint() {
	run(|| {
		let url = |text: &str| Some(BoundedVec::truncate_from(text.as_bytes().to_vec()));
		assert_noop!(
			Pallet::set_endpoint(RuntimeOrigin::signed(bob()), url("http://127.0.0.1:9955")),
			Error::<Test>::WorkerNotActive
		);
		register(&bob());
		for bad in ["ftp://example.org", "http://", "http://a b", "127.0.0.1:9955"] {
			assert_noop!(
				Pallet::set_endpoint(RuntimeOrigin::signed(bob()), url(bad)),
				Error::<Test>::InvalidEndpoint
			);
		}
		assert_ok!(Pallet::set_endpoint(RuntimeOrigin::signed(bob()), url("ws://127.0.0.1:9955")));
		assert_eq!(
			Endpoints::<Test>::get(bob()).map(|e| e.into_inner()),
			Some(b"ws://127.0.0.1:9955".to_vec())
		);
		System::assert_last_event(
			Event::<Test>::EndpointSet { worker: bob(), endpoint: url("ws://127.0.0.1:9955") }
				.into(),
		);
		assert_ok!(Pallet::set_endpoint(RuntimeOrigin::signed(bob()), None));
		assert!(!Endpoints::<Test>::contains_key(bob()));
	});
}

/// What the benchmarks of the mock runtime use.
#[cfg(feature = "runtime-benchmarks")]
pub struct Helper;

#[cfg(feature = "runtime-benchmarks")]
impl Helper {
	/// Publishes a model of `owner` at the test price.
	pub fn publish(owner: AccountId) -> ModelId {
		publish(owner, PRICE)
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId, Balance, MultiSignature> for Helper {
	fn worker() -> AccountId {
		let worker = bob();
		if !pallet_verification::Workers::<Test>::contains_key(&worker) {
			register(&worker);
		}
		worker
	}
	fn publish_model(owner: &AccountId, _recipients: u32, price: Balance) -> ModelId {
		publish(owner.clone(), price)
	}
	fn payer() -> AccountId {
		charlie()
	}
	fn sign(_payer: &AccountId, message: &[u8]) -> MultiSignature {
		MultiSignature::from(pair("Charlie").sign(message))
	}
	fn fund(who: &AccountId, amount: Balance) {
		use frame_support::traits::fungible::Mutate;
		let _ = Balances::set_balance(who, amount);
	}
}

//! Staking on the runtime over several eras: the validators' pot that inference fills becomes the
//! era reward, split between a validator and its nominator by stake, with no OPG minted.

use super::{account, preset_externalities};
use crate::{
	configs::{
		model_hub::ValidatorPotAccount,
		staking::{EraRewardAccount, SESSIONS_PER_ERA, SESSION_PERIOD},
	},
	Balances, Runtime, RuntimeOrigin, Session, Staking, System, OPG,
};
use frame_support::traits::{
	fungible::{Inspect, Mutate},
	tokens::Preservation,
	Hooks,
};
use sp_genesis_builder::DEV_RUNTIME_PRESET;
use sp_keyring::Sr25519Keyring;

/// Advances to block `to`: the session rotates on its period and staking plans, starts and ends
/// eras through it; time moves six seconds a block.
fn run_to(to: u32) {
	let mut now = System::block_number();
	while now < to {
		Staking::on_finalize(now);
		now += 1;
		System::set_block_number(now);
		pallet_timestamp::Now::<Runtime>::put(u64::from(now) * 6_000);
		Session::on_initialize(now);
		Staking::on_initialize(now);
	}
}

fn active_era() -> u32 {
	pallet_staking::ActiveEra::<Runtime>::get().map(|era| era.index).unwrap_or_default()
}

/// Runs until era `era` is active (bounded).
fn run_to_era(era: u32) {
	let bound = System::block_number() + 3 * SESSIONS_PER_ERA * SESSION_PERIOD;
	while active_era() < era {
		assert!(System::block_number() < bound, "era {era} not reached");
		run_to(System::block_number() + 1);
	}
}

#[test]
fn era_rewards_come_from_the_fee_pot_and_split_by_stake() {
	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		let (alice, bob, charlie) = (
			account(Sr25519Keyring::Alice),
			account(Sr25519Keyring::Bob),
			account(Sr25519Keyring::Charlie),
		);
		run_to(1);
		assert_eq!(pallet_staking::Validators::<Runtime>::count(), 1);
		assert_eq!(Session::validators(), vec![alice.clone()]);

		// Bob nominates Alice with three times her bond; the next election counts him.
		let alice_bond = crate::configs::staking::GENESIS_VALIDATOR_BOND;
		assert!(Staking::bond(
			RuntimeOrigin::signed(bob.clone()),
			3 * alice_bond,
			pallet_staking::RewardDestination::Stash,
		)
		.is_ok());
		assert!(Staking::nominate(RuntimeOrigin::signed(bob.clone()), vec![alice.clone().into()])
			.is_ok());
		run_to_era(1);
		// Stakes are exposed as votes (scaled to u64), so to within a part in 10^15.
		let exposure = pallet_staking::ErasStakersOverview::<Runtime>::get(1, &alice)
			.expect("Alice is exposed in era 1");
		let close = |value: u128, expected: u128| {
			value.abs_diff(expected) <= expected / 1_000_000_000_000_000
		};
		assert!(
			close(exposure.own, alice_bond) && close(exposure.total, 4 * alice_bond),
			"{exposure:?}"
		);

		// Settlements pay the validators' share into the pot during era 1; Alice authors blocks.
		let fees = 40 * OPG;
		assert!(<Balances as Mutate<_>>::transfer(
			&charlie,
			&ValidatorPotAccount::get(),
			fees,
			Preservation::Preserve
		)
		.is_ok());
		<Staking as pallet_authorship::EventHandler<_, _>>::note_author(alice.clone());
		let issuance = <Balances as Inspect<_>>::total_issuance();

		// At the end of era 1 the pot's fees become the era's reward.
		run_to_era(2);
		assert_eq!(pallet_staking::ErasValidatorReward::<Runtime>::get(1), Some(fees));
		assert_eq!(
			<Balances as Inspect<_>>::balance(&ValidatorPotAccount::get()),
			crate::EXISTENTIAL_DEPOSIT
		);

		// Claimed, it splits 1:3 between Alice and Bob; nothing is minted.
		let total = |who| <Balances as Inspect<_>>::total_balance(who);
		let (alice_before, bob_before) = (total(&alice), total(&bob));
		assert!(Staking::payout_stakers(RuntimeOrigin::signed(charlie.clone()), alice.clone(), 1)
			.is_ok());
		let (alice_paid, bob_paid) = (total(&alice) - alice_before, total(&bob) - bob_before);
		let escrow = <Balances as Inspect<_>>::balance(&EraRewardAccount::get());
		// What rounding leaves unpaid stays in the escrow for later eras.
		assert_eq!(alice_paid + bob_paid + escrow - crate::EXISTENTIAL_DEPOSIT, fees);
		assert!(escrow - crate::EXISTENTIAL_DEPOSIT <= fees / 1_000_000_000, "dust {escrow}");
		assert!(close(bob_paid, fees * 3 / 4), "Bob was paid {bob_paid} of {fees}");
		assert_eq!(<Balances as Inspect<_>>::total_issuance(), issuance);
		// A second claim of the same era is refused.
		assert!(Staking::payout_stakers(RuntimeOrigin::signed(charlie), alice, 1).is_err());
	});
}

//! Staking on the runtime over several eras: the validators' pot that inference fills becomes the
//! era reward, split between a validator and its nominator by stake, with no OPG minted; stored
//! session and era lengths set the pace; a GRANDPA equivocation is reported and, after the slash
//! deferral, slashed to the treasury.

use super::{account, preset_externalities};
use crate::{
	configs::{
		model_hub::{TreasuryAccount, ValidatorPotAccount},
		staking::{
			EraLength, EraRewardAccount, SessionLength, MIN_SESSION_PERIOD, SESSIONS_PER_ERA,
			SESSION_PERIOD, SLASH_DEFER_DURATION,
		},
	},
	Balances, BlockNumber, Grandpa, Hash, Historical, Runtime, RuntimeEvent, RuntimeOrigin,
	Session, Staking, System, OPG,
};
use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, Mutate},
		tokens::Preservation,
		Hooks, KeyOwnerProofSystem,
	},
};
use sp_consensus_grandpa::{AuthorityId as GrandpaId, EquivocationProof, SetId, KEY_TYPE};
use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

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

#[test]
fn stored_session_and_era_lengths_set_the_pace() {
	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		// What a fast test network's genesis stores: 10-block sessions, 2-session eras.
		SessionLength::set(&10);
		EraLength::set(&2);
		run_to(9);
		assert_eq!(Session::current_index(), 0);
		run_to(10);
		assert_eq!(Session::current_index(), 1);
		assert_eq!(active_era(), 0);
		run_to(20);
		assert_eq!(Session::current_index(), 2);
		assert_eq!(active_era(), 1);
		run_to(40);
		assert_eq!((Session::current_index(), active_era()), (4, 2));

		// A stored zero cannot stop rotation: sessions are at least `MIN_SESSION_PERIOD` long,
		// eras at least one session (the era planned in session 5 starts with session 6).
		SessionLength::set(&0);
		EraLength::set(&0);
		run_to(40 + MIN_SESSION_PERIOD);
		assert_eq!((Session::current_index(), active_era()), (5, 2));
		run_to(40 + 2 * MIN_SESSION_PERIOD);
		assert_eq!((Session::current_index(), active_era()), (6, 3));
		run_to(40 + 3 * MIN_SESSION_PERIOD);
		assert_eq!((Session::current_index(), active_era()), (7, 4));
	});
}

/// Prevotes by `signer` in `round` of set `set_id` for the blocks `first` and `second`, signed
/// with its GRANDPA key: an equivocation when the two differ.
fn prevotes(
	signer: Ed25519Keyring,
	set_id: SetId,
	round: u64,
	first: (Hash, BlockNumber),
	second: (Hash, BlockNumber),
) -> EquivocationProof<Hash, BlockNumber> {
	let signed = |(target_hash, target_number): (Hash, BlockNumber)| {
		let prevote = finality_grandpa::Prevote { target_hash, target_number };
		let message = finality_grandpa::Message::Prevote(prevote.clone());
		let payload = sp_consensus_grandpa::localized_payload(round, set_id, &message);
		(prevote, signer.sign(&payload).into())
	};
	EquivocationProof::new(
		set_id,
		sp_consensus_grandpa::Equivocation::Prevote(finality_grandpa::Equivocation {
			round_number: round,
			identity: signer.public().into(),
			first: signed(first),
			second: signed(second),
		}),
	)
}

#[test]
fn a_grandpa_equivocation_is_reported_and_slashed_to_the_treasury() {
	preset_externalities(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		// Short sessions and eras so that the slash deferral passes quickly; the presets make
		// genesis validators invulnerable, this network treats them like any other.
		SessionLength::set(&5);
		EraLength::set(&1);
		pallet_staking::Invulnerables::<Runtime>::kill();
		run_to_era(1);
		let bob = account(Sr25519Keyring::Bob);
		let bob_index = Session::validators()
			.iter()
			.position(|who| *who == bob)
			.and_then(|index| u32::try_from(index).ok())
			.expect("Bob validates");
		let bob_key: GrandpaId = Ed25519Keyring::Bob.public().into();
		let set_id = Grandpa::current_set_id();
		let key_owner_proof =
			Historical::prove((KEY_TYPE, bob_key)).expect("Bob's key is in the session");
		let (one, other) = ((Hash::repeat_byte(1), 3), (Hash::repeat_byte(2), 3));

		// Two votes for the same block, or a proof with another's key, are no equivocation.
		assert_noop!(
			Grandpa::report_equivocation_unsigned(
				RuntimeOrigin::none(),
				Box::new(prevotes(Ed25519Keyring::Bob, set_id, 1, one, one)),
				key_owner_proof.clone(),
			),
			pallet_grandpa::Error::<Runtime>::InvalidEquivocationProof
		);
		assert_noop!(
			Grandpa::report_equivocation_unsigned(
				RuntimeOrigin::none(),
				Box::new(prevotes(Ed25519Keyring::Charlie, set_id, 1, one, other)),
				key_owner_proof.clone(),
			),
			pallet_grandpa::Error::<Runtime>::InvalidKeyOwnershipProof
		);

		let bonded = |who| pallet_staking::Ledger::<Runtime>::get(who).map(|l| l.active);
		let bob_bonded = bonded(&bob).expect("Bob is bonded");
		let treasury_before = Balances::total_balance(&TreasuryAccount::get());
		let issuance = <Balances as Inspect<_>>::total_issuance();
		assert_ok!(Grandpa::report_equivocation_unsigned(
			RuntimeOrigin::none(),
			Box::new(prevotes(Ed25519Keyring::Bob, set_id, 1, one, other)),
			key_owner_proof.clone(),
		));
		// The same offence is reported once.
		assert_noop!(
			Grandpa::report_equivocation_unsigned(
				RuntimeOrigin::none(),
				Box::new(prevotes(Ed25519Keyring::Bob, set_id, 1, one, other)),
				key_owner_proof,
			),
			pallet_grandpa::Error::<Runtime>::DuplicateOffenceReport
		);
		assert!(System::events().iter().any(|record| matches!(
			&record.event,
			RuntimeEvent::Staking(pallet_staking::Event::SlashReported { validator, .. })
				if *validator == bob
		)));
		// Offenders are disabled only up to (n - 1) / 3 of the set, so that the others keep
		// GRANDPA's two-thirds: of three validators none is; his stake waits for the deferral.
		assert!(!Session::disabled_validators().contains(&bob_index));
		assert_eq!(bonded(&bob), Some(bob_bonded));

		// One offender in a set of three is slashed min((3 * 1 / 3)^2, 1) = 100% of his
		// exposure, into the treasury, when the deferral ends; nothing is minted or burned.
		run_to_era(1 + SLASH_DEFER_DURATION + 1);
		let slashed = bob_bonded - bonded(&bob).unwrap_or_default();
		assert_eq!(slashed, bob_bonded);
		assert_eq!(Balances::total_balance(&TreasuryAccount::get()) - treasury_before, slashed);
		assert_eq!(<Balances as Inspect<_>>::total_issuance(), issuance);
		// Alice and Charlie keep their stake.
		assert_eq!(bonded(&account(Sr25519Keyring::Alice)), Some(bob_bonded));
	});
}

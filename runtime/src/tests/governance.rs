//! OpenGov on the runtime: referenda on the protocol-parameters and model-moderation tracks
//! pass with token holders' votes and are enacted with their track's origin, which can do what
//! the track is for and nothing else.

use super::{account, preset_externalities};
use crate::{
	configs::{
		governance::{MODEL_MODERATION_TRACK, PROTOCOL_PARAMETERS_TRACK},
		model_hub::{dynamic_params, RuntimeParameters},
	},
	genesis_config_presets::ENDOWMENT,
	AccountId, ConvictionVoting, OriginCaller, Preimage, Referenda, Runtime, RuntimeCall,
	RuntimeOrigin, Scheduler, System,
};
use frame_support::traits::{schedule::DispatchTime, Get, Hooks, StorePreimage};
use pallet_conviction_voting::{AccountVote, Conviction, Vote};
use pallet_governance_origins::Origin;
use pallet_referenda::ReferendumInfo;
use sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET;
use sp_keyring::Sr25519Keyring;
use sp_runtime::Perbill;

/// Advances to block `to`, running the scheduler that drives referenda and enacts them.
fn run_to(to: u32) {
	let mut now = System::block_number();
	while now < to {
		now += 1;
		System::set_block_number(now);
		Scheduler::on_initialize(now);
	}
}

/// Bob proposes `call` to be dispatched with `origin`, places the decision deposit, and half
/// the development accounts vote aye with half their OPG. Returns the referendum's index.
fn propose_and_vote(origin: OriginCaller, call: RuntimeCall) -> u32 {
	let bob = account(Sr25519Keyring::Bob);
	let index = pallet_referenda::ReferendumCount::<Runtime>::get();
	let proposal = <Preimage as StorePreimage>::bound(call).expect("bounded");
	assert!(Referenda::submit(
		RuntimeOrigin::signed(bob.clone()),
		Box::new(origin),
		proposal,
		DispatchTime::After(0),
	)
	.is_ok());
	assert!(Referenda::place_decision_deposit(RuntimeOrigin::signed(bob), index).is_ok());
	for voter in [
		Sr25519Keyring::Alice,
		Sr25519Keyring::Bob,
		Sr25519Keyring::Charlie,
		Sr25519Keyring::Dave,
		Sr25519Keyring::Eve,
		Sr25519Keyring::Ferdie,
	] {
		let vote = AccountVote::Standard {
			vote: Vote { aye: true, conviction: Conviction::Locked1x },
			balance: ENDOWMENT / 2,
		};
		assert!(ConvictionVoting::vote(RuntimeOrigin::signed(account(voter)), index, vote).is_ok());
	}
	index
}

/// Runs blocks (at most `within`) until referendum `index` is approved, then for the track's
/// enactment delay; returns the block of approval.
fn pass(index: u32, within: u32) -> u32 {
	let start = System::block_number();
	while System::block_number() < start + within {
		run_to(System::block_number() + 1);
		if let Some(ReferendumInfo::Approved(at, ..)) =
			pallet_referenda::ReferendumInfoFor::<Runtime>::get(index)
		{
			return at;
		}
	}
	panic!("referendum {index} not approved within {within} blocks");
}

fn track_of(index: u32) -> Option<u16> {
	match pallet_referenda::ReferendumInfoFor::<Runtime>::get(index) {
		Some(ReferendumInfo::Ongoing(status)) => Some(status.track),
		_ => None,
	}
}

#[test]
fn a_referendum_changes_the_fee_shares_and_settlement_splits_by_them() {
	preset_externalities(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		run_to(1);
		let share = Perbill::from_percent(20);
		let call = RuntimeCall::Parameters(pallet_parameters::Call::set_parameter {
			key_value: RuntimeParameters::Inference(
				dynamic_params::inference::Parameters::TreasuryShare(
					dynamic_params::inference::TreasuryShare,
					Some(share),
				),
			),
		});
		let index =
			propose_and_vote(OriginCaller::GovernanceOrigins(Origin::ProtocolParameters), call);
		assert_eq!(track_of(index), Some(PROTOCOL_PARAMETERS_TRACK));
		assert_eq!(dynamic_params::inference::TreasuryShare::get(), Perbill::from_percent(5));
		let approved = pass(index, 10 * crate::HOURS);
		// Enacted after the track's enactment delay.
		run_to(approved + crate::HOURS + 1);
		assert_eq!(dynamic_params::inference::TreasuryShare::get(), share);
		// Settlement splits execution fees by the new share.
		let execution = 1_000_000;
		let (_, treasury, _) = pallet_verification::Pallet::<Runtime>::execution_split(execution);
		assert_eq!(treasury, 200_000);
		// The voters' OPG stays locked for the conviction's period.
		let alice: AccountId = account(Sr25519Keyring::Alice);
		assert!(pallet_balances::Locks::<Runtime>::get(&alice)
			.iter()
			.any(|lock| lock.amount == ENDOWMENT / 2));
	});
}

#[test]
fn a_moderation_referendum_delists_a_model_and_the_parameters_track_cannot() {
	use modelhub_primitives::schema::{Dim, IoSchema, TensorSpec};
	preset_externalities(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		run_to(1);
		let owner = account(Sr25519Keyring::Charlie);
		let spec = |name: &[u8]| {
			TensorSpec::new(name, modelhub_primitives::tensor::DType::F32, &[Dim::Dynamic])
				.expect("spec")
		};
		let schema = IoSchema {
			inputs: vec![spec(b"x")].try_into().expect("fits"),
			outputs: vec![spec(b"y")].try_into().expect("fits"),
		};
		let model = pallet_model_registry::testing::publish::<Runtime>(
			owner.clone(),
			crate::OPG,
			vec![(owner, sp_runtime::Permill::one())],
			None,
			schema,
			16,
		)
		.expect("published");
		let delist =
			|| RuntimeCall::ModelRegistry(pallet_model_registry::Call::delist_model { model });
		let status = || pallet_model_registry::Models::<Runtime>::get(model).map(|m| m.status);

		// A referendum on the parameters track passes, but its origin cannot delist.
		let wrong =
			propose_and_vote(OriginCaller::GovernanceOrigins(Origin::ProtocolParameters), delist());
		let approved = pass(wrong, 10 * crate::HOURS);
		run_to(approved + crate::HOURS + 1);
		let refused = System::events().iter().any(|record| {
			matches!(
				record.event,
				crate::RuntimeEvent::Scheduler(pallet_scheduler::Event::Dispatched {
					result: Err(sp_runtime::DispatchError::BadOrigin),
					..
				})
			)
		});
		assert!(refused, "the enacted call was refused for its origin");
		assert_eq!(status(), Some(pallet_model_registry::ModelStatus::Active));

		// The moderation track's referendum delists it.
		let index =
			propose_and_vote(OriginCaller::GovernanceOrigins(Origin::ModelModeration), delist());
		assert_eq!(track_of(index), Some(MODEL_MODERATION_TRACK));
		let approved = pass(index, 10 * crate::HOURS);
		run_to(approved + 10 * crate::MINUTES + 1);
		assert_eq!(status(), Some(pallet_model_registry::ModelStatus::Delisted));
	});
}

#[test]
fn track_parameters_are_consistent() {
	use pallet_referenda::TracksInfo;
	assert!(crate::configs::governance::Tracks::check_integrity().is_ok());
}

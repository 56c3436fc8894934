//! Unit tests of the registry: every call's success and every error.

use crate::{mock::*, pallet::*, types::*, Error};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use modelhub_primitives::{
	agreement::{Agreement, Tolerance, MAX_FRAUD_MARGIN, PPB},
	registry::{ModelId, ModelRegistry, Unavailable},
	schema::{Dim, IoSchema, TensorSpec},
	tensor::DType,
};
use sp_runtime::{DispatchError, Permill};

type Registry = crate::Pallet<Test>;

fn bounded<const N: u32>(bytes: &[u8]) -> BoundedVec<u8, frame_support::traits::ConstU32<N>> {
	bytes.to_vec().try_into().expect("fits")
}

fn artifact(uri: &str, size: u64) -> ArtifactOf<Test> {
	Artifact {
		hash: [7; 32],
		size,
		uri: uri.as_bytes().to_vec().try_into().expect("fits"),
		opset: 17,
	}
}

fn good_artifact() -> ArtifactOf<Test> {
	artifact("https://models.example/digits.onnx", 4_096)
}

fn spec(name: &str, dtype: DType, shape: &[Dim]) -> TensorSpec {
	TensorSpec::new(name.as_bytes(), dtype, shape).expect("within bounds")
}

fn schema() -> IoSchema {
	IoSchema {
		inputs: vec![spec("float_input", DType::F32, &[Dim::Dynamic, Dim::Fixed(64)])]
			.try_into()
			.expect("fits"),
		outputs: vec![spec("label", DType::I64, &[Dim::Dynamic])].try_into().expect("fits"),
	}
}

fn split(parts: &[(AccountId, u32)]) -> RoyaltySplitOf<Test> {
	parts.iter().map(|(who, p)| (*who, pct(*p))).collect::<Vec<_>>().try_into().expect("fits")
}

fn publish_with(
	owner: AccountId,
	price: Balance,
	royalties: RoyaltySplitOf<Test>,
	parent: Option<ParentLink>,
) -> Result<ModelId, DispatchError> {
	let id = NextModelId::<Test>::get();
	Registry::publish_model(
		RuntimeOrigin::signed(owner),
		bounded(b"digits"),
		bounded(b"8x8 handwritten digits classifier"),
		good_artifact(),
		schema(),
		16,
		None,
		price,
		royalties,
		parent,
	)?;
	Ok(id)
}

fn publish(owner: AccountId) -> ModelId {
	publish_with(owner, 500, split(&[(owner, 100)]), None).expect("publishes")
}

/// A model of `owner` with a second version published.
fn publish_with_two_versions(owner: AccountId) -> ModelId {
	let id = publish(owner);
	assert_ok!(Registry::publish_version(
		RuntimeOrigin::signed(owner),
		id,
		good_artifact(),
		schema(),
		16,
		None
	));
	id
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::ModelRegistry(HoldReason::ModelDeposit), &who)
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

#[test]
fn publish_model_stores_everything_and_holds_deposits() {
	run(|| {
		let id = publish_with(ALICE, 500, split(&[(ALICE, 70), (BOB, 30)]), None).expect("ok");
		assert_eq!(id, 0);
		assert_eq!(NextModelId::<Test>::get(), 1);
		let model = Models::<Test>::get(id).expect("stored");
		assert_eq!(model.owner, ALICE);
		assert_eq!(model.price, 500);
		assert_eq!(model.version, 1);
		assert_eq!(model.status, ModelStatus::Active);
		assert_eq!(model.depth, 0);
		assert_eq!(model.created, 1);
		let version = Versions::<Test>::get(id, 1).expect("version 1");
		assert_eq!(version.artifact, good_artifact());
		assert_eq!(version.schema, schema());
		assert_eq!(version.output_rounding_bits, 16);
		// No agreement rule given: the default.
		assert_eq!(version.agreement, Agreement::DEFAULT);
		assert_eq!(Registry::call_terms(id).expect("active").agreement, Agreement::DEFAULT);
		assert_eq!(ModelsByOwner::<Test>::get(ALICE).into_inner(), vec![id]);
		assert_eq!(held(ALICE), MODEL_DEPOSIT + VERSION_DEPOSIT);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE - MODEL_DEPOSIT - VERSION_DEPOSIT);
		assert_eq!(
			last_event(),
			Event::<Test>::ModelPublished {
				model: id,
				owner: ALICE,
				artifact_hash: [7; 32],
				price: 500,
				parent: None
			}
			.into()
		);
	});
}

#[test]
fn publish_model_rejects_bad_input_and_changes_nothing() {
	run(|| {
		let call = |name: &[u8], art: ArtifactOf<Test>, sch: IoSchema, bits: u8, price, roy| {
			Registry::publish_model(
				RuntimeOrigin::signed(ALICE),
				bounded(name),
				bounded(b""),
				art,
				sch,
				bits,
				None,
				price,
				roy,
				None,
			)
		};
		let ok_split = || split(&[(ALICE, 100)]);
		assert_noop!(
			call(b"", good_artifact(), schema(), 16, 1, ok_split()),
			Error::<Test>::NameEmpty
		);
		assert_noop!(
			call(b"m", good_artifact(), schema(), 16, MAX_PRICE + 1, ok_split()),
			Error::<Test>::PriceTooHigh
		);
		for uri in ["ftp://host/m.onnx", "https://", "models/m.onnx", ""] {
			assert_noop!(
				call(b"m", artifact(uri, 10), schema(), 16, 1, ok_split()),
				Error::<Test>::UnsupportedUri
			);
		}
		for uri in ["http://h/m.onnx", "file:///m.onnx", "ipfs://bafy"] {
			// Accepted schemes pass the URI check (and then fail on size 0 here).
			assert_noop!(
				call(b"m", artifact(uri, 0), schema(), 16, 1, ok_split()),
				Error::<Test>::ArtifactEmpty
			);
		}
		assert_noop!(
			call(b"m", artifact("https://h/m", (1 << 30) + 1), schema(), 16, 1, ok_split()),
			Error::<Test>::ArtifactTooLarge
		);
		let mut no_outputs = schema();
		no_outputs.outputs = Default::default();
		assert_noop!(
			call(b"m", good_artifact(), no_outputs, 16, 1, ok_split()),
			Error::<Test>::InvalidSchema
		);
		assert_noop!(
			call(b"m", good_artifact(), schema(), 53, 1, ok_split()),
			Error::<Test>::RoundingBitsTooHigh
		);
		let with_agreement = |agreement| {
			Registry::publish_model(
				RuntimeOrigin::signed(ALICE),
				bounded(b"m"),
				bounded(b""),
				good_artifact(),
				schema(),
				16,
				Some(agreement),
				1,
				ok_split(),
				None,
			)
		};
		let tolerance = |absolute_ppb, relative_ppb| Tolerance { absolute_ppb, relative_ppb };
		assert_noop!(
			with_agreement(Agreement { tolerance: tolerance(PPB + 1, 0), fraud_margin: 100 }),
			Error::<Test>::ToleranceTooHigh
		);
		assert_noop!(
			with_agreement(Agreement { tolerance: tolerance(0, PPB + 1), fraud_margin: 100 }),
			Error::<Test>::ToleranceTooHigh
		);
		for fraud_margin in [0, MAX_FRAUD_MARGIN + 1] {
			assert_noop!(
				with_agreement(Agreement { tolerance: tolerance(5_000, 0), fraud_margin }),
				Error::<Test>::FraudMarginOutOfRange
			);
		}
		assert_noop!(
			call(b"m", good_artifact(), schema(), 16, 1, split(&[])),
			Error::<Test>::NoBeneficiaries
		);
		assert_noop!(
			call(b"m", good_artifact(), schema(), 16, 1, split(&[(ALICE, 50), (ALICE, 50)])),
			Error::<Test>::DuplicateBeneficiary
		);
		assert_noop!(
			call(b"m", good_artifact(), schema(), 16, 1, split(&[(ALICE, 100), (BOB, 0)])),
			Error::<Test>::ZeroShare
		);
		assert_noop!(
			call(b"m", good_artifact(), schema(), 16, 1, split(&[(ALICE, 60), (BOB, 30)])),
			Error::<Test>::SharesNotWhole
		);
		assert_noop!(
			Registry::publish_model(
				RuntimeOrigin::signed(PAUPER),
				bounded(b"m"),
				bounded(b""),
				good_artifact(),
				schema(),
				16,
				None,
				1,
				split(&[(PAUPER, 100)]),
				None
			),
			sp_runtime::TokenError::FundsUnavailable
		);
		assert_noop!(
			Registry::publish_model(
				RuntimeOrigin::none(),
				bounded(b"m"),
				bounded(b""),
				good_artifact(),
				schema(),
				16,
				None,
				1,
				ok_split(),
				None
			),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn lineage_is_checked_and_bounded() {
	run(|| {
		let link = |model, share| Some(ParentLink { model, share: pct(share) });
		assert_noop!(
			publish_with(BOB, 1, split(&[(BOB, 100)]), link(9, 10)),
			Error::<Test>::ParentNotFound
		);
		let root = publish(ALICE);
		assert_noop!(
			publish_with(BOB, 1, split(&[(BOB, 100)]), link(root, 100)),
			Error::<Test>::ParentShareTooHigh
		);
		// MaxLineageDepth is 3: root <- a <- b <- c is allowed, one more is not.
		let a = publish_with(BOB, 1, split(&[(BOB, 100)]), link(root, 10)).expect("depth 1");
		let b = publish_with(CHARLIE, 1, split(&[(CHARLIE, 100)]), link(a, 10)).expect("depth 2");
		let c = publish_with(DAVE, 1, split(&[(DAVE, 100)]), link(b, 10)).expect("depth 3");
		assert_eq!(Models::<Test>::get(c).expect("c").depth, 3);
		assert_noop!(
			publish_with(DAVE, 1, split(&[(DAVE, 100)]), link(c, 10)),
			Error::<Test>::LineageTooDeep
		);
	});
}

#[test]
fn an_owner_has_a_bounded_number_of_models() {
	run(|| {
		for _ in 0..4 {
			publish(ALICE);
		}
		assert_noop!(
			publish_with(ALICE, 1, split(&[(ALICE, 100)]), None),
			Error::<Test>::TooManyModels
		);
	});
}

#[test]
fn publish_version_keeps_history_and_holds_a_deposit() {
	run(|| {
		let id = publish(ALICE);
		let next = artifact("ipfs://bafy-v2", 8_192);
		// An exact-agreement version: differing outputs are fraud at once.
		let exact = Agreement { tolerance: Tolerance::EXACT, fraud_margin: 1 };
		assert_ok!(Registry::publish_version(
			RuntimeOrigin::signed(ALICE),
			id,
			next.clone(),
			schema(),
			12,
			Some(exact)
		));
		let model = Models::<Test>::get(id).expect("model");
		assert_eq!(model.version, 2);
		assert_eq!(Versions::<Test>::get(id, 1).expect("v1").artifact, good_artifact());
		assert_eq!(Versions::<Test>::get(id, 2).expect("v2").artifact, next);
		assert_eq!(Versions::<Test>::get(id, 2).expect("v2").output_rounding_bits, 12);
		assert_eq!(Versions::<Test>::get(id, 2).expect("v2").agreement, exact);
		assert_eq!(Versions::<Test>::get(id, 1).expect("v1").agreement, Agreement::DEFAULT);
		assert_eq!(held(ALICE), MODEL_DEPOSIT + 2 * VERSION_DEPOSIT);
		assert_eq!(
			last_event(),
			Event::<Test>::VersionPublished { model: id, version: 2, artifact_hash: [7; 32] }
				.into()
		);
		assert_eq!(Registry::call_terms(id).expect("active").version, 2);
	});
}

#[test]
fn publish_version_errors() {
	run(|| {
		let id = publish(ALICE);
		let call = |who, model, art, bits| {
			Registry::publish_version(RuntimeOrigin::signed(who), model, art, schema(), bits, None)
		};
		assert_noop!(call(ALICE, 42, good_artifact(), 16), Error::<Test>::ModelNotFound);
		assert_noop!(call(BOB, id, good_artifact(), 16), Error::<Test>::NotModelOwner);
		assert_noop!(call(ALICE, id, artifact("s3://b/m", 1), 16), Error::<Test>::UnsupportedUri);
		assert_noop!(call(ALICE, id, good_artifact(), 60), Error::<Test>::RoundingBitsTooHigh);
		let with_rule = |agreement| {
			Registry::publish_version(
				RuntimeOrigin::signed(ALICE),
				id,
				good_artifact(),
				schema(),
				16,
				Some(agreement),
			)
		};
		let loose = Tolerance { absolute_ppb: 0, relative_ppb: PPB + 1 };
		assert_noop!(
			with_rule(Agreement { tolerance: loose, fraud_margin: 2 }),
			Error::<Test>::ToleranceTooHigh
		);
		assert_noop!(
			with_rule(Agreement { fraud_margin: 0, ..Agreement::DEFAULT }),
			Error::<Test>::FraudMarginOutOfRange
		);
		for _ in 2..=5 {
			assert_ok!(call(ALICE, id, good_artifact(), 16));
		}
		assert_noop!(call(ALICE, id, good_artifact(), 16), Error::<Test>::TooManyVersions);
		assert_ok!(Registry::delist_model(RuntimeOrigin::root(), id));
		let other = publish(BOB);
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(BOB), other, ModelStatus::Retired));
		assert_noop!(call(ALICE, id, good_artifact(), 16), Error::<Test>::ModelDelisted);
		assert_noop!(call(BOB, other, good_artifact(), 16), Error::<Test>::ModelRetired);
	});
}

#[test]
fn set_price_applies_and_is_checked() {
	run(|| {
		let id = publish(ALICE);
		assert_ok!(Registry::set_price(RuntimeOrigin::signed(ALICE), id, 900));
		assert_eq!(Registry::call_terms(id).expect("active").price, 900);
		assert_eq!(last_event(), Event::<Test>::PriceSet { model: id, price: 900 }.into());
		assert_ok!(Registry::set_price(RuntimeOrigin::signed(ALICE), id, 0));
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), id, MAX_PRICE + 1),
			Error::<Test>::PriceTooHigh
		);
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(BOB), id, 1),
			Error::<Test>::NotModelOwner
		);
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), 7, 1),
			Error::<Test>::ModelNotFound
		);
	});
}

#[test]
fn set_royalties_replaces_the_split() {
	run(|| {
		let id = publish(ALICE);
		let new = split(&[(BOB, 25), (CHARLIE, 75)]);
		assert_ok!(Registry::set_royalties(RuntimeOrigin::signed(ALICE), id, new.clone()));
		assert_eq!(Models::<Test>::get(id).expect("model").royalties, new);
		assert_eq!(
			last_event(),
			Event::<Test>::RoyaltiesSet { model: id, beneficiaries: 2 }.into()
		);
		assert_noop!(
			Registry::set_royalties(RuntimeOrigin::signed(ALICE), id, split(&[(BOB, 99)])),
			Error::<Test>::SharesNotWhole
		);
		assert_noop!(
			Registry::set_royalties(RuntimeOrigin::signed(BOB), id, split(&[(BOB, 100)])),
			Error::<Test>::NotModelOwner
		);
		assert_noop!(
			Registry::set_royalties(RuntimeOrigin::signed(ALICE), 3, split(&[(BOB, 100)])),
			Error::<Test>::ModelNotFound
		);
	});
}

#[test]
fn pause_resume_and_retire() {
	run(|| {
		let id = publish_with_two_versions(ALICE);
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Paused));
		assert_eq!(Registry::call_terms(id), Err(Unavailable::Paused));
		assert_noop!(
			Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Paused),
			Error::<Test>::InvalidStatusTransition
		);
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Active));
		assert!(Registry::call_terms(id).is_ok());
		assert_noop!(
			Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Delisted),
			Error::<Test>::InvalidStatusTransition
		);
		assert_noop!(
			Registry::set_status(RuntimeOrigin::signed(BOB), id, ModelStatus::Retired),
			Error::<Test>::NotModelOwner
		);

		assert_eq!(held(ALICE), MODEL_DEPOSIT + 2 * VERSION_DEPOSIT);
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Retired));
		// The records stay, and so do their deposits, until the owner removes them.
		assert_eq!(held(ALICE), MODEL_DEPOSIT + 2 * VERSION_DEPOSIT);
		assert_eq!(Registry::call_terms(id), Err(Unavailable::Retired));
		assert_eq!(
			last_event(),
			Event::<Test>::StatusChanged { model: id, status: ModelStatus::Retired }.into()
		);
		for status in [ModelStatus::Active, ModelStatus::Paused, ModelStatus::Retired] {
			assert_noop!(
				Registry::set_status(RuntimeOrigin::signed(ALICE), id, status),
				Error::<Test>::ModelRetired
			);
		}
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), id, 1),
			Error::<Test>::ModelRetired
		);
		assert_noop!(
			Registry::set_status(RuntimeOrigin::signed(ALICE), 9, ModelStatus::Paused),
			Error::<Test>::ModelNotFound
		);
	});
}

#[test]
fn deposits_return_to_whoever_paid_them_after_a_transfer() {
	run(|| {
		let id = publish(ALICE);
		assert_ok!(Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_ok!(Registry::publish_version(
			RuntimeOrigin::signed(BOB),
			id,
			good_artifact(),
			schema(),
			16,
			None
		));
		assert_eq!(held(ALICE), MODEL_DEPOSIT + VERSION_DEPOSIT);
		assert_eq!(held(BOB), VERSION_DEPOSIT);
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(BOB), id, ModelStatus::Retired));
		System::set_block_number(System::block_number() + REMOVAL_DELAY);
		assert_ok!(Registry::remove_model(RuntimeOrigin::signed(BOB), id));
		assert_eq!(held(ALICE), 0);
		assert_eq!(held(BOB), 0);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE);
		assert_eq!(Balances::balance(&BOB), INITIAL_BALANCE);
	});
}

#[test]
fn a_retired_model_holds_its_deposits_until_its_owner_removes_its_records() {
	run(|| {
		let id = publish_with_two_versions(ALICE);
		let remove = |who: AccountId, model: ModelId| {
			Registry::remove_model(RuntimeOrigin::signed(who), model).map(|_| ())
		};
		assert_noop!(remove(ALICE, 9), Error::<Test>::ModelNotFound);
		assert_noop!(remove(ALICE, id), Error::<Test>::ModelNotRetired);
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Retired));
		let retired_at = System::block_number();
		assert_noop!(remove(BOB, id), Error::<Test>::NotModelOwner);
		System::set_block_number(retired_at + REMOVAL_DELAY - 1);
		assert_noop!(remove(ALICE, id), Error::<Test>::RetiredTooRecently);
		assert_eq!(held(ALICE), MODEL_DEPOSIT + 2 * VERSION_DEPOSIT);

		System::set_block_number(retired_at + REMOVAL_DELAY);
		assert_ok!(remove(ALICE, id));
		assert_eq!(last_event(), Event::<Test>::ModelRemoved { model: id, versions: 2 }.into());
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE);
		assert!(Models::<Test>::get(id).is_none());
		assert!(Versions::<Test>::iter_prefix(id).next().is_none());
		assert!(!ModelUsage::<Test>::contains_key(id));
		assert!(ModelsByOwner::<Test>::get(ALICE).is_empty());
		assert_eq!(Registry::call_terms(id), Err(Unavailable::NotFound));
		assert_eq!(Registry::version_terms(id, 1), None);
		assert_noop!(remove(ALICE, id), Error::<Test>::ModelNotFound);
	});
}

#[test]
fn a_removed_ancestor_ends_the_lineage_and_its_share_stays_below() {
	run(|| {
		let parent = publish(ALICE);
		let link = ParentLink { model: parent, share: pct(50) };
		let child = publish_with(BOB, 500, split(&[(BOB, 100)]), Some(link)).expect("publishes");
		assert_ok!(Registry::set_status(
			RuntimeOrigin::signed(ALICE),
			parent,
			ModelStatus::Retired
		));
		// Retired but kept, the parent still earns from its child's calls.
		let payout = Registry::royalty_payout(child, 1_000).expect("payout");
		assert!(payout.iter().any(|(who, _)| *who == ALICE), "{payout:?}");
		System::set_block_number(System::block_number() + REMOVAL_DELAY);
		assert_ok!(Registry::remove_model(RuntimeOrigin::signed(ALICE), parent));
		let payout = Registry::royalty_payout(child, 1_000).expect("payout");
		assert_eq!(payout.iter().map(|(_, amount)| amount).sum::<Balance>(), 1_000);
		assert!(payout.iter().all(|(who, _)| *who != ALICE), "{payout:?}");
	});
}

#[test]
fn transfer_ownership_moves_the_model() {
	run(|| {
		let id = publish(ALICE);
		assert_ok!(Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_eq!(Models::<Test>::get(id).expect("model").owner, BOB);
		assert!(ModelsByOwner::<Test>::get(ALICE).is_empty());
		assert_eq!(ModelsByOwner::<Test>::get(BOB).into_inner(), vec![id]);
		assert_eq!(
			last_event(),
			Event::<Test>::OwnershipTransferred { model: id, from: ALICE, to: BOB }.into()
		);
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), id, 1),
			Error::<Test>::NotModelOwner
		);
		assert_noop!(
			Registry::transfer_ownership(RuntimeOrigin::signed(BOB), id, BOB),
			Error::<Test>::AlreadyOwner
		);
		assert_noop!(
			Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, CHARLIE),
			Error::<Test>::NotModelOwner
		);
		assert_noop!(
			Registry::transfer_ownership(RuntimeOrigin::signed(BOB), 5, CHARLIE),
			Error::<Test>::ModelNotFound
		);
		for _ in 0..4 {
			publish(CHARLIE);
		}
		assert_noop!(
			Registry::transfer_ownership(RuntimeOrigin::signed(BOB), id, CHARLIE),
			Error::<Test>::TooManyModels
		);
	});
}

#[test]
fn delist_model_is_for_moderation_only() {
	run(|| {
		let id = publish(ALICE);
		assert_noop!(
			Registry::delist_model(RuntimeOrigin::signed(ALICE), id),
			DispatchError::BadOrigin
		);
		assert_noop!(
			Registry::delist_model(RuntimeOrigin::root(), 8),
			Error::<Test>::ModelNotFound
		);
		assert_ok!(Registry::delist_model(RuntimeOrigin::root(), id));
		assert_eq!(last_event(), Event::<Test>::ModelDelisted { model: id }.into());
		assert_eq!(Registry::call_terms(id), Err(Unavailable::Delisted));
		assert_noop!(
			Registry::delist_model(RuntimeOrigin::root(), id),
			Error::<Test>::ModelDelisted
		);
		assert_noop!(
			Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Active),
			Error::<Test>::ModelDelisted
		);
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), id, 1),
			Error::<Test>::ModelDelisted
		);
		// The owner can still retire it, and later remove it and recover the deposits.
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Retired));
		assert_noop!(
			Registry::delist_model(RuntimeOrigin::root(), id),
			Error::<Test>::ModelRetired
		);
		System::set_block_number(System::block_number() + REMOVAL_DELAY);
		assert_ok!(Registry::remove_model(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(held(ALICE), 0);
	});
}

#[test]
fn call_terms_and_usage() {
	run(|| {
		assert_eq!(Registry::call_terms(0), Err(Unavailable::NotFound));
		let id = publish(ALICE);
		let terms = Registry::call_terms(id).expect("active");
		assert_eq!(terms.price, 500);
		assert_eq!(terms.artifact_hash, [7; 32]);
		assert_eq!(terms.artifact_size, 4_096);
		assert_eq!(terms.schema, schema());
		assert_eq!(terms.output_rounding_bits, 16);

		System::set_block_number(5);
		Registry::note_calls(id, &BOB, 1, 500);
		Registry::note_calls(id, &CHARLIE, 1, 300);
		Registry::note_calls(id, &BOB, 1, 0);
		Registry::note_failure(id);
		let usage = ModelUsage::<Test>::get(id);
		assert_eq!(
			(usage.calls, usage.failures, usage.revenue, usage.last_call),
			(3, 1, 800, Some(5))
		);
		assert_eq!(usage.payers.estimate(), 2);

		// Terms of a version stay readable when the model is paused.
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Paused));
		assert_eq!(Registry::call_terms(id), Err(Unavailable::Paused));
		assert_eq!(Registry::version_terms(id, 1), Some(terms));
		assert_eq!(Registry::version_terms(id, 2), None);
	});
}

#[test]
fn royalty_payout_follows_shares_and_lineage() {
	run(|| {
		assert_eq!(Registry::royalty_payout(3, 100), None);
		let root = publish_with(ALICE, 1, split(&[(ALICE, 50), (BOB, 50)]), None).expect("root");
		let child = publish_with(
			CHARLIE,
			1,
			split(&[(CHARLIE, 100)]),
			Some(ParentLink { model: root, share: pct(20) }),
		)
		.expect("child");
		// 1000 to the child: 200 up to the root (100 Alice, 100 Bob), 800 to Charlie.
		let mut payout = Registry::royalty_payout(child, 1_000).expect("exists");
		payout.sort();
		assert_eq!(payout, vec![(ALICE, 100), (BOB, 100), (CHARLIE, 800)]);
		// Rounding dust goes to the first beneficiary of the level: 7 split 50/50 is 4 + 3.
		let mut payout = Registry::royalty_payout(root, 7).expect("exists");
		payout.sort();
		assert_eq!(payout, vec![(ALICE, 4), (BOB, 3)]);
		assert_eq!(Registry::royalty_payout(root, 0), Some(vec![]));
	});
}

#[test]
fn an_account_on_several_levels_is_paid_once() {
	run(|| {
		let root = publish_with(ALICE, 1, split(&[(ALICE, 100)]), None).expect("root");
		let child = publish_with(
			ALICE,
			1,
			split(&[(ALICE, 40), (BOB, 60)]),
			Some(ParentLink { model: root, share: pct(50) }),
		)
		.expect("child");
		let payout = Registry::royalty_payout(child, 100).expect("exists");
		assert_eq!(payout.iter().filter(|(who, _)| *who == ALICE).count(), 1);
		assert_eq!(payout.iter().map(|(_, amount)| amount).sum::<Balance>(), 100);
		assert!(payout.contains(&(ALICE, 70)) && payout.contains(&(BOB, 30)));
	});
}

/// A small deterministic generator for property tests (xorshift64*).
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 >> 12;
		self.0 ^= self.0 << 25;
		self.0 ^= self.0 >> 27;
		self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
	}

	fn below(&mut self, n: u64) -> u64 {
		self.next() % n
	}
}

/// Random shares of `n` parts summing to exactly one million parts per million.
fn random_split(rng: &mut Rng, accounts: &[AccountId]) -> RoyaltySplitOf<Test> {
	let n = accounts.len();
	let mut cuts: Vec<u32> = (0..n - 1).map(|_| 1 + rng.below(999_998) as u32).collect();
	cuts.sort();
	cuts.dedup();
	let mut shares = Vec::new();
	let mut last = 0;
	for cut in cuts.iter().chain(core::iter::once(&1_000_000)) {
		shares.push(cut - last);
		last = *cut;
	}
	accounts
		.iter()
		.zip(shares)
		.map(|(who, parts)| (*who, Permill::from_parts(parts)))
		.collect::<Vec<_>>()
		.try_into()
		.expect("fits")
}

#[test]
fn property_payouts_sum_to_the_amount_and_pay_each_account_once() {
	let mut rng = Rng(0x5eed_1234_abcd_0001);
	for _case in 0..200 {
		run(|| {
			// A random lineage of up to four models with random splits over a small account
			// pool, so accounts repeat across levels.
			let pool = [ALICE, BOB, CHARLIE, DAVE];
			let levels = 1 + rng.below(4) as usize;
			let mut parent = None;
			let mut last = 0;
			for level in 0..levels {
				let count = 1 + rng.below(4) as usize;
				let start = rng.below(4) as usize;
				let accounts: Vec<AccountId> = (0..count).map(|i| pool[(start + i) % 4]).collect();
				let owner = pool[level % 4];
				last = publish_with(owner, 1, random_split(&mut rng, &accounts), parent)
					.expect("publishes");
				parent = Some(ParentLink {
					model: last,
					share: Permill::from_parts(rng.below(1_000_000) as u32),
				});
			}
			let amount = match rng.below(3) {
				0 => rng.below(10) as Balance,
				1 => rng.below(1_000_000) as Balance,
				_ => (rng.next() as Balance) << 40,
			};
			let payout = Registry::royalty_payout(last, amount).expect("exists");
			assert_eq!(payout.iter().map(|(_, a)| *a).sum::<Balance>(), amount);
			for (i, (who, part)) in payout.iter().enumerate() {
				assert!(*part > 0);
				assert!(payout.iter().skip(i + 1).all(|(other, _)| other != who));
			}
		});
	}
}

#[test]
fn a_delisted_ancestor_earns_nothing_and_its_part_stays_below_it() {
	run(|| {
		let root = publish_with(DAVE, 1, split(&[(DAVE, 100)]), None).expect("root");
		let middle = publish_with(
			ALICE,
			1,
			split(&[(ALICE, 50), (BOB, 50)]),
			Some(ParentLink { model: root, share: pct(50) }),
		)
		.expect("middle");
		let child = publish_with(
			CHARLIE,
			1,
			split(&[(CHARLIE, 100)]),
			Some(ParentLink { model: middle, share: pct(20) }),
		)
		.expect("child");
		// 1000 to the child: 800 to Charlie, 200 up; of that 100 to the middle level (50 Alice,
		// 50 Bob) and 100 to the root's Dave.
		let mut payout = Registry::royalty_payout(child, 1_000).expect("exists");
		payout.sort();
		assert_eq!(payout, vec![(ALICE, 50), (BOB, 50), (CHARLIE, 800), (DAVE, 100)]);

		assert_ok!(Registry::delist_model(RuntimeOrigin::root(), middle));
		// The delisted middle's 100 stays with the child's authors; the root above it still
		// gets its 100.
		let mut payout = Registry::royalty_payout(child, 1_000).expect("exists");
		payout.sort();
		assert_eq!(payout, vec![(CHARLIE, 900), (DAVE, 100)]);

		// A delisted root: what would reach it stays with the nearest level that earns.
		assert_ok!(Registry::delist_model(RuntimeOrigin::root(), root));
		let payout = Registry::royalty_payout(child, 1_000).expect("exists");
		assert_eq!(payout, vec![(CHARLIE, 1_000)]);
	});
}

/// The market's totals, kept one call at a time, against a recount from every model's usage;
/// pages against a full sort.
fn assert_market_matches_a_recount() {
	use modelhub_primitives::{api::ModelOrder, stats::concentration};
	let mut usage: Vec<(ModelId, u64, Balance)> = Models::<Test>::iter_keys()
		.map(|id| {
			let usage = ModelUsage::<Test>::get(id);
			(id, usage.calls, usage.revenue)
		})
		.collect();
	let volumes: Vec<u64> = usage.iter().map(|(_, calls, _)| *calls).collect();
	let (market, royalties) = Registry::market_concentration();
	assert_eq!(market, concentration(&volumes));
	assert_eq!(royalties, usage.iter().map(|(_, _, revenue)| revenue).sum::<Balance>());
	for (id, calls, _) in &usage {
		let more = volumes.iter().filter(|other| **other > *calls).count() as u64;
		assert_eq!(Registry::models_with_more_calls(*calls), more, "model {id}");
	}
	usage.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
	let by_calls: Vec<ModelId> = usage.iter().map(|(id, _, _)| *id).collect();
	usage.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
	let by_revenue: Vec<ModelId> = usage.iter().map(|(id, _, _)| *id).collect();
	let mut newest = by_calls.clone();
	newest.sort_by(|a, b| b.cmp(a));
	for (order, expected) in [
		(ModelOrder::Calls, by_calls),
		(ModelOrder::Revenue, by_revenue),
		(ModelOrder::Newest, newest),
	] {
		assert_eq!(Registry::models_page(order, 0, u32::MAX), expected, "{order:?}");
		let (offset, limit) = (expected.len() / 3, 4);
		let page: Vec<ModelId> = expected.iter().skip(offset).take(limit).copied().collect();
		assert_eq!(Registry::models_page(order, offset as u32, limit as u32), page, "{order:?}");
	}
}

#[test]
fn market_totals_and_pages_follow_every_call() {
	let mut rng = Rng(0x6d61_726b_6574_0001);
	run(|| {
		assert_eq!(Registry::market_concentration().0, Default::default());
		// Each owner may own four models.
		let owners = [ALICE, BOB, CHARLIE, DAVE];
		let mut models = Vec::new();
		for step in 0..600u32 {
			if models.is_empty() || (models.len() < 16 && rng.below(30) == 0) {
				models.push(publish(owners[models.len() % 4]));
			} else {
				// Skewed demand: low ids are called most; some calls earn nothing.
				let pick = (rng.below(models.len() as u64) * rng.below(models.len() as u64))
					/ models.len() as u64;
				let royalty = if rng.below(4) == 0 { 0 } else { 1 + rng.below(1_000) as Balance };
				// Some settlements count several calls at once (a channel's batch).
				let calls = if rng.below(4) == 0 { 2 + rng.below(6) } else { 1 };
				let payer = &owners[rng.below(3) as usize];
				Registry::note_calls(models[pick as usize], payer, calls, royalty);
			}
			if step.is_multiple_of(50) {
				assert_market_matches_a_recount();
			}
		}
		assert_market_matches_a_recount();
		assert!(Registry::market_concentration().0.calls > 400);
	});
}

#[test]
fn a_removed_model_leaves_the_pages_and_its_calls_stay_in_the_totals() {
	use modelhub_primitives::api::ModelOrder;
	run(|| {
		let gone = publish(ALICE);
		let kept = publish(BOB);
		for _ in 0..3 {
			Registry::note_calls(gone, &CHARLIE, 1, 10);
		}
		Registry::note_calls(kept, &CHARLIE, 1, 10);
		let before = Registry::market_concentration();
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(ALICE), gone, ModelStatus::Retired));
		System::set_block_number(System::block_number() + REMOVAL_DELAY);
		assert_ok!(Registry::remove_model(RuntimeOrigin::signed(ALICE), gone));

		for order in [ModelOrder::Calls, ModelOrder::Revenue, ModelOrder::Newest] {
			assert_eq!(Registry::models_page(order, 0, 10), vec![kept]);
		}
		assert_eq!(Registry::market_concentration(), before);
		assert_eq!((before.0.calls, before.0.models_called, before.1), (4, 2, 40));
		// The removed model still counts among those with more calls than `kept`.
		assert_eq!(Registry::models_with_more_calls(1), 1);
	});
}

#[test]
fn the_price_floor_keeps_earlier_prices_for_the_grace_period() {
	run(|| {
		let id = publish(ALICE);
		assert_eq!(Registry::price_floor(id), Some(500));
		assert_eq!(Registry::price_floor(id + 1), None);

		System::set_block_number(10);
		assert_ok!(Registry::set_price(RuntimeOrigin::signed(ALICE), id, 800));
		// Calls accepted at 500 still settle for a while.
		assert_eq!(Registry::price_floor(id), Some(500));
		System::set_block_number(15);
		assert_ok!(Registry::set_price(RuntimeOrigin::signed(ALICE), id, 900));
		assert_eq!(Registry::price_floor(id), Some(500));
		System::set_block_number(15 + PRICE_GRACE);
		assert_eq!(Registry::price_floor(id), Some(500));
		System::set_block_number(16 + PRICE_GRACE);
		assert_eq!(Registry::price_floor(id), Some(900));

		// A lower price is the floor at once.
		assert_ok!(Registry::set_price(RuntimeOrigin::signed(ALICE), id, 100));
		assert_eq!(Registry::price_floor(id), Some(100));
		System::set_block_number(100);
		assert_eq!(Registry::price_floor(id), Some(100));

		// Removing the model forgets its floor.
		assert_ok!(Registry::set_status(RuntimeOrigin::signed(ALICE), id, ModelStatus::Retired));
		System::set_block_number(100 + REMOVAL_DELAY);
		assert_ok!(Registry::remove_model(RuntimeOrigin::signed(ALICE), id));
		assert!(!PriceFloors::<Test>::contains_key(id));
		assert_eq!(Registry::price_floor(id), None);
	});
}

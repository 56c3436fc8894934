//! Runtime tests: genesis presets build, and a signed transfer pays its fee in OPG.

mod channels;
mod governance;
mod staking;

use crate::{
	genesis_config_presets::{self, ENDOWMENT},
	AccountId, Balance, Balances, BalancesCall, Executive, Header, Runtime, RuntimeCall,
	RuntimeEvent, RuntimeGenesisConfig, SignedPayload, System, TxExtension, UncheckedExtrinsic,
	OPG,
};
use codec::Encode;
use frame_support::traits::fungible::Inspect;
use serde_json::Value;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{generic::Era, traits::Header as _};

/// Applies a JSON merge patch (RFC 7386) the way the node applies a preset to the defaults.
fn merge(base: &mut Value, patch: Value) {
	match (base, patch) {
		(Value::Object(base), Value::Object(patch)) => {
			for (key, value) in patch {
				if value.is_null() {
					base.remove(&key);
				} else {
					merge(base.entry(key).or_insert(Value::Null), value);
				}
			}
		},
		(base, patch) => *base = patch,
	}
}

/// Builds the genesis state of the named preset into fresh externalities.
fn preset_externalities(name: &str) -> sp_io::TestExternalities {
	let patch = genesis_config_presets::get_preset(&PresetId::from(name))
		.unwrap_or_else(|| panic!("preset {name} exists"));
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).expect("defaults");
	merge(&mut config, serde_json::from_slice(&patch).expect("preset is JSON"));
	let config_bytes = serde_json::to_vec(&config).expect("serializes");

	let mut ext = sp_io::TestExternalities::new_empty();
	ext.execute_with(|| {
		frame_support::genesis_builder_helper::build_state::<RuntimeGenesisConfig>(config_bytes)
			.expect("genesis builds");
	});
	ext
}

/// Alice's free balance at genesis: she validates, so her bond is held.
const ALICE_FREE: Balance = ENDOWMENT - crate::configs::staking::GENESIS_VALIDATOR_BOND;

fn account(who: Sr25519Keyring) -> AccountId {
	who.to_account_id()
}

#[test]
fn every_preset_is_listed_and_builds() {
	let names = genesis_config_presets::preset_names();
	assert_eq!(names.len(), 2);
	for name in [DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET] {
		assert!(names.contains(&PresetId::from(name)));
		preset_externalities(name).execute_with(|| {
			for who in genesis_config_presets::endowed_accounts() {
				// Validators' stashes hold their bond; every account owns its endowment.
				assert_eq!(Balances::total_balance(&who), ENDOWMENT);
			}
		});
	}
	// Only the dev chain has a sudo key.
	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(account(Sr25519Keyring::Alice)));
	});
	preset_externalities(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), None);
	});
	assert!(genesis_config_presets::get_preset(&PresetId::from("no-such-preset")).is_none());
}

#[test]
fn dev_has_one_validator_and_local_has_three() {
	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 1);
		assert_eq!(pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(), 1);
	});
	preset_externalities(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 3);
		assert_eq!(pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(), 3);
	});
}

/// The transaction extensions of an immortal transaction with the given nonce.
fn extensions(nonce: u32) -> TxExtension {
	(
		frame_system::AuthorizeCall::<Runtime>::new(),
		frame_system::CheckNonZeroSender::<Runtime>::new(),
		frame_system::CheckSpecVersion::<Runtime>::new(),
		frame_system::CheckTxVersion::<Runtime>::new(),
		frame_system::CheckGenesis::<Runtime>::new(),
		frame_system::CheckEra::<Runtime>::from(Era::Immortal),
		frame_system::CheckNonce::<Runtime>::from(nonce),
		frame_system::CheckWeight::<Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
		pallet_inference::CheckInferenceRequest::<Runtime>::new(),
		frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
		frame_system::WeightReclaim::<Runtime>::new(),
	)
}

/// A transaction signed by `signer`, exactly as a wallet builds it.
fn signed(signer: Sr25519Keyring, call: RuntimeCall, nonce: u32) -> UncheckedExtrinsic {
	let extensions = extensions(nonce);
	let payload = SignedPayload::new(call.clone(), extensions.clone()).expect("valid payload");
	let signature = payload.using_encoded(|bytes| signer.sign(bytes));
	UncheckedExtrinsic::new_signed(
		call,
		signer.to_account_id().into(),
		signature.into(),
		extensions,
	)
}

/// Initializes block 1 on top of genesis, as a block author would.
fn start_block_one() {
	let header = Header::new(
		1,
		Default::default(),
		Default::default(),
		System::parent_hash(),
		Default::default(),
	);
	Executive::initialize_block(&header);
}

fn fee_paid_by(who: &AccountId) -> Option<Balance> {
	System::events().into_iter().find_map(|record| match record.event {
		RuntimeEvent::TransactionPayment(
			pallet_transaction_payment::Event::TransactionFeePaid {
				who: payer, actual_fee, ..
			},
		) if &payer == who => Some(actual_fee),
		_ => None,
	})
}

#[test]
fn signed_transfer_moves_funds_and_pays_its_fee_in_opg() {
	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		let alice = account(Sr25519Keyring::Alice);
		let bob = account(Sr25519Keyring::Bob);
		let issuance_before = Balances::total_issuance();
		start_block_one();

		let amount = 10 * OPG;
		let call = RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
			dest: bob.clone().into(),
			value: amount,
		});
		let outcome = Executive::apply_extrinsic(signed(Sr25519Keyring::Alice, call, 0))
			.expect("transaction is valid");
		assert!(outcome.is_ok(), "transfer dispatched: {outcome:?}");

		let fee = fee_paid_by(&alice).expect("a fee was charged");
		assert!(fee > 0, "the fee is positive");
		assert!(fee < OPG / 100, "a transfer costs less than 0.01 OPG, paid {fee}");
		assert_eq!(Balances::balance(&bob), ENDOWMENT + amount);
		assert_eq!(Balances::balance(&alice), ALICE_FREE - amount - fee);
		// Fees are burned: issuance falls by exactly the fee.
		assert_eq!(Balances::total_issuance(), issuance_before - fee);
		assert_eq!(System::account_nonce(&alice), 1);
	});
}

#[test]
fn transfer_with_a_bad_signature_is_rejected_and_charges_nothing() {
	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		let alice = account(Sr25519Keyring::Alice);
		start_block_one();

		let call = RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
			dest: account(Sr25519Keyring::Bob).into(),
			value: OPG,
		});
		// Signed by Bob but claiming to come from Alice.
		let bob_signed = signed(Sr25519Keyring::Bob, call.clone(), 0);
		let forged = UncheckedExtrinsic::new_signed(
			call,
			alice.clone().into(),
			match bob_signed.preamble {
				sp_runtime::generic::Preamble::Signed(_, signature, _) => signature,
				_ => panic!("signed"),
			},
			extensions(0),
		);
		assert!(Executive::apply_extrinsic(forged).is_err());
		assert_eq!(Balances::balance(&alice), ALICE_FREE);
		assert_eq!(fee_paid_by(&alice), None);
	});
}

/// A canonical tensor set with one f32 tensor `name`.
fn tensors(name: &str, values: &[f32]) -> Vec<u8> {
	use modelhub_primitives::tensor::{DType, Limits, Tensor, TensorSet};
	let tensor = Tensor {
		name: name.as_bytes().to_vec(),
		dtype: DType::F32,
		shape: vec![values.len() as u64],
		data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
	};
	TensorSet::new(vec![tensor], &Limits::default()).expect("valid set").encode()
}

/// Charlie registers as a worker (100 OPG, capacity 4) with Ferdie's key as its attestation
/// key, in a transaction of nonce `nonce`; returns the attestation key.
fn register_charlie(nonce: u32) -> Sr25519Keyring {
	let attestation_key = Sr25519Keyring::Ferdie;
	apply(
		Sr25519Keyring::Charlie,
		RuntimeCall::Verification(pallet_verification::Call::register_worker {
			bond: 100 * OPG,
			attestation_key: attestation_key.public().0,
			meta: pallet_verification::WorkerMeta {
				runtime: b"onnxruntime 1.31.1".to_vec().try_into().expect("fits"),
				capacity: 4,
				profile: Default::default(),
			},
		}),
		nonce,
	);
	attestation_key
}

fn apply(signer: Sr25519Keyring, call: RuntimeCall, nonce: u32) {
	let outcome = Executive::apply_extrinsic(signed(signer, call, nonce)).expect("valid");
	assert!(outcome.is_ok(), "dispatched: {outcome:?}");
}

#[test]
fn a_paid_inference_settles_through_signed_transactions() {
	use crate::configs::model_hub::{dynamic_params, TreasuryAccount, ValidatorPotAccount};
	use modelhub_primitives::schema::{Dim, IoSchema, TensorSpec};
	use sp_runtime::{Perbill, Permill};

	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		let (alice, bob) = (account(Sr25519Keyring::Alice), account(Sr25519Keyring::Bob));
		let (worker, requester) = (account(Sr25519Keyring::Charlie), account(Sr25519Keyring::Dave));
		let (pot, treasury) = (ValidatorPotAccount::get(), TreasuryAccount::get());
		assert_eq!(Balances::balance(&pot), crate::EXISTENTIAL_DEPOSIT);
		assert_eq!(Balances::balance(&treasury), crate::EXISTENTIAL_DEPOSIT);
		start_block_one();

		// Root halves the treasury's share before any call.
		assert!(crate::Parameters::set_parameter(
			crate::RuntimeOrigin::root(),
			crate::configs::model_hub::RuntimeParameters::Inference(
				dynamic_params::inference::Parameters::TreasuryShare(
					dynamic_params::inference::TreasuryShare,
					Some(Perbill::from_parts(25_000_000)),
				)
			),
		)
		.is_ok());

		let spec = |name: &[u8]| {
			TensorSpec::new(name, modelhub_primitives::tensor::DType::F32, &[Dim::Dynamic])
				.expect("spec")
		};
		let schema = IoSchema {
			inputs: vec![spec(b"x")].try_into().expect("fits"),
			outputs: vec![spec(b"y")].try_into().expect("fits"),
		};
		let price = 2 * OPG;
		let model = pallet_model_registry::testing::publish::<Runtime>(
			alice.clone(),
			price,
			vec![
				(alice.clone(), Permill::from_percent(70)),
				(bob.clone(), Permill::from_percent(30)),
			],
			None,
			schema,
			16,
		)
		.expect("published");

		let attestation_key = register_charlie(0);
		let input = tensors("x", &[1.0, 2.0]);
		// A registered worker that holds nothing ready is not drawn: the call is refused
		// until it declares the model ready.
		assert_eq!(
			crate::apis::model_hub::check_request(
				requester.clone(),
				model,
				input.clone(),
				Balance::MAX,
				1,
				0
			),
			Err(modelhub_primitives::api::RequestError::NoReadyWorker)
		);
		// Signed and sent anyway, the request is invalid: no block includes it, and the
		// requester pays nothing, not even the transaction fee.
		let unservable = signed(
			Sr25519Keyring::Dave,
			RuntimeCall::Inference(pallet_inference::Call::request_inference {
				model,
				input: input.clone(),
				max_fee: Balance::MAX,
				redundancy: 1,
			}),
			0,
		);
		assert_eq!(
			Executive::apply_extrinsic(unservable),
			Err(sp_runtime::transaction_validity::TransactionValidityError::Invalid(
				sp_runtime::transaction_validity::InvalidTransaction::Custom(
					modelhub_primitives::api::RequestError::NoReadyWorker.code()
				)
			))
		);
		assert_eq!(Balances::balance(&requester), ENDOWMENT);
		apply(
			Sr25519Keyring::Charlie,
			RuntimeCall::Verification(pallet_verification::Call::declare_ready {
				model,
				version: 1,
			}),
			1,
		);

		let execution = 10 * crate::MILLI_OPG + crate::MICRO_OPG * input.len() as Balance;
		// The most the chain fee can be is held too; settlement charges what the call used.
		let chain_max = crate::Inference::max_chain_fee(1);
		let fee = price + execution + chain_max;
		let to_pot = execution / 10;
		let to_treasury = execution * 25 / 1000;

		// ModelHubApi quotes the fee as settlement will split it, and refuses what a request
		// would be refused for.
		use crate::apis::model_hub;
		use modelhub_primitives::api::{FeeQuote, RequestError, StatsWindow};
		let length = input.len() as u32;
		assert_eq!(
			model_hub::quote(model, length, 1),
			Ok(FeeQuote {
				total: fee,
				royalty: price,
				execution,
				validators: to_pot,
				treasury: to_treasury,
				workers: execution - to_pot - to_treasury,
				chain: chain_max,
			})
		);
		assert_eq!(model_hub::quote(model + 1, length, 1), Err(RequestError::ModelNotFound));
		assert_eq!(model_hub::quote(model, length, 0), Err(RequestError::InvalidRedundancy));
		assert_eq!(model_hub::quote(model, length, 6), Err(RequestError::InvalidRedundancy));
		assert_eq!(model_hub::quote(model, 1 << 21, 1), Err(RequestError::InputTooLarge));
		assert_eq!(model_hub::market_stats(StatsWindow::Epochs(1)).concentration.calls, 0);
		// `check_request` foresees the outcome of the request, the transaction fee included.
		let quoted = model_hub::quote(model, length, 1);
		assert_eq!(
			model_hub::check_request(requester.clone(), model, input.clone(), fee, 1, OPG),
			quoted
		);
		assert_eq!(
			model_hub::check_request(requester.clone(), model, input.clone(), fee - 1, 1, 0),
			Err(RequestError::FeeAboveMax)
		);
		assert_eq!(
			model_hub::check_request(requester.clone(), model, input.clone(), fee, 2, 0),
			Err(RequestError::FeeAboveMax)
		);
		assert_eq!(
			model_hub::check_request(requester.clone(), model, input.clone(), 4 * fee, 2, 0),
			Err(RequestError::NotEnoughWorkers)
		);
		assert_eq!(
			model_hub::check_request(requester.clone(), model, input.clone(), fee, 1, ENDOWMENT),
			Err(RequestError::InsufficientBalance)
		);
		assert_eq!(
			model_hub::check_request(requester.clone(), model, vec![1], fee, 1, 0),
			Err(RequestError::InputNotCanonical)
		);
		assert_eq!(
			model_hub::check_request(requester.clone(), model, tensors("z", &[1.0]), fee, 1, 0),
			Err(RequestError::InputDoesNotFitSchema)
		);
		assert_eq!(model_hub::request(0), None);
		assert_eq!(model_hub::model_usage(model + 1, StatsWindow::AllTime), None);

		// The runtime reads a signed request for the node, with the transaction fee it pays.
		let call = RuntimeCall::Inference(pallet_inference::Call::request_inference {
			model,
			input: input.clone(),
			max_fee: fee,
			redundancy: 1,
		});
		let check = model_hub::check_request_extrinsic(
			signed(Sr25519Keyring::Dave, call.clone(), 0).encode(),
		)
		.expect("a request");
		assert_eq!((check.model, check.input_len, check.redundancy), (model, length, 1));
		assert_eq!((check.max_fee, check.verdict), (fee, quoted));
		assert!(check.tx_fee > 0);
		use modelhub_primitives::api::{ExtrinsicError, ExtrinsicOutcome, RequestEnd};
		assert_eq!(
			model_hub::check_request_extrinsic(vec![1, 2, 3]),
			Err(ExtrinsicError::Undecodable)
		);
		let transfer = RuntimeCall::Balances(BalancesCall::transfer_keep_alive {
			dest: bob.clone().into(),
			value: OPG,
		});
		assert_eq!(
			model_hub::check_request_extrinsic(signed(Sr25519Keyring::Dave, transfer, 0).encode()),
			Err(ExtrinsicError::NotARequest)
		);

		apply(Sr25519Keyring::Dave, call, 0);
		let request_fee = fee_paid_by(&requester).expect("the request pays its fee");
		assert_eq!(Balances::balance(&requester), ENDOWMENT - fee - request_fee);

		// The pending request, its fee split and its worker.
		use modelhub_primitives::{
			api::RequestStatus,
			inference::{Outcome, Phase, SlotState},
		};
		match model_hub::request(0) {
			Some(RequestStatus::Pending(pending)) => {
				assert_eq!((pending.requester.clone(), pending.model), (requester.clone(), model));
				assert_eq!(Ok(pending.fee), quoted);
				assert_eq!((pending.phase, pending.redundancy), (Phase::Running, 1));
				assert_eq!(pending.slots, vec![(worker.clone(), SlotState::Assigned)]);
			},
			other => panic!("not pending: {other:?}"),
		}
		assert_eq!(model_hub::result(0), None);
		// What the request's extrinsic did, as its block records it.
		let index = System::events()
			.iter()
			.find_map(|record| match (&record.phase, &record.event) {
				(
					frame_system::Phase::ApplyExtrinsic(index),
					RuntimeEvent::Inference(pallet_inference::Event::InferenceRequested { .. }),
				) => Some(*index),
				_ => None,
			})
			.expect("requested");
		let deadline = match model_hub::request(0) {
			Some(RequestStatus::Pending(pending)) => pending.deadline,
			other => panic!("not pending: {other:?}"),
		};
		assert_eq!(
			model_hub::extrinsic_outcome(index),
			Some(ExtrinsicOutcome::Requested {
				request: 0,
				model,
				workers: vec![worker.clone()],
				deadline
			})
		);
		assert_eq!(model_hub::extrinsic_outcome(index + 100), None);
		let registered = model_hub::worker(worker.clone()).expect("registered");
		let registration = registered.registration.expect("registered");
		assert_eq!((registration.bond, registration.pending_jobs), (100 * OPG, 1));
		assert_eq!(registration.attestation_key, attestation_key.public().0);
		assert_eq!((registered.jobs, registered.earnings, registered.slashes), (0, 0, 0));
		assert_eq!(model_hub::worker(requester.clone()), None);

		let worker_before = Balances::balance(&worker);
		let output = tensors("y", &[0.5]);
		let stored = pallet_inference::Requests::<Runtime>::get(0).expect("running");
		let hash = sp_io::hashing::blake2_256(&output);
		let message = crate::Inference::attestation(0, &stored, &worker, hash).message();
		System::reset_events();
		apply(
			Sr25519Keyring::Charlie,
			RuntimeCall::Inference(pallet_inference::Call::submit_result {
				request: 0,
				output,
				signature: attestation_key.sign(&message).0,
			}),
			2,
		);
		// The block records which request ended, and how.
		assert_eq!(model_hub::requests_ended(), vec![0]);
		match model_hub::request_end(0) {
			Some(RequestEnd {
				outcome: Outcome::Settled { .. },
				workers,
				payouts,
				refunded,
				..
			}) => {
				assert_eq!((workers, payouts.len(), refunded), (vec![worker.clone()], 5, 0));
			},
			other => panic!("not settled: {other:?}"),
		}
		assert_eq!(model_hub::request_end(1), None);
		// An accepted result costs the worker nothing; the requester pays its chain fee: the
		// result transaction's weight and bytes and the settlement's five payouts (two royalty
		// beneficiaries, the pot, which takes the chain fee too, the treasury and the worker),
		// far below the most.
		assert_eq!(fee_paid_by(&worker), Some(0));
		let chain = crate::Inference::chain_fee(tensors("y", &[0.5]).len() as u32, 1, 5);
		assert!(chain > 0 && chain < chain_max / 10, "chain fee {chain} of at most {chain_max}");
		let fee = price + execution + chain;

		// The settled call shows in the market statistics: one model takes all demand.
		let stats = model_hub::market_stats(StatsWindow::Epochs(1));
		assert_eq!((stats.first_epoch, stats.last_epoch), (0, 0));
		assert_eq!((stats.fees, stats.royalties, stats.unlisted_calls), (Some(fee), price, 0));
		assert_eq!((stats.concentration.calls, stats.concentration.models_called), (1, 1));
		assert_eq!(stats.concentration.top_share, Perbill::one());
		assert_eq!(stats.concentration.hhi, Perbill::one());
		let all_time = model_hub::market_stats(StatsWindow::AllTime);
		assert_eq!((all_time.fees, all_time.royalties), (None, price));
		assert_eq!(all_time.concentration, stats.concentration);
		// The model's summary shows the call, its revenue and its one payer.
		let summary = model_hub::model(model).expect("listed");
		assert_eq!(
			(summary.owner.clone(), summary.price, summary.version),
			(alice.clone(), price, 1)
		);
		assert_eq!((summary.calls, summary.failures, summary.revenue), (1, 0, price));
		assert_eq!((summary.payers, summary.last_call), (1, Some(System::block_number())));
		assert_eq!(model_hub::model(model + 1), None);
		use modelhub_primitives::api::ModelOrder;
		assert_eq!(model_hub::models(ModelOrder::Calls, 0, 10), vec![summary.clone()]);
		assert_eq!(model_hub::models(ModelOrder::Newest, 1, 10), vec![]);
		assert_eq!(model_hub::models(ModelOrder::Revenue, 0, 0), vec![]);
		// The ended request, its output, the worker's earnings and the model's usage.
		let output_hash = sp_io::hashing::blake2_256(&tensors("y", &[0.5]));
		let now = System::block_number();
		assert_eq!(
			model_hub::request(0),
			Some(RequestStatus::Ended {
				requester: requester.clone(),
				model,
				outcome: Outcome::Settled { output_hash },
				ended_at: now,
			})
		);
		let result = model_hub::result(0).expect("kept");
		assert_eq!(
			(result.output, result.outcome),
			(tensors("y", &[0.5]), Outcome::Settled { output_hash })
		);
		let paid = model_hub::worker(worker.clone()).expect("registered");
		assert_eq!((paid.jobs, paid.earnings), (1, execution - to_pot - to_treasury));
		assert_eq!(paid.registration.map(|r| r.pending_jobs), Some(0));
		for window in [StatsWindow::Epochs(1), StatsWindow::AllTime] {
			let usage = model_hub::model_usage(model, window).expect("listed");
			assert_eq!((usage.calls, usage.royalties, usage.rank), (1, price, 1));
			assert_eq!(usage.share, Perbill::one());
		}
		assert_eq!(Balances::balance(&alice), ALICE_FREE - OPG - OPG / 10 + price * 7 / 10);
		assert_eq!(Balances::balance(&bob), ENDOWMENT + price * 3 / 10);
		assert_eq!(Balances::balance(&pot), crate::EXISTENTIAL_DEPOSIT + to_pot + chain);
		assert_eq!(Balances::balance(&treasury), crate::EXISTENTIAL_DEPOSIT + to_treasury);
		assert_eq!(Balances::balance(&worker), worker_before + execution - to_pot - to_treasury);
		assert_eq!(Balances::balance(&requester), ENDOWMENT - fee - request_fee);
		assert!(System::events().iter().any(|record| matches!(
			record.event,
			RuntimeEvent::Inference(pallet_inference::Event::InferenceSettled { request: 0, .. })
		)));
	});
}

/// How many inference requests and results fit in one block by weight, from the generated
/// weights: printed, and checked against a floor the chain must keep.
#[test]
fn a_block_fits_hundreds_of_requests_and_results() {
	use frame_support::dispatch::DispatchClass;
	use pallet_inference::WeightInfo;
	type Weights = pallet_inference::weights::SubstrateWeight<Runtime>;

	let weights = crate::configs::RuntimeBlockWeights::get();
	let normal = weights.get(DispatchClass::Normal);
	let budget = normal.max_total.unwrap_or(weights.max_block).ref_time();
	let per_block = |call: frame_support::weights::Weight| {
		budget / (call.ref_time() + normal.base_extrinsic.ref_time())
	};
	let small = 64;
	// A settlement paying two royalty beneficiaries, the pot, the treasury and one worker; and
	// the most payouts a settlement can make (what a result is charged before it runs).
	let typical = Weights::settle(5);
	let most = Weights::settle(crate::Inference::max_payouts());
	// A request runs its checks twice (in `CheckInferenceRequest` and in the call), each
	// charged for a full pool and refunded down to the workers holding the model ready: here,
	// the dev hub's four.
	let request = |input: u32, redundancy: u32, ready: Option<u32>| {
		crate::Inference::request_weight(input, redundancy, ready).saturating_mul(2)
	};
	let requests = per_block(request(small, 1, Some(4)));
	let redundant = per_block(request(small, 3, Some(4)));
	let large = per_block(request(64 * 1024, 1, Some(4)));
	let full_pool = per_block(request(small, 1, None));
	let results = per_block(Weights::submit_result(small).saturating_add(typical));
	let worst_results = per_block(Weights::submit_result(small).saturating_add(most));
	let commits = per_block(Weights::commit_result());
	let reveals = per_block(Weights::reveal_result(small, 3).saturating_add(typical));
	println!(
		"per block: {requests} requests (64-byte input, redundancy 1, four ready workers; \
		 {full_pool} with a full pool ready), {redundant} at redundancy 3, {large} with a 64 KiB \
		 input; {results} submit_result settling 5 payouts \
		 ({worst_results} at the most payouts), {commits} commit_result, {reveals} reveal_result \
		 (redundancy 3, the last one settling)"
	);
	assert!(requests >= 100 && results >= 100, "{requests} requests, {results} results per block");
}

/// Workers send their results free; the requester pays the chain fee instead, which is what the
/// result transaction would have paid in transaction fees but for the fixed part of any
/// transaction (its base weight and the bytes around the output): printed, and checked for
/// outputs of 64 bytes to the longest.
#[test]
fn a_result_costs_its_requester_what_its_transaction_would_cost() {
	use frame_support::dispatch::GetDispatchInfo;
	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		let execution = crate::Inference::execution_fee(64, 1);
		for length in [64u32, 4 * 1024, 64 * 1024] {
			let call = RuntimeCall::Inference(pallet_inference::Call::submit_result {
				request: 0,
				output: vec![0; length as usize],
				signature: [0; 64],
			});
			let info = call.get_dispatch_info();
			let transaction =
				crate::TransactionPayment::compute_fee(call.encoded_size() as u32 + 110, &info, 0);
			// Charged before it runs, the transaction counts the most payouts.
			let chain = crate::Inference::chain_fee(length, 1, crate::Inference::max_payouts());
			println!(
				"{length}-byte output: chain fee {} µOPG (most payouts), transaction fee {} µOPG; \
				 execution fee {} µOPG",
				chain / crate::MICRO_OPG,
				transaction / crate::MICRO_OPG,
				execution / crate::MICRO_OPG,
			);
			assert!(chain <= transaction, "{chain} above {transaction}");
			assert!(
				transaction - chain < crate::MILLI_OPG / 2,
				"{chain} leaves {} unpaid",
				transaction - chain
			);
			assert!(chain >= Balance::from(length) * crate::MICRO_OPG);
		}
		assert_eq!(
			crate::Inference::max_chain_fee(1),
			crate::Inference::chain_fee(64 * 1024, 1, crate::Inference::max_payouts())
		);
	});
}

/// However many deadlines fall in one block, handling them stays within `DeadlineWeight`, a
/// quarter of the block, each counted at its costliest (comparing the largest outputs of the
/// largest redundancy, then the largest settlement or an escalation): printed, and checked.
#[test]
fn missed_deadlines_take_at_most_a_quarter_of_a_block() {
	use crate::configs::model_hub::DeadlineWeight;
	let max_block = crate::configs::RuntimeBlockWeights::get().max_block;
	let budget = DeadlineWeight::get();
	let worst = crate::Inference::max_expiry_weight();
	let per_block = (1u32..)
		.take_while(|n| crate::Inference::deadline_weight_for(*n).all_lte(budget))
		.last()
		.unwrap_or(0);
	println!(
		"deadline budget {} of {} ms per block; the costliest missed deadline {:.3} ms: at \
		 least {per_block} per block",
		budget.ref_time() / 1_000_000_000,
		max_block.ref_time() / 1_000_000_000,
		worst.ref_time() as f64 / 1e9,
	);
	assert!(budget.all_lte(max_block / 4));
	// The comparison dominates: ten pairs of 16,384-element outputs at redundancy 5.
	assert!(per_block >= 8, "{per_block} costliest deadlines per block");
}

//! The fast path's settlement against the on-chain path: the same calls pay every account the
//! same amounts, to the unit.

use super::*;
use modelhub_primitives::{
	channel::Voucher,
	registry::ModelId,
	schema::{Dim, IoSchema, TensorSpec},
};
use pallet_model_registry::ParentLink;
use sp_runtime::{MultiSignature, Permill};
use std::collections::BTreeMap;

fn schema() -> IoSchema {
	let spec = |name: &[u8]| {
		TensorSpec::new(name, modelhub_primitives::tensor::DType::F32, &[Dim::Dynamic])
			.expect("spec")
	};
	IoSchema {
		inputs: vec![spec(b"x")].try_into().expect("fits"),
		outputs: vec![spec(b"y")].try_into().expect("fits"),
	}
}

/// A model of Bob's (royalties 70% Bob, 30% Ferdie) whose parent, Alice's, takes a third of
/// its royalties: the payout reaches three accounts across two levels.
fn publish_with_lineage(price: Balance) -> ModelId {
	let (alice, bob) = (account(Sr25519Keyring::Alice), account(Sr25519Keyring::Bob));
	let parent = pallet_model_registry::testing::publish::<Runtime>(
		alice.clone(),
		OPG,
		vec![(alice, Permill::one())],
		None,
		schema(),
		16,
	)
	.expect("parent published");
	pallet_model_registry::testing::publish::<Runtime>(
		bob.clone(),
		price,
		vec![
			(bob, Permill::from_percent(70)),
			(account(Sr25519Keyring::Ferdie), Permill::from_percent(30)),
		],
		Some(ParentLink { model: parent, share: Permill::from_rational(1u32, 3u32) }),
		schema(),
		16,
	)
	.expect("published")
}

/// Adds a settlement's payouts to `totals`.
fn add(totals: &mut BTreeMap<AccountId, Balance>, payouts: &[(AccountId, Balance)]) {
	for (who, amount) in payouts {
		*totals.entry(who.clone()).or_default() += amount;
	}
}

#[test]
fn calls_settled_through_a_channel_pay_what_the_same_calls_pay_on_chain() {
	use crate::configs::model_hub::ValidatorPotAccount;
	const CALLS: u32 = 5;

	preset_externalities(DEV_RUNTIME_PRESET).execute_with(|| {
		start_block_one();
		// An odd price, so every split rounds.
		let price = 2 * OPG + 7;
		let model = publish_with_lineage(price);
		let worker = account(Sr25519Keyring::Charlie);
		let attestation_key = register_charlie(0);
		apply(
			Sr25519Keyring::Charlie,
			RuntimeCall::Verification(pallet_verification::Call::declare_ready {
				model,
				version: 1,
			}),
			1,
		);
		let input = tensors("x", &[1.0, 2.0, 3.0]);
		let execution = crate::Inference::execution_fee(input.len() as u32, 1);

		// On chain: Dave makes CALLS requests and the worker answers each.
		let mut on_chain = BTreeMap::new();
		let mut worker_nonce = 2;
		for call in 0..CALLS {
			let request = u64::from(call);
			apply(
				Sr25519Keyring::Dave,
				RuntimeCall::Inference(pallet_inference::Call::request_inference {
					model,
					input: input.clone(),
					max_fee: Balance::MAX,
					redundancy: 1,
				}),
				call,
			);
			let output = tensors("y", &[0.25]);
			let stored = pallet_inference::Requests::<Runtime>::get(request).expect("running");
			let hash = sp_io::hashing::blake2_256(&output);
			let message = crate::Inference::attestation(request, &stored, &worker, hash).message();
			System::reset_events();
			apply(
				Sr25519Keyring::Charlie,
				RuntimeCall::Inference(pallet_inference::Call::submit_result {
					request,
					output: output.clone(),
					signature: attestation_key.sign(&message).0,
				}),
				worker_nonce,
			);
			worker_nonce += 1;
			let payouts = System::events()
				.into_iter()
				.find_map(|record| match record.event {
					RuntimeEvent::Inference(pallet_inference::Event::InferenceSettled {
						payouts,
						..
					}) => Some(payouts),
					_ => None,
				})
				.expect("settled");
			// The chain fee (the result's storage and processing) goes to the pot with its
			// share of the execution fee; the fast path has no on-chain result to pay for.
			let chain = crate::Inference::chain_fee(output.len() as u32, 1, payouts.len() as u32);
			let mut payouts = payouts;
			for (who, amount) in payouts.iter_mut() {
				if *who == ValidatorPotAccount::get() {
					*amount -= chain;
				}
			}
			add(&mut on_chain, &payouts);
		}
		let usage_on_chain = pallet_model_registry::ModelUsage::<Runtime>::get(model);
		let epoch = crate::Inference::current_epoch();
		let epoch_calls = pallet_inference::EpochModelCalls::<Runtime>::get(epoch, model).calls;
		assert_eq!((usage_on_chain.calls, epoch_calls), (u64::from(CALLS), u64::from(CALLS)));

		// Off chain: Eve opens a channel to the worker, pays CALLS calls with vouchers, and
		// the worker settles the last one in one transaction.
		let eve = Sr25519Keyring::Eve;
		apply(
			eve,
			RuntimeCall::Channels(pallet_channels::Call::open_channel {
				worker: worker.clone(),
				deposit: 100 * OPG,
				lifetime: 100,
			}),
			0,
		);
		let mut voucher = Voucher::empty(0);
		for _ in 0..CALLS {
			voucher = voucher.next(model, price, execution).expect("fits");
		}
		let message = voucher.message(&crate::Channels::genesis_hash());
		System::reset_events();
		apply(
			Sr25519Keyring::Charlie,
			RuntimeCall::Channels(pallet_channels::Call::settle {
				channel: 0,
				voucher,
				signature: MultiSignature::from(eve.sign(&message)),
			}),
			worker_nonce,
		);
		let payouts = System::events()
			.into_iter()
			.find_map(|record| match record.event {
				RuntimeEvent::Channels(pallet_channels::Event::ChannelSettled {
					payouts, ..
				}) => Some(payouts),
				_ => None,
			})
			.expect("settled");
		let mut fast = BTreeMap::new();
		add(&mut fast, &payouts);
		assert_eq!(fast, on_chain);
		// Three royalty accounts, the pot, the treasury and the worker.
		assert_eq!(fast.len(), 6);
		assert_eq!(fast.values().sum::<Balance>(), Balance::from(CALLS) * (price + execution));

		// And the calls count as the on-chain ones did: in the model's usage and the epoch.
		let usage = pallet_model_registry::ModelUsage::<Runtime>::get(model);
		assert_eq!(usage.calls, 2 * u64::from(CALLS));
		assert_eq!(usage.revenue, 2 * usage_on_chain.revenue);
		let epoch_usage = pallet_inference::EpochModelCalls::<Runtime>::get(epoch, model);
		assert_eq!(epoch_usage.calls, 2 * u64::from(CALLS));
		let worker_usage = pallet_verification::WorkerUsage::<Runtime>::get(&worker);
		assert_eq!(worker_usage.jobs, 2 * u64::from(CALLS));
		crate::Channels::do_try_state().expect("channel invariants hold");
	});
}

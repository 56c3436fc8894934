//! End to end: the fast path (`docs/fast-path.md`) with the real node and worker.
//!
//! - calls paid by vouchers pay every account what the same calls pay on chain (less the
//!   on-chain path's chain fee), and the worker settles a channel's calls in one transaction;
//! - a voucher replayed, over the deposit, at the wrong price, signed by someone else or
//!   missing is refused before the model runs, and costs the payer nothing; a channel its payer
//!   closes with calls in flight takes no more calls and pays exactly the calls served.
//! - the court: a lying worker's receipt, disputed, has it slashed and the disputer paid back
//!   the court's fee and the call's; an honest worker's receipt, disputed, costs the disputer the
//!   court's call and the worker nothing;
//! - a worker that keeps a voucher and never answers is paid that one call and no more; a
//!   channel its worker closes while calls are in flight ends at once, returning to the payer
//!   all that the settled calls did not take.

mod hub;

use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context, Result};
use codec::Encode;
use hub::*;
use modelhub_primitives::channel::{FastAttestation, Voucher};
use serde_json::{json, Value};
use sp_core::{sr25519, Pair};
use sp_runtime::{AccountId32, MultiSignature};
use subxt::{
	dynamic,
	ext::scale_decode::{self, DecodeAsType},
};
use subxt_signer::sr25519::{dev, Keypair};

/// `modelhub-worker run` options serving the fast path on a free loopback port, settling a
/// channel after `settle_secs` seconds; and the endpoint.
fn fast_options(settle_secs: u64) -> Result<(Vec<String>, String)> {
	let listen = format!("127.0.0.1:{}", common::free_port()?);
	let state = std::env::temp_dir().join(format!(
		"modelhub-fast-{}-{}",
		std::process::id(),
		listen.replace(':', "-")
	));
	let options = vec![
		"--fast-listen".to_string(),
		listen.clone(),
		"--fast-settle-secs".into(),
		settle_secs.to_string(),
		"--fast-state-dir".into(),
		state.display().to_string(),
	];
	Ok((options, format!("http://{listen}")))
}

/// [`fast_options`] with `extra` run arguments after them.
fn fast_worker(settle_secs: u64, extra: &[&str]) -> Result<(Vec<String>, String)> {
	let (mut options, endpoint) = fast_options(settle_secs)?;
	options.extend(extra.iter().map(|arg| arg.to_string()));
	Ok((options, endpoint))
}

fn strs(options: &[String]) -> Vec<&str> {
	options.iter().map(String::as_str).collect()
}

/// Calls `method` over HTTP JSON-RPC at `url`: the result, or the error object.
async fn rpc(url: &str, method: &str, params: Value) -> Result<Result<Value, Value>> {
	let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
	let reply = reqwest::Client::new()
		.post(url)
		.header(reqwest::header::CONTENT_TYPE, "application/json")
		.body(serde_json::to_vec(&body)?)
		.timeout(Duration::from_secs(60))
		.send()
		.await?
		.bytes()
		.await?;
	let reply: Value = serde_json::from_slice(&reply)?;
	match (reply.get("result"), reply.get("error")) {
		(Some(result), _) => Ok(Ok(result.clone())),
		(_, Some(error)) => Ok(Err(error.clone())),
		_ => bail!("{method}: neither result nor error: {reply}"),
	}
}

/// Waits until the node lists a worker serving fast calls of `model`; returns its endpoint.
async fn fast_endpoint(hub: &Hub, model: u64, within: Duration) -> Result<String> {
	let node = format!("http://127.0.0.1:{}", hub.node.rpc_port);
	let deadline = Instant::now() + within;
	loop {
		let workers = rpc(&node, "modelhub_fastWorkers", json!([model]))
			.await?
			.map_err(|error| anyhow!("modelhub_fastWorkers: {error}"))?;
		if let Some(endpoint) = workers.get(0).and_then(|worker| worker["endpoint"].as_str()) {
			return Ok(endpoint.to_string());
		}
		if Instant::now() > deadline {
			let logs: Vec<String> = hub.workers.iter().map(Worker::log).collect();
			bail!("no fast worker after {within:?}; workers:\n{}", logs.join("\n---\n"));
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

fn hex0x(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

fn unhex(value: &Value) -> Result<Vec<u8>> {
	let text = value.as_str().ok_or_else(|| anyhow!("not a string: {value}"))?;
	Ok(hex::decode(text.trim_start_matches("0x"))?)
}

fn amount(value: &Value) -> Result<u128> {
	value
		.as_str()
		.and_then(|text| text.parse().ok())
		.ok_or_else(|| anyhow!("not an amount: {value}"))
}

/// `payer`'s signature over `voucher` on the chain of `genesis`.
fn sign(payer: &Keypair, genesis: &[u8; 32], voucher: &Voucher<u128>) -> MultiSignature {
	MultiSignature::Sr25519(sr25519::Signature::from_raw(payer.sign(&voucher.message(genesis)).0))
}

/// Sends one call with `voucher` signed by `payer`.
async fn infer(
	endpoint: &str,
	model: u64,
	input: &[u8],
	voucher: &Voucher<u128>,
	signature: &MultiSignature,
) -> Result<Result<Value, Value>> {
	let params = json!({
		"model": model,
		"input": hex0x(input),
		"voucher": hex0x(&voucher.encode()),
		"signature": hex0x(&signature.encode()),
	});
	rpc(endpoint, "fast_infer", params).await
}

/// The name a refusal gives (`voucherStale`, …).
fn refusal(answer: Result<Value, Value>) -> Result<String> {
	match answer {
		Ok(result) => bail!("served: {result}"),
		Err(error) => Ok(error["data"]["error"].as_str().unwrap_or_default().to_string()),
	}
}

/// The channel opened by `payer`'s `open_channel` in its block.
async fn open_channel(hub: &Hub, payer: &Keypair, worker: [u8; 32], deposit: u128) -> Result<u64> {
	let call = dynamic::transaction("Channels", "open_channel", (worker, deposit, 600u32));
	let (_, events) = submit(&hub.api, &call, payer).await?;
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Opened {
		channel: u64,
	}
	let opened = events
		.iter()
		.filter_map(|event| event.ok())
		.find(|event| event.pallet_name() == "Channels" && event.event_name() == "ChannelOpened")
		.ok_or_else(|| anyhow!("no ChannelOpened event"))?;
	Ok(opened.decode_fields_unchecked_as::<Opened>()?.channel)
}

/// A channel's record, as much as the tests read of it.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct ChannelRecord {
	deposit: u128,
	paid: u128,
	settled_calls: u64,
	closing: Option<u32>,
}

async fn channel(hub: &Hub, id: u64) -> Result<Option<ChannelRecord>> {
	let address = dynamic::storage::<(u64,), ChannelRecord>("Channels", "Channels");
	let at = hub.api.at_current_block().await?;
	match at.storage().try_fetch(address, (id,)).await? {
		Some(value) => Ok(Some(value.decode()?)),
		None => Ok(None),
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_calls_pay_what_on_chain_calls_pay_and_settle_in_one_transaction_per_channel(
) -> Result<()> {
	let (options, endpoint) = fast_options(6)?;
	let options = strs(&options);
	let mut hub = Hub::start(&[("//Dave", &options)], None).await?;
	assert_eq!(fast_endpoint(&hub, hub.model, Duration::from_secs(60)).await?, endpoint);

	// What one call pays each account on chain (two calls, the same each time).
	let mut on_chain: BTreeMap<[u8; 32], Vec<u128>> = BTreeMap::new();
	for _ in 0..2 {
		let (requested, block, _) = request(&hub.api, hub.model, &hub.input, 1).await?;
		let (_, settled) =
			hub.wait_settled(requested.request, block, Duration::from_secs(120)).await?;
		for (account, paid) in settled.payouts {
			on_chain.entry(account).or_default().push(paid);
		}
	}
	let node = format!("http://127.0.0.1:{}", hub.node.rpc_port);
	let quote = rpc(&node, "modelhub_quote", json!([hub.model, hub.input.len(), 1]))
		.await?
		.map_err(|error| anyhow!("{error}"))?;
	let validators = amount(&quote["validators"])?;
	let pot: [u8; 32] = {
		let mut account = [0u8; 32];
		account[..12].copy_from_slice(b"modlopg/vpot");
		account
	};

	// Twenty fast calls on two channels.
	const CALLS: u128 = 20;
	let input = hub::repo().join("scripts/sample-models/digits.input.json");
	let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_modelhub-worker"))
		.args(["fast-bench", "--url", &hub.node.ws_url(), "--suri", "//Eve"])
		.args(["--model", &hub.model.to_string(), "--input-json", &input.display().to_string()])
		.args(["--calls", &CALLS.to_string(), "--lanes", "2", "--warmup", "0"])
		.args(["--deposit", "20", "--settle-timeout-secs", "120"])
		.kill_on_drop(true)
		.output();
	let output =
		tokio::time::timeout(Duration::from_secs(300), output).await.context("fast-bench")??;
	if !output.status.success() {
		bail!(
			"fast-bench failed: {}\nworker:\n{}",
			String::from_utf8_lossy(&output.stderr),
			hub.workers[0].log()
		);
	}
	let report: Value = serde_json::from_slice(&output.stdout)?;
	assert_eq!(report["calls"], json!(CALLS), "{report}");
	assert_eq!(report["settledCalls"], json!(CALLS), "{report}");
	// One settlement transaction per channel for all of its calls.
	assert_eq!(report["settlements"], json!(2), "{report}");

	let fast: BTreeMap<[u8; 32], u128> = report["payouts"]
		.as_object()
		.ok_or_else(|| anyhow!("no payouts: {report}"))?
		.iter()
		.map(|(account, paid)| {
			let account: [u8; 32] = unhex(&json!(account))?
				.try_into()
				.map_err(|_| anyhow!("an account is 32 bytes"))?;
			Ok((account, amount(paid)?))
		})
		.collect::<Result<_>>()?;
	assert_eq!(fast.keys().collect::<Vec<_>>(), on_chain.keys().collect::<Vec<_>>());
	for (account, paid) in &on_chain {
		assert_eq!(paid[0], paid[1], "on-chain calls pay the same");
		// On chain the validators' pot also takes the chain fee of the stored result; the
		// fast path stores none.
		let per_call = if *account == pot {
			assert!(paid[0] > validators, "the pot takes its share and the chain fee");
			validators
		} else {
			paid[0]
		};
		assert_eq!(fast[account], CALLS * per_call, "account 0x{}", hex::encode(account));
	}

	// The calls count in the model's usage as the on-chain ones do.
	let usage = rpc(&node, "modelhub_modelUsage", json!([hub.model, null]))
		.await?
		.map_err(|error| anyhow!("{error}"))?;
	assert_eq!(usage["calls"], json!(CALLS as u64 + 2), "{usage}");
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouchers_that_do_not_pay_for_the_call_are_refused_and_a_closed_channel_pays_what_it_served(
) -> Result<()> {
	// Settlement only when the payer closes the channel.
	let (options, _) = fast_options(3_600)?;
	let options = strs(&options);
	let hub = Hub::start(&[("//Dave", &options)], None).await?;
	let endpoint = fast_endpoint(&hub, hub.model, Duration::from_secs(60)).await?;
	let (model, input) = (hub.model, hub.input.clone());
	let eve = dev::eve();
	let dave = dev::dave().public_key().0;
	let genesis = hub.api.genesis_hash().0;

	// A channel holding 1 OPG: one call (0.5 OPG and the execution fee) fits, two do not.
	let id = open_channel(&hub, &eve, dave, OPG).await?;
	let quote = rpc(&endpoint, "fast_quote", json!([model, input.len()]))
		.await?
		.map_err(|error| anyhow!("{error}"))?;
	let (price, execution) = (amount(&quote["price"])?, amount(&quote["execution"])?);
	assert_eq!(price, PRICE);

	let first = Voucher::empty(id).next(model, price, execution).ok_or_else(|| anyhow!("full"))?;
	let answer = infer(&endpoint, model, &input, &first, &sign(&eve, &genesis, &first))
		.await?
		.map_err(|error| anyhow!("the first call: {error}"))?;
	// The answer is attested by Dave's key over this call.
	let attestation = FastAttestation {
		genesis_hash: genesis,
		channel: id,
		call: 1,
		block: answer["block"]
			.as_u64()
			.and_then(|block| u32::try_from(block).ok())
			.ok_or_else(|| anyhow!("no block: {answer}"))?,
		artifact_hash: unhex(&answer["artifactHash"])?.try_into().map_err(|_| anyhow!("hash"))?,
		input_hash: sp_crypto_hashing::blake2_256(&input),
		output_hash: sp_crypto_hashing::blake2_256(&unhex(&answer["output"])?),
		worker: AccountId32::new(dave),
	};
	let signature: [u8; 64] =
		unhex(&answer["signature"])?.try_into().map_err(|_| anyhow!("64 bytes"))?;
	let dave_key = sr25519::Pair::from_string("//Dave", None)?.public();
	assert!(sr25519::Pair::verify(
		&sr25519::Signature::from_raw(signature),
		attestation.message(),
		&dave_key
	));

	// The same voucher again pays nothing new.
	let replayed = infer(&endpoint, model, &input, &first, &sign(&eve, &genesis, &first)).await?;
	assert_eq!(refusal(replayed)?, "voucherStale");
	// The second call's voucher is more than the channel holds.
	let second = first.next(model, price, execution).ok_or_else(|| anyhow!("full"))?;
	let over = infer(&endpoint, model, &input, &second, &sign(&eve, &genesis, &second)).await?;
	assert_eq!(refusal(over)?, "voucherAboveDeposit");
	// A voucher at a price below the model's, or signed by another account.
	let cheap = first.next(model, price - 1, execution).ok_or_else(|| anyhow!("full"))?;
	let cheap = infer(&endpoint, model, &input, &cheap, &sign(&eve, &genesis, &cheap)).await?;
	assert_eq!(refusal(cheap)?, "voucherNotNext");
	// No voucher at all.
	let bare =
		rpc(&endpoint, "fast_infer", json!({ "model": model, "input": hex0x(&input) })).await?;
	assert!(bare.is_err(), "a call without a voucher is refused: {bare:?}");

	// Eve tops the channel up; the worker takes the second call once it sees the deposit.
	let top_up = dynamic::transaction("Channels", "top_up", (id, OPG, 600u32));
	submit(&hub.api, &top_up, &eve).await?;
	let deadline = Instant::now() + Duration::from_secs(60);
	loop {
		match infer(&endpoint, model, &input, &second, &sign(&eve, &genesis, &second)).await? {
			Ok(_) => break,
			Err(error) if Instant::now() < deadline => {
				assert_eq!(error["data"]["error"], "voucherAboveDeposit", "{error}");
				tokio::time::sleep(Duration::from_millis(500)).await;
			},
			Err(error) => bail!("the top-up was not seen: {error}"),
		}
	}
	// A voucher signed by another account.
	let third = second.next(model, price, execution).ok_or_else(|| anyhow!("full"))?;
	let forged =
		infer(&endpoint, model, &input, &third, &sign(&dev::ferdie(), &genesis, &third)).await?;
	assert_eq!(refusal(forged)?, "voucherBadSignature");

	// Eve closes the channel: the worker takes no more calls and settles the two it served.
	let close = dynamic::transaction("Channels", "close_channel", (id,));
	submit(&hub.api, &close, &eve).await?;
	let deadline = Instant::now() + Duration::from_secs(120);
	let mut refused = false;
	loop {
		let record = channel(&hub, id).await?.ok_or_else(|| anyhow!("the channel is gone"))?;
		assert!(record.closing.is_some());
		if !refused {
			let late =
				infer(&endpoint, model, &input, &third, &sign(&eve, &genesis, &third)).await?;
			match late {
				Err(error) if error["data"]["error"] == "channelNotOpen" => refused = true,
				Err(error) => bail!("refused for another reason: {error}"),
				// The worker had not seen the close yet; this call is paid like the others.
				Ok(_) => bail!("a call was served after the channel closed"),
			}
		}
		if record.settled_calls == 2 {
			assert_eq!(record.paid, 2 * (price + execution));
			assert_eq!(record.deposit, 2 * OPG - 2 * (price + execution));
			break;
		}
		if Instant::now() > deadline {
			bail!("not settled: {record:?}; worker:\n{}", hub.workers[0].log());
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	Ok(())
}

/// Waits until the node lists `count` workers serving fast calls of `model`.
async fn fast_endpoints(hub: &Hub, model: u64, count: usize, within: Duration) -> Result<()> {
	let node = format!("http://127.0.0.1:{}", hub.node.rpc_port);
	let deadline = Instant::now() + within;
	loop {
		let workers = rpc(&node, "modelhub_fastWorkers", json!([model]))
			.await?
			.map_err(|error| anyhow!("modelhub_fastWorkers: {error}"))?;
		if workers.as_array().is_some_and(|workers| workers.len() >= count) {
			return Ok(());
		}
		if Instant::now() > deadline {
			bail!("fewer than {count} fast workers after {within:?}: {workers}");
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// One paid fast call of the hub's model by `payer` on a fresh channel to `worker` at
/// `endpoint`: the answer, its attestation checked against `worker`'s key.
async fn one_call(hub: &Hub, payer: &Keypair, worker: &Keypair, endpoint: &str) -> Result<Value> {
	let (model, input) = (hub.model, &hub.input);
	let genesis = hub.api.genesis_hash().0;
	let id = open_channel(hub, payer, worker.public_key().0, 10 * OPG).await?;
	let quote = rpc(endpoint, "fast_quote", json!([model, input.len()]))
		.await?
		.map_err(|error| anyhow!("{error}"))?;
	let (price, execution) = (amount(&quote["price"])?, amount(&quote["execution"])?);
	let voucher =
		Voucher::empty(id).next(model, price, execution).ok_or_else(|| anyhow!("full"))?;
	seen(endpoint, id).await?;
	let answer = infer(endpoint, model, input, &voucher, &sign(payer, &genesis, &voucher))
		.await?
		.map_err(|error| anyhow!("the call was refused: {error}"))?;
	let receipt = receipt_of(&answer, genesis)?;
	let signature: [u8; 64] =
		unhex(&answer["signature"])?.try_into().map_err(|_| anyhow!("64 bytes"))?;
	let key = sr25519::Public::from_raw(worker.public_key().0);
	// Test workers attest with their account key.
	assert!(sr25519::Pair::verify(
		&sr25519::Signature::from_raw(signature),
		receipt.message(),
		&key
	));
	Ok(answer)
}

/// Signs `call` by `signer` with the next nonce the node's pool expects (the signer's worker
/// process may have transactions in blocks not finalized yet) and waits until it is finalized.
async fn submit_next(
	hub: &Hub,
	call: &impl subxt::transactions::Payload,
	signer: &Keypair,
) -> Result<subxt::utils::H256> {
	use sp_core::crypto::Ss58Codec;
	let node = format!("http://127.0.0.1:{}", hub.node.rpc_port);
	let account = AccountId32::new(signer.public_key().0).to_ss58check();
	let nonce = rpc(&node, "system_accountNextIndex", json!([account]))
		.await?
		.map_err(|error| anyhow!("{error}"))?
		.as_u64()
		.ok_or_else(|| anyhow!("no nonce"))?;
	let params = subxt::config::DefaultExtrinsicParamsBuilder::<common::ChainConfig>::new()
		.nonce(nonce)
		.build();
	let mut transactions = hub.api.at_current_block().await?.transactions();
	let progress = tokio::time::timeout(
		Duration::from_secs(60),
		transactions.sign_and_submit_then_watch(call, signer, params),
	)
	.await
	.context("submitting timed out")??;
	let in_block = tokio::time::timeout(Duration::from_secs(120), progress.wait_for_finalized())
		.await
		.context("not finalized in time")??;
	in_block.wait_for_success().await?;
	Ok(in_block.block_hash())
}

/// Waits until the worker at `endpoint` knows `channel` (it reads channels at the blocks it
/// follows).
async fn seen(endpoint: &str, channel: u64) -> Result<()> {
	let deadline = Instant::now() + Duration::from_secs(60);
	loop {
		match rpc(endpoint, "fast_latest", json!([channel])).await? {
			Ok(_) => return Ok(()),
			Err(error)
				if error["data"]["error"] == "channelNotFound" && Instant::now() < deadline =>
			{
				tokio::time::sleep(Duration::from_millis(500)).await
			},
			Err(error) => bail!("fast_latest({channel}): {error}"),
		}
	}
}

/// The receipt `answer` (a `fast_infer` result) attests to.
fn receipt_of(answer: &Value, genesis: [u8; 32]) -> Result<FastAttestation<AccountId32>> {
	let hash = |name: &str| -> Result<[u8; 32]> {
		unhex(&answer[name])?.try_into().map_err(|_| anyhow!("{name}: not 32 bytes"))
	};
	let number = |name: &str| answer[name].as_u64().ok_or_else(|| anyhow!("no {name}: {answer}"));
	Ok(FastAttestation {
		genesis_hash: genesis,
		channel: number("channel")?,
		call: number("call")?,
		block: u32::try_from(number("block")?)?,
		artifact_hash: hash("artifactHash")?,
		input_hash: hash("inputHash")?,
		output_hash: hash("outputHash")?,
		worker: AccountId32::new(hash("worker")?),
	})
}

/// What a court request ended with: the request, how, and the dispute's events in that block
/// (`DisputeUpheld` with the amount slashed and the compensation, or `DisputeDismissed`).
struct Court {
	request: u64,
	settled: Settled,
	block: subxt::utils::H256,
	upheld: Option<(u128, u128)>,
	dismissed: bool,
}

/// Takes `answer`'s receipt to the court as `disputer`, with `redundancy` other workers.
async fn dispute(
	hub: &mut Hub,
	disputer: &Keypair,
	answer: &Value,
	redundancy: u32,
) -> Result<Court> {
	let genesis = hub.api.genesis_hash().0;
	let receipt = receipt_of(answer, genesis)?;
	let node = format!("http://127.0.0.1:{}", hub.node.rpc_port);
	let quote = rpc(&node, "modelhub_quote", json!([hub.model, hub.input.len(), redundancy + 1]))
		.await?
		.map_err(|error| anyhow!("{error}"))?;
	let max_fee = amount(&quote["total"])?;
	let receipt_value = dynamic::Value::named_composite([
		("genesis_hash", dynamic::Value::from_bytes(receipt.genesis_hash)),
		("channel", dynamic::Value::u128(receipt.channel.into())),
		("call", dynamic::Value::u128(receipt.call.into())),
		("block", dynamic::Value::u128(receipt.block.into())),
		("artifact_hash", dynamic::Value::from_bytes(receipt.artifact_hash)),
		("input_hash", dynamic::Value::from_bytes(receipt.input_hash)),
		("output_hash", dynamic::Value::from_bytes(receipt.output_hash)),
		("worker", dynamic::Value::from_bytes(receipt.worker.clone())),
	]);
	let call = dynamic::transaction(
		"Inference",
		"dispute",
		vec![
			dynamic::Value::u128(hub.model.into()),
			receipt_value,
			dynamic::Value::from_bytes(unhex(&answer["signature"])?),
			dynamic::Value::from_bytes(&hub.input),
			dynamic::Value::from_bytes(unhex(&answer["output"])?),
			dynamic::Value::u128(max_fee),
			dynamic::Value::u128(redundancy.into()),
		],
	);
	let (block, events) = submit(&hub.api, &call, disputer).await?;
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Disputed {
		request: u64,
		worker: [u8; 32],
	}
	let disputed = events
		.iter()
		.filter_map(|event| event.ok())
		.find(|event| event.pallet_name() == "Inference" && event.event_name() == "ReceiptDisputed")
		.ok_or_else(|| anyhow!("no ReceiptDisputed event"))?
		.decode_fields_unchecked_as::<Disputed>()?;
	assert_eq!(AccountId32::new(disputed.worker), receipt.worker);
	let request = disputed.request;
	let (block, settled) = hub.wait_settled(request, block, Duration::from_secs(180)).await?;
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Upheld {
		request: u64,
		slashed: u128,
		compensation: u128,
	}
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Dismissed {
		request: u64,
	}
	let mut court = Court { request, settled, block, upheld: None, dismissed: false };
	let at = hub.api.at_block(block).await?;
	for event in at.events().fetch().await?.iter().filter_map(|event| event.ok()) {
		match (event.pallet_name(), event.event_name()) {
			("Inference", "DisputeUpheld") => {
				let upheld = event.decode_fields_unchecked_as::<Upheld>()?;
				if upheld.request == request {
					court.upheld = Some((upheld.slashed, upheld.compensation));
				}
			},
			("Inference", "DisputeDismissed") => {
				court.dismissed |=
					event.decode_fields_unchecked_as::<Dismissed>()?.request == request;
			},
			_ => {},
		}
	}
	Ok(court)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_court_slashes_a_worker_whose_receipt_lies_and_charges_a_disputer_who_was_answered_right(
) -> Result<()> {
	// Dave serves fast calls and lies; Eve serves them honestly; Ferdie only takes court jobs.
	let (dave_options, dave_endpoint) = fast_worker(3_600, &["--test-corrupt-outputs"])?;
	let (eve_options, eve_endpoint) = fast_worker(3_600, &[])?;
	let (dave_args, eve_args) = (strs(&dave_options), strs(&eve_options));
	let workers = [("//Dave", &dave_args[..]), ("//Eve", &eve_args[..]), ("//Ferdie", &[][..])];
	let mut hub = Hub::start(&workers, None).await?;
	hub.wait_ready(3, Duration::from_secs(120)).await?;
	fast_endpoints(&hub, hub.model, 2, Duration::from_secs(60)).await?;
	let (dave, eve, bob) = (dev::dave(), dev::eve(), dev::bob());
	let node = format!("http://127.0.0.1:{}", hub.node.rpc_port);
	let one = rpc(&node, "modelhub_quote", json!([hub.model, hub.input.len(), 1]))
		.await?
		.map_err(|error| anyhow!("{error}"))?;
	let disputed_fee = amount(&one["royalty"])? + amount(&one["execution"])?;

	// Dave's wrong answer: the court (Eve and Ferdie) disagrees; Dave is slashed and Bob paid
	// back the court's fee and the disputed call's from the slash.
	let lie = one_call(&hub, &bob, &dave, &dave_endpoint).await?;
	let court = dispute(&mut hub, &bob, &lie, 2).await?;
	let (slashed, compensation) =
		court.upheld.ok_or_else(|| anyhow!("the dispute of a lie was not upheld"))?;
	assert!(!court.dismissed);
	assert_eq!(
		sorted(court.settled.workers.clone()),
		sorted(vec![eve.public_key().0, dev::ferdie().public_key().0])
	);
	let court_paid: u128 = court.settled.payouts.iter().map(|(_, amount)| amount).sum();
	assert!(
		compensation > court_paid + disputed_fee - 1,
		"{compensation} vs {court_paid} + {disputed_fee}"
	);
	assert!(slashed >= compensation);
	assert_eq!(bond(&hub.api, court.block, dave.public_key().0).await?, 100 * OPG - slashed);

	// Eve's right answer: the court (Ferdie: Dave's bond is now below the minimum) agrees with
	// her; she keeps her bond, Bob paid the court.
	let truth = one_call(&hub, &bob, &eve, &eve_endpoint).await?;
	let court = dispute(&mut hub, &bob, &truth, 1).await?;
	assert!(court.dismissed, "the dispute of a right answer was not dismissed");
	assert!(court.upheld.is_none());
	assert!(!court.settled.workers.contains(&eve.public_key().0), "the accused is not paid");
	assert!(court.settled.payouts.iter().map(|(_, amount)| amount).sum::<u128>() > 0);
	assert_eq!(bond(&hub.api, court.block, eve.public_key().0).await?, 100 * OPG);
	let _ = court.request;
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_worker_keeps_one_call_and_a_worker_that_closes_returns_the_rest_at_once(
) -> Result<()> {
	// Dave keeps each voucher and never answers; Eve serves and settles every two seconds.
	let (dave_options, dave_endpoint) = fast_worker(2, &["--test-fast-silent"])?;
	let (eve_options, eve_endpoint) = fast_worker(2, &[])?;
	let (dave_args, eve_args) = (strs(&dave_options), strs(&eve_options));
	let hub = Hub::start(&[("//Dave", &dave_args[..]), ("//Eve", &eve_args[..])], None).await?;
	fast_endpoints(&hub, hub.model, 2, Duration::from_secs(60)).await?;
	let (model, input) = (hub.model, hub.input.clone());
	let genesis = hub.api.genesis_hash().0;
	let bob = dev::bob();
	let quote = rpc(&eve_endpoint, "fast_quote", json!([model, input.len()]))
		.await?
		.map_err(|error| anyhow!("{error}"))?;
	let (price, execution) = (amount(&quote["price"])?, amount(&quote["execution"])?);

	// Dave takes the first call's voucher and never answers: Bob stops there and closes the
	// channel; Dave settles that one call and nothing more.
	let silent = open_channel(&hub, &bob, dev::dave().public_key().0, 10 * OPG).await?;
	let first =
		Voucher::empty(silent).next(model, price, execution).ok_or_else(|| anyhow!("full"))?;
	seen(&dave_endpoint, silent).await?;
	let signature = sign(&bob, &genesis, &first);
	let call = infer(&dave_endpoint, model, &input, &first, &signature);
	let waited = tokio::time::timeout(Duration::from_secs(15), call).await;
	assert!(!matches!(waited, Ok(Ok(Ok(_)))), "the silent worker answered: {waited:?}");
	submit(&hub.api, &dynamic::transaction("Channels", "close_channel", (silent,)), &bob).await?;
	let deadline = Instant::now() + Duration::from_secs(90);
	loop {
		let record = channel(&hub, silent).await?.ok_or_else(|| anyhow!("the channel is gone"))?;
		if record.settled_calls == 1 {
			assert_eq!(record.paid, price + execution, "one call's fee, no more");
			assert_eq!(record.deposit, 10 * OPG - (price + execution));
			break;
		}
		if Instant::now() > deadline {
			bail!("the kept voucher was not settled: {record:?}");
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	// Nor can Dave take a call it has no voucher for: a voucher for a second call, signed by
	// Dave rather than Bob, is refused on chain.
	let second = first.next(model, price, execution).ok_or_else(|| anyhow!("full"))?;
	let MultiSignature::Sr25519(forged) = sign(&dev::dave(), &genesis, &second) else {
		bail!("an sr25519 signature")
	};
	let entries = second.entries.iter().map(|entry| {
		dynamic::Value::named_composite([
			("model", dynamic::Value::u128(entry.model.into())),
			("price", dynamic::Value::u128(entry.price)),
			("execution", dynamic::Value::u128(entry.execution)),
			("calls", dynamic::Value::u128(entry.calls.into())),
		])
	});
	let voucher = dynamic::Value::named_composite([
		("channel", dynamic::Value::u128(second.channel.into())),
		("calls", dynamic::Value::u128(second.calls.into())),
		("total", dynamic::Value::u128(second.total)),
		("entries", dynamic::Value::unnamed_composite(entries)),
	]);
	let signature =
		dynamic::Value::unnamed_variant("Sr25519", [dynamic::Value::from_bytes(forged.0)]);
	let settle = dynamic::transaction(
		"Channels",
		"settle",
		vec![dynamic::Value::u128(silent.into()), voucher, signature],
	);
	let mut refusal = String::new();
	for _ in 0..5 {
		match submit_next(&hub, &settle, &dev::dave()).await {
			Ok(block) => bail!("a voucher Bob did not sign was settled in {block:?}"),
			Err(error) => refusal = format!("{error:#}"),
		}
		// Dave's worker process may have taken the nonce; anything else is the answer.
		if !refusal.contains("outdated") && !refusal.contains("Priority is too low") {
			break;
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	assert!(refusal.contains("BadVoucherSignature"), "{refusal}");
	let record = channel(&hub, silent).await?.ok_or_else(|| anyhow!("the channel is gone"))?;
	assert_eq!((record.settled_calls, record.paid), (1, price + execution));

	// Calls go to Eve on one channel while Eve's account closes it: the channel ends at once,
	// Bob gets back all that the settled calls did not take, and later calls are refused.
	// Enough for every call the loop below makes (one each 50 ms) until the close.
	let deposit = 1_000 * OPG;
	let id = open_channel(&hub, &bob, dev::eve().public_key().0, deposit).await?;
	let calls = {
		let (endpoint, input, bob) = (eve_endpoint.clone(), input.clone(), bob.clone());
		tokio::spawn(async move {
			let mut voucher = Voucher::<u128>::empty(id);
			let mut answered = 0u64;
			let deadline = Instant::now() + Duration::from_secs(120);
			while Instant::now() < deadline {
				let next = voucher.next(model, price, execution).ok_or_else(|| anyhow!("full"))?;
				match infer(&endpoint, model, &input, &next, &sign(&bob, &genesis, &next)).await? {
					Ok(_) => {
						answered += 1;
						voucher = next;
						tokio::time::sleep(Duration::from_millis(50)).await;
					},
					Err(error) if error["data"]["error"] == "channelNotFound" && answered == 0 => {
						tokio::time::sleep(Duration::from_millis(200)).await
					},
					Err(error) => return Ok::<_, anyhow::Error>((answered, error)),
				}
			}
			bail!("still served after two minutes ({answered} calls)")
		})
	};
	// Once some calls are settled, Eve closes the channel with calls still coming.
	let deadline = Instant::now() + Duration::from_secs(60);
	loop {
		let record = channel(&hub, id).await?.ok_or_else(|| anyhow!("the channel is gone"))?;
		if record.settled_calls > 0 {
			break;
		}
		if Instant::now() > deadline {
			bail!("nothing settled on Eve's channel: {record:?}");
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let before =
		free(&hub.api, hub.api.at_current_block().await?.block_hash(), bob.public_key().0).await?;
	// Eve's worker process sends transactions from the same account: a close that loses the
	// race for a nonce is sent again.
	let close = dynamic::transaction("Channels", "close_channel", (id,));
	let mut attempts = 0;
	let closed_at = loop {
		match submit_next(&hub, &close, &dev::eve()).await {
			Ok(block) => break block,
			Err(error) if attempts < 5 => {
				attempts += 1;
				eprintln!("closing again after: {error}");
				tokio::time::sleep(Duration::from_secs(1)).await;
			},
			Err(error) => return Err(error),
		}
	};
	let (answered, refusal) = tokio::time::timeout(Duration::from_secs(150), calls).await???;
	let refusal = refusal["data"]["error"].as_str().unwrap_or_default().to_string();
	assert!(
		["channelNotFound", "channelNotOpen"].contains(&refusal.as_str()),
		"refused for another reason: {refusal}"
	);
	assert!(channel(&hub, id).await?.is_none(), "a channel its worker closes ends at once");
	// What the close returned: the deposit less what the settled calls paid, no more than the
	// calls Bob was answered.
	let at = hub.api.at_block(closed_at).await?;
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Closed {
		channel: u64,
		paid: u128,
		returned: u128,
	}
	let closed = at
		.events()
		.fetch()
		.await?
		.iter()
		.filter_map(|event| event.ok())
		.find(|event| event.pallet_name() == "Channels" && event.event_name() == "ChannelClosed")
		.ok_or_else(|| anyhow!("no ChannelClosed event"))?
		.decode_fields_unchecked_as::<Closed>()?;
	assert_eq!(closed.channel, id);
	assert_eq!(closed.paid + closed.returned, deposit);
	let paid = closed.paid;
	assert_eq!(paid % (price + execution), 0, "whole calls were paid");
	assert!(
		paid > 0 && paid / (price + execution) <= u128::from(answered),
		"paid {paid} for {answered} answers"
	);
	assert_eq!(free(&hub.api, closed_at, bob.public_key().0).await?, before + closed.returned);
	Ok(())
}

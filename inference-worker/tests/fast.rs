//! End to end: the fast path (`docs/fast-path.md`) with the real node and worker.
//!
//! - calls paid by vouchers pay every account what the same calls pay on chain (less the
//!   on-chain path's chain fee), and the worker settles a channel's calls in one transaction;
//! - a voucher replayed, over the deposit, at the wrong price, signed by someone else or
//!   missing is refused before the model runs, and costs the payer nothing; a channel its payer
//!   closes with calls in flight takes no more calls and pays exactly the calls served.

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
	let options: Vec<&str> = options.iter().map(String::as_str).collect();
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
	let options: Vec<&str> = options.iter().map(String::as_str).collect();
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

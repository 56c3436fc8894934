//! A client of the fast path that measures it (`modelhub-worker fast-bench`): opens channels
//! to the workers serving a model, makes paid calls on them in parallel (one lane per channel,
//! calls of a lane in voucher order), checks each answer's attestation, and waits for the
//! workers to settle them on chain, counting the settlement transactions.

use crate::{
	artifacts::hex0x,
	chain::{self, Chain},
};
use anyhow::{anyhow, bail, Context, Result};
use codec::{Decode, Encode};
use modelhub_primitives::channel::{FastAttestation, Voucher};
use serde_json::{json, Value};
use sp_core::{sr25519, Pair as _};
use sp_runtime::{AccountId32, MultiSignature};
use std::{
	collections::{HashMap, HashSet},
	time::{Duration, Instant},
};
use subxt_signer::sr25519::Keypair;

/// `Channels::ChannelSettled`, the fields the client reads.
#[derive(Debug, subxt::ext::scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct ChannelSettled {
	channel: u64,
	calls: u64,
	payouts: Vec<([u8; 32], u128)>,
}

/// What to measure.
pub struct BenchOptions {
	/// The model called.
	pub model: u64,
	/// The input of every call: a canonical tensor set.
	pub input: Vec<u8>,
	/// Calls in all.
	pub calls: u64,
	/// Channels, each a lane of calls made one after the other.
	pub lanes: usize,
	/// OPG units each channel holds.
	pub deposit: u128,
	/// How long to wait for the worker to settle every call; zero waits not at all.
	pub settle_timeout: Duration,
	/// Calls per lane made before measuring (not counted).
	pub warmup: u64,
	/// Workers used at most: the lanes go to the first of those serving the model, in turn.
	pub workers: usize,
}

/// A worker the benchmark calls: account, endpoint and attestation key.
#[derive(Clone)]
struct Target {
	worker: [u8; 32],
	endpoint: String,
	key: sr25519::Public,
}

/// Calls `method` on a worker's JSON-RPC endpoint; the error names the refusal.
async fn call(
	http: &reqwest::Client,
	endpoint: &str,
	method: &str,
	params: Value,
) -> Result<Value> {
	let url = endpoint.replacen("ws://", "http://", 1).replacen("wss://", "https://", 1);
	let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
	let reply = http
		.post(&url)
		.header(reqwest::header::CONTENT_TYPE, "application/json")
		.body(serde_json::to_vec(&body)?)
		.send()
		.await?
		.bytes()
		.await?;
	let reply: Value = serde_json::from_slice(&reply)?;
	if let Some(error) = reply.get("error") {
		bail!("{method}: {error}");
	}
	reply.get("result").cloned().ok_or_else(|| anyhow!("{method}: no result"))
}

fn unhex(value: &Value) -> Result<Vec<u8>> {
	value
		.as_str()
		.and_then(crate::artifacts::unhex)
		.ok_or_else(|| anyhow!("not a hex string: {value}"))
}

fn hash32(value: &Value) -> Result<[u8; 32]> {
	unhex(value)?.try_into().map_err(|_| anyhow!("not 32 bytes: {value}"))
}

/// The `p`-th percentile of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
	if sorted.is_empty() {
		return 0.0;
	}
	let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
	sorted.get(rank.min(sorted.len() - 1)).copied().unwrap_or_default()
}

/// One lane: `count` calls on `channel`, returning each call's latency in seconds and the
/// last voucher.
#[allow(clippy::too_many_arguments)]
async fn lane(
	http: reqwest::Client,
	endpoint: String,
	payer: Keypair,
	genesis: [u8; 32],
	attestation_key: sr25519::Public,
	channel: u64,
	model: u64,
	input: std::sync::Arc<Vec<u8>>,
	count: u64,
) -> Result<(Vec<f64>, u64)> {
	let quote = call(&http, &endpoint, "fast_quote", json!([model, input.len()])).await?;
	let amount = |name: &str| -> Result<u128> {
		quote
			.get(name)
			.and_then(Value::as_str)
			.and_then(|text| text.parse().ok())
			.ok_or_else(|| anyhow!("fast_quote: no {name}"))
	};
	let (price, execution) = (amount("price")?, amount("execution")?);
	let latest = call(&http, &endpoint, "fast_latest", json!([channel])).await?;
	let mut voucher = Voucher::<u128>::decode(&mut &unhex(&latest["voucher"])?[..])
		.context("decoding the latest voucher")?;
	let input_hex = hex0x(&input);
	let input_hash = sp_crypto_hashing::blake2_256(&input);
	let mut latencies = Vec::with_capacity(count as usize);
	for _ in 0..count {
		voucher = voucher
			.next(model, price, execution)
			.ok_or_else(|| anyhow!("the voucher has no room for another entry"))?;
		let signature = payer.sign(&voucher.message(&genesis)).0;
		let signature = MultiSignature::Sr25519(sr25519::Signature::from_raw(signature));
		let params = json!({
			"model": model,
			"input": input_hex,
			"voucher": hex0x(&voucher.encode()),
			"signature": hex0x(&signature.encode()),
		});
		let started = Instant::now();
		let answer = call(&http, &endpoint, "fast_infer", params).await?;
		latencies.push(started.elapsed().as_secs_f64());
		let attestation = FastAttestation {
			genesis_hash: genesis,
			channel,
			call: voucher.calls,
			block: answer["block"]
				.as_u64()
				.and_then(|block| u32::try_from(block).ok())
				.ok_or_else(|| anyhow!("the answer names no block"))?,
			artifact_hash: hash32(&answer["artifactHash"])?,
			input_hash,
			output_hash: hash32(&answer["outputHash"])?,
			worker: AccountId32::new(hash32(&answer["worker"])?),
		};
		let output = unhex(&answer["output"])?;
		let signature: [u8; 64] = unhex(&answer["signature"])?
			.try_into()
			.map_err(|_| anyhow!("an attestation is 64 bytes"))?;
		if sp_crypto_hashing::blake2_256(&output) != attestation.output_hash
			|| !sr25519::Pair::verify(
				&sr25519::Signature::from_raw(signature),
				attestation.message(),
				&attestation_key,
			) {
			bail!("call {} of channel {channel}: the attestation does not verify", voucher.calls);
		}
	}
	Ok((latencies, voucher.calls))
}

/// Runs the benchmark as `payer` against the node at `chain`.
pub async fn bench(chain: Chain, payer: Keypair, options: BenchOptions) -> Result<Value> {
	let at = chain.finalized().await?;
	let mut targets = Vec::new();
	for (worker, endpoint) in chain.fast_workers(options.model).await? {
		if targets.len() >= options.workers.max(1) {
			break;
		}
		let record = chain
			.worker_of(&at, worker)
			.await?
			.ok_or_else(|| anyhow!("the fast worker is not registered"))?;
		let key = sr25519::Public::from_raw(record.attestation_key);
		targets.push(Target { worker, endpoint, key });
	}
	if targets.is_empty() {
		bail!("no worker serves fast calls of model {}", options.model);
	}
	let genesis = chain.genesis_hash();

	// One channel per lane, opened together, the lanes going to the workers in turn.
	let lanes = options.lanes.max(1);
	let wanted = |worker: &[u8; 32]| {
		(0..lanes).filter(|lane| targets[lane % targets.len()].worker == *worker).count()
	};
	let first = chain.next_channel_id(&at).await?;
	for lane in 0..lanes {
		let worker = targets[lane % targets.len()].worker;
		chain.submit(&chain::open_channel(worker, options.deposit, 600)).await?;
	}
	let opened = Instant::now();
	// (channel, target) of each lane.
	let channels: Vec<(u64, Target)> = loop {
		let at = chain.api.at_current_block().await?;
		let next = chain.next_channel_id(&at).await?;
		let mut mine: Vec<(u64, Target)> = Vec::new();
		for id in first..next {
			let Some(record) = chain.channel(&at, id).await? else { continue };
			let Some(target) = targets.iter().find(|target| target.worker == record.worker) else {
				continue;
			};
			let taken = mine.iter().filter(|(_, known)| known.worker == record.worker).count();
			if record.payer == chain.account && taken < wanted(&record.worker) {
				mine.push((id, target.clone()));
			}
		}
		if mine.len() >= lanes {
			break mine;
		}
		if opened.elapsed() > Duration::from_secs(120) {
			bail!("{} of {lanes} channels opened after two minutes", mine.len());
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	};
	let http = reqwest::Client::builder().pool_max_idle_per_host(lanes).build()?;
	let input = std::sync::Arc::new(options.input.clone());
	let run = |count: u64| {
		let tasks: Vec<_> = channels
			.iter()
			.enumerate()
			.map(|(index, (channel, target))| {
				let share = count / lanes as u64 + u64::from((index as u64) < count % lanes as u64);
				tokio::spawn(lane(
					http.clone(),
					target.endpoint.clone(),
					payer.clone(),
					genesis,
					target.key,
					*channel,
					options.model,
					input.clone(),
					share,
				))
			})
			.collect();
		let ids: Vec<u64> = channels.iter().map(|(id, _)| *id).collect();
		async move {
			let mut latencies = Vec::new();
			let mut paid = HashMap::new();
			for (task, channel) in tasks.into_iter().zip(ids.iter()) {
				let (lane, calls) = task.await??;
				latencies.extend(lane);
				paid.insert(*channel, calls);
			}
			Ok::<_, anyhow::Error>((latencies, paid))
		}
	};
	// Every block from here on, so that no settlement is missed, however early it lands.
	let mut blocks = chain.api.stream_best_blocks().await?;
	if options.warmup > 0 {
		run(options.warmup.saturating_mul(lanes as u64)).await?;
	}
	let started = Instant::now();
	let (mut latencies, paid) = run(options.calls).await?;
	let seconds = started.elapsed().as_secs_f64();
	latencies.sort_by(f64::total_cmp);

	// The workers settle on their own schedule; count their settlement transactions, and
	// time from the first measured call to the block that settled the last.
	let mut settled_after: Option<f64> = None;
	let mut settlements = 0u64;
	let mut settled_calls = 0u64;
	let mut extrinsics_per_settlement: HashSet<(u64, u64)> = HashSet::new();
	let mut payouts: std::collections::BTreeMap<[u8; 32], u128> = Default::default();
	if !options.settle_timeout.is_zero() {
		let watched: HashSet<u64> = channels.iter().map(|(id, _)| *id).collect();
		let expected: u64 = paid.values().sum();
		let deadline = Instant::now() + options.settle_timeout;
		while settled_calls < expected {
			let next =
				tokio::time::timeout_at(deadline.into(), futures::StreamExt::next(&mut blocks))
					.await
					.map_err(|_| {
						anyhow!(
							"{settled_calls} of {expected} calls settled after {:?}",
							options.settle_timeout
						)
					})?;
			let block = next.ok_or_else(|| anyhow!("the block stream ended"))??;
			let at = block.at().await?;
			let events = at.events().fetch().await?;
			for event in events.iter() {
				let event = event?;
				if event.pallet_name() != "Channels" || event.event_name() != "ChannelSettled" {
					continue;
				}
				let settled = event.decode_fields_unchecked_as::<ChannelSettled>()?;
				if watched.contains(&settled.channel) {
					settlements += 1;
					settled_calls += settled.calls;
					extrinsics_per_settlement.insert((settled.channel, at.block_number()));
					for (account, amount) in settled.payouts {
						*payouts.entry(account).or_insert(0u128) += amount;
					}
					settled_after = Some(started.elapsed().as_secs_f64());
				}
			}
		}
	}
	let p = |q| percentile(&latencies, q) * 1_000.0;
	let channel_ids: Vec<u64> = channels.iter().map(|(id, _)| *id).collect();
	Ok(json!({
		"model": options.model,
		"workers": targets.iter().map(|target| hex0x(&target.worker)).collect::<Vec<_>>(),
		"endpoints": targets.iter().map(|target| target.endpoint.clone()).collect::<Vec<_>>(),
		"channels": channel_ids,
		"lanes": lanes,
		"calls": latencies.len(),
		"seconds": seconds,
		"callsPerSecond": latencies.len() as f64 / seconds.max(f64::MIN_POSITIVE),
		"p50Ms": p(50.0),
		"p90Ms": p(90.0),
		"p99Ms": p(99.0),
		"maxMs": latencies.last().copied().unwrap_or_default() * 1_000.0,
		"settlements": settlements,
		"settledCalls": settled_calls,
		"settledSeconds": settled_after,
		// The measured calls (not the warm-up's) over the time to the last settlement.
		"settledPerSecond": settled_after.map_or(0.0, |seconds| latencies.len() as f64 / seconds.max(f64::MIN_POSITIVE)),
		"settlementsPerChannelPerBlock": if extrinsics_per_settlement.is_empty() { 0.0 } else { settlements as f64 / extrinsics_per_settlement.len() as f64 },
		"payouts": payouts
			.iter()
			.map(|(account, amount)| (hex0x(account), Value::String(amount.to_string())))
			.collect::<serde_json::Map<_, _>>(),
	}))
}

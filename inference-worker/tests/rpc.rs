//! End to end over JSON-RPC: the real node and a real `modelhub-worker` on 127.0.0.1.
//!
//! - `modelhub_submitAndWatchInference` refuses every bad request with a JSON-RPC error before
//!   anything is paid (balances, nonce and request ids unchanged), then streams a good one from
//!   `ready` to its settled output; `modelhub_request`, `modelhub_result`, `modelhub_worker`
//!   and `modelhub_modelUsage` agree with the chain;
//! - a request whose worker reports failure streams to its refund, and the payer loses only the
//!   transaction fee; a call to a model no worker holds ready (its artifact does not match the
//!   record) is refused before submission and costs nothing;
//! - every watch ends with `finalized` after its outcome; across a reorg (three validators,
//!   one partitioned: its fork settles the request, the majority's fork gives its id to
//!   another request and wins) the watch withdraws the fork's outcome, follows the request
//!   included again, and ends with its true final outcome, never another request's.

mod hub;

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use codec::{Decode, Encode};
use hub::*;
use serde_json::{json, Value as Json};
use subxt::{
	dynamic::{self, Value},
	rpcs::{rpc_params, RpcClient},
	transactions::DefaultParams,
	utils::H256,
};
use subxt_signer::sr25519::{dev, Keypair};

/// `call` signed by `signer` with the next nonce, as the bytes a client sends.
async fn signed(
	api: &Api,
	call: &impl subxt::transactions::Payload,
	signer: &Keypair,
) -> Result<Vec<u8>> {
	let mut transactions = api.at_current_block().await?.transactions();
	let transaction =
		transactions.create_signed(call, signer, DefaultParams::default_params()).await?;
	Ok(transaction.into_encoded())
}

fn request_call(
	model: u64,
	input: Vec<u8>,
	max_fee: u128,
	redundancy: u32,
) -> impl subxt::transactions::Payload {
	dynamic::transaction("Inference", "request_inference", (model, input, max_fee, redundancy))
}

/// Submits `extrinsic` through `modelhub_submitAndWatchInference` and subscribes to its updates.
async fn subscribe_watch(
	rpc: &RpcClient,
	extrinsic: &[u8],
) -> Result<subxt::rpcs::client::RpcSubscription<Json>, subxt::rpcs::Error> {
	rpc.subscribe::<Json>(
		"modelhub_submitAndWatchInference",
		rpc_params![format!("0x{}", hex::encode(extrinsic))],
		"modelhub_unwatchInference",
	)
	.await
}

/// The JSON-RPC error `modelhub_submitAndWatchInference` answers `extrinsic` with.
async fn refused(rpc: &RpcClient, extrinsic: &[u8]) -> Result<String> {
	match subscribe_watch(rpc, extrinsic).await {
		Ok(_) => bail!("the extrinsic was accepted"),
		Err(error) => Ok(error.to_string()),
	}
}

/// Submits `extrinsic` and collects its updates until one ends the watch (bounded in time).
async fn watch(rpc: &RpcClient, extrinsic: &[u8], within: Duration) -> Result<Vec<Json>> {
	let mut updates = subscribe_watch(rpc, extrinsic).await?;
	let mut seen = Vec::new();
	let deadline = tokio::time::Instant::now() + within;
	loop {
		let next = tokio::time::timeout_at(deadline, updates.next())
			.await
			.map_err(|_| anyhow!("no end within {within:?}: {seen:?}"))?
			.ok_or_else(|| anyhow!("the subscription closed: {seen:?}"))??;
		let event = next["event"].as_str().unwrap_or_default().to_string();
		seen.push(next);
		if ["finalized", "dropped", "timedOut"].contains(&event.as_str()) {
			// The watch ends there.
			let after = tokio::time::timeout(Duration::from_secs(10), updates.next()).await;
			if let Ok(Some(Ok(more))) = after {
				bail!("an update after {event}: {more}; before: {seen:?}");
			}
			return Ok(seen);
		}
	}
}

fn find<'a>(updates: &'a [Json], event: &str) -> Result<&'a Json> {
	updates
		.iter()
		.find(|update| update["event"] == event)
		.ok_or_else(|| anyhow!("no {event:?} update in {updates:?}"))
}

fn amount(value: &Json) -> Result<u128> {
	value
		.as_str()
		.and_then(|text| text.parse().ok())
		.ok_or_else(|| anyhow!("not an amount: {value}"))
}

/// Bob's free and reserved balance and nonce, and the next request id, at `at`.
async fn ledger(api: &Api, at: H256) -> Result<Json> {
	let block = api.at_block(at).await?;
	let account = block
		.storage()
		.fetch(
			dynamic::storage::<([u8; 32],), Value>("System", "Account"),
			(dev::bob().public_key().0,),
		)
		.await?
		.decode()?;
	let next = block
		.storage()
		.fetch(dynamic::storage::<(), u64>("Inference", "NextRequestId"), ())
		.await?
		.decode()?;
	Ok(json!({ "account": account.to_string(), "next_request": next }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_call_over_json_rpc_streams_to_its_output_and_bad_ones_cost_nothing() -> Result<()> {
	let mut hub = Hub::start(&[("//Dave", &[])], None).await?;
	let rpc = hub.node.rpc_client(Duration::from_secs(30)).await?;
	let api = hub.api.clone();
	let nobody_uri: subxt_signer::SecretUri =
		"//Nobody".parse().map_err(|error| anyhow!("{error}"))?;
	let (bob, nobody) = (dev::bob(), Keypair::from_uri(&nobody_uri)?);
	let model = hub.model;
	let input = digit_input()?;
	let quote: Json =
		rpc.request("modelhub_quote", rpc_params![model, input.len() as u32, 1]).await?;
	let fee = amount(&quote["total"])?;

	// Every bad request is a JSON-RPC error naming what is wrong, and costs nothing.
	let before = ledger(&api, api.at_current_block().await?.block_hash()).await?;
	let wrong_schema = {
		use modelhub_primitives::tensor::{DType, Limits, Tensor, TensorSet};
		let tensor =
			Tensor { name: b"x".to_vec(), dtype: DType::F32, shape: vec![1], data: vec![0; 4] };
		TensorSet::new(vec![tensor], &Limits::default()).map_err(|e| anyhow!("{e:?}"))?.encode()
	};
	let remark = dynamic::transaction("System", "remark", vec![Value::from_bytes("hello")]);
	let mut forged = signed(&api, &request_call(model, input.clone(), fee, 1), &bob).await?;
	// The sr25519 signature follows the length prefix, the version byte, the address (variant
	// and 32 bytes) and the signature's variant byte.
	let body = codec::Compact::<u32>::decode(&mut &forged[..])?.0 as usize;
	let signature_at = forged.len() - body + 1 + 33 + 1;
	forged[signature_at] ^= 0xff;
	let above_max = format!("the fee is {fee} but max_fee is {}", fee - 1);
	let cases: Vec<(Vec<u8>, &str, &str)> = vec![
		(vec![1, 2, 3], "21011", "not an extrinsic of this chain"),
		(signed(&api, &remark, &bob).await?, "21011", "does not call Inference.request_inference"),
		(
			signed(&api, &request_call(999, input.clone(), fee, 1), &bob).await?,
			"21001",
			"model 999 does not exist",
		),
		(
			signed(&api, &request_call(model, input.clone(), fee, 0), &bob).await?,
			"21003",
			"redundancy",
		),
		(
			signed(&api, &request_call(model, vec![1, 2, 3], fee, 1), &bob).await?,
			"21006",
			"canonical",
		),
		(
			signed(&api, &request_call(model, wrong_schema, fee, 1), &bob).await?,
			"21007",
			"input schema",
		),
		(
			signed(&api, &request_call(model, input.clone(), fee - 1, 1), &bob).await?,
			"21008",
			&above_max,
		),
		(
			signed(&api, &request_call(model, input.clone(), 2 * fee, 2), &bob).await?,
			"21010",
			"ready than the redundancy asks for",
		),
		(
			signed(&api, &request_call(model, input.clone(), fee, 1), &nobody).await?,
			"21009",
			"cannot cover",
		),
		(forged, "21012", "signature does not verify"),
	];
	for (extrinsic, code, text) in &cases {
		let error = refused(&rpc, extrinsic).await?;
		assert!(
			error.contains(code) && error.contains(text),
			"expected {code} {text:?}, got {error}"
		);
	}
	// Two blocks later nothing has moved: no fee held or paid, no nonce used, no request made.
	let now = api.at_current_block().await?.block_number();
	let deadline = std::time::Instant::now() + Duration::from_secs(60);
	while api.at_current_block().await?.block_number() < now + 2 {
		if std::time::Instant::now() > deadline {
			bail!("no two new blocks within a minute");
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let after = ledger(&api, api.at_current_block().await?.block_hash()).await?;
	assert_eq!(before, after);

	// A good request streams from the pool to its settled output.
	let extrinsic = signed(&api, &request_call(model, input.clone(), fee, 1), &bob).await?;
	let started = std::time::Instant::now();
	let updates = watch(&rpc, &extrinsic, Duration::from_secs(120)).await?;
	let latency = started.elapsed();
	let events: Vec<&str> = updates.iter().filter_map(|update| update["event"].as_str()).collect();
	assert_eq!(events.first(), Some(&"ready"), "{updates:?}");
	assert_eq!(
		&events[events.len() - 4..],
		["inBlock", "assigned", "settled", "finalized"],
		"{updates:?}"
	);
	let in_block = find(&updates, "inBlock")?;
	let assigned = find(&updates, "assigned")?;
	let settled = find(&updates, "settled")?;
	let finalized = find(&updates, "finalized")?;
	assert_eq!(
		(&finalized["block"], &finalized["number"]),
		(&settled["block"], &settled["number"])
	);
	let dave = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy";
	assert_eq!(assigned["workers"], json!([dave]));
	assert_eq!(assigned["fee"], quote);
	assert_eq!(assigned["model"], model);
	let request = assigned["request"].as_u64().ok_or_else(|| anyhow!("no request id"))?;
	assert_eq!(settled["request"], request);
	assert_eq!(settled["workers"], json!([dave]));
	let paid: u128 = settled["payouts"]
		.as_array()
		.ok_or_else(|| anyhow!("no payouts"))?
		.iter()
		.map(|payout| amount(&payout["amount"]))
		.sum::<Result<u128>>()?;
	// The payouts are the fee less the part of the chain fee the call did not use.
	let chain = amount(&quote["chain"])?;
	assert!(paid < fee && fee - paid < chain, "paid {paid} of a {fee} fee");
	let output =
		hex::decode(settled["output"].as_str().unwrap_or_default().trim_start_matches("0x"))?;
	let output_hash = format!("0x{}", hex::encode(sp_crypto_hashing::blake2_256(&output)));
	assert_eq!(settled["outputHash"], output_hash);
	let settled_block: H256 = serde_json::from_value(settled["block"].clone())?;
	check_output(&api, settled_block, request, sp_crypto_hashing::blake2_256(&output)).await?;
	println!("paid call over JSON-RPC: submitted to settled output in {latency:?}: {updates:#?}");

	// modelhub_request: pending with its worker and fee in the block that made it; settled after.
	let in_block_hash: H256 = serde_json::from_value(in_block["block"].clone())?;
	let pending: Json =
		rpc.request("modelhub_request", rpc_params![request, in_block_hash]).await?;
	assert_eq!(pending["status"], "pending");
	assert_eq!(
		(pending["phase"].as_str(), pending["redundancy"].as_u64()),
		(Some("running"), Some(1))
	);
	assert_eq!(pending["slots"], json!([{ "worker": dave, "state": "assigned" }]));
	assert_eq!(pending["fee"], quote);
	assert_eq!(pending["requester"], "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
	let ended: Json = rpc.request("modelhub_request", rpc_params![request, settled_block]).await?;
	assert_eq!(
		(ended["status"].as_str(), &ended["outputHash"]),
		(Some("settled"), &json!(output_hash))
	);
	assert_eq!(ended["endedAt"], settled["number"]);
	let unknown: Json = rpc.request("modelhub_request", rpc_params![request + 100]).await?;
	assert!(unknown.is_null());
	// modelhub_result: the output, only once ended.
	let result: Json = rpc.request("modelhub_result", rpc_params![request, settled_block]).await?;
	assert_eq!(
		(result["status"].as_str(), &result["output"]),
		(Some("settled"), &settled["output"])
	);
	let not_yet: Json = rpc.request("modelhub_result", rpc_params![request, in_block_hash]).await?;
	assert!(not_yet.is_null());
	// modelhub_worker: Dave's bond, its job and what it earned; unknown and malformed accounts.
	let worker: Json = rpc.request("modelhub_worker", rpc_params![dave, settled_block]).await?;
	assert_eq!((worker["registered"].as_bool(), worker["jobs"].as_u64()), (Some(true), Some(1)));
	assert_eq!(worker["bond"], (100 * OPG).to_string());
	assert_eq!((worker["pendingJobs"].as_u64(), worker["slashes"].as_u64()), (Some(0), Some(0)));
	assert_eq!(worker["earnings"], quote["workers"]);
	let stranger: Json = rpc
		.request("modelhub_worker", rpc_params!["5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"])
		.await?;
	assert!(stranger.is_null());
	let malformed = rpc
		.request::<Json>("modelhub_worker", rpc_params!["dave"])
		.await
		.err()
		.ok_or_else(|| anyhow!("a malformed address must fail"))?
		.to_string();
	assert!(
		malformed.contains("21005") && malformed.contains("not an SS58 address"),
		"{malformed}"
	);
	// modelhub_modelUsage: the one call is all of the hub's demand, over an epoch and all time.
	for epochs in [Some(1), None] {
		let usage: Json =
			rpc.request("modelhub_modelUsage", rpc_params![model, epochs, settled_block]).await?;
		assert_eq!((usage["calls"].as_u64(), usage["rank"].as_u64()), (Some(1), Some(1)));
		assert_eq!(
			(usage["share"].as_f64(), &usage["royalties"]),
			(Some(1.0), &json!(PRICE.to_string()))
		);
	}
	let missing: Json = rpc.request("modelhub_modelUsage", rpc_params![999]).await?;
	assert!(missing.is_null());

	// The Node.js clients: infer.mjs pays for a call through the same subscription and prints
	// the output and the fee split; usage.mjs then shows both calls.
	let url = hub.node.ws_url();
	let sample = repo().join("scripts/sample-models/digits.input.json").display().to_string();
	let args =
		[&model.to_string(), "--input", &sample, "--url", &url, "--suri", "//Bob", "--quiet"];
	let call = common::node_script("infer.mjs", &args.map(String::from)).await?;
	let stderr = String::from_utf8_lossy(&call.stderr);
	assert!(call.status.success(), "infer.mjs failed: {stderr}");
	let printed: Json = serde_json::from_slice(&call.stdout)?;
	assert_eq!(
		(printed["status"].as_str(), printed["payer"].as_str()),
		(Some("settled"), Some("Bob"))
	);
	assert_eq!(printed["prediction"].to_string().trim_matches('"'), "0", "{printed}");
	assert_eq!(printed["fee"]["royalty"], "0.5 OPG");
	let opg = |key: &str| {
		printed["fee"][key].as_str().and_then(|text| text.strip_suffix(" OPG")?.parse::<f64>().ok())
	};
	let (held, chain, paid) = (opg("total"), opg("chain"), opg("paid"));
	assert!(
		matches!((held, chain, paid), (Some(held), Some(chain), Some(paid))
			if paid > 0.51 && paid < held && held - paid < chain),
		"{printed}"
	);
	assert_eq!(printed["workers"], json!(["Dave"]));
	assert_eq!(printed["payouts"].as_array().map(Vec::len), Some(5), "{printed}");
	let usage =
		common::node_script("usage.mjs", &["--json", "--url", &url].map(String::from)).await?;
	assert!(usage.status.success(), "usage.mjs failed: {}", String::from_utf8_lossy(&usage.stderr));
	let usage: Json = serde_json::from_slice(&usage.stdout)?;
	assert_eq!(usage["stats"]["all time"]["calls"], 2, "{usage}");
	assert_eq!(usage["models"][0]["usage"]["rank"], 1, "{usage}");
	let table = common::node_script("usage.mjs", &["--url", &url].map(String::from)).await?;
	let table = String::from_utf8_lossy(&table.stdout);
	assert!(table.contains("top-10 share") && table.contains("digits"), "{table}");

	// A paused model is refused before anything is paid.
	let pause = dynamic::transaction(
		"ModelRegistry",
		"set_status",
		vec![Value::u128(model.into()), Value::unnamed_variant("Paused", [])],
	);
	submit(&api, &pause, &dev::charlie()).await?;
	let before = ledger(&api, api.at_current_block().await?.block_hash()).await?;
	let paused = signed(&api, &request_call(model, input, fee, 1), &bob).await?;
	let error = refused(&rpc, &paused).await?;
	assert!(error.contains("21002") && error.contains("paused"), "{error}");
	assert_eq!(ledger(&api, api.at_current_block().await?.block_hash()).await?, before);
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_its_workers_fail_streams_to_its_refund_and_an_unserved_model_costs_nothing(
) -> Result<()> {
	// The worker holds the model ready but reports every job as failed.
	let fail: &[&str] = &["--test-fail-jobs"];
	let mut hub = Hub::start(&[("//Dave", fail)], None).await?;
	let rpc = hub.node.rpc_client(Duration::from_secs(30)).await?;
	let api = hub.api.clone();
	let input = digit_input()?;
	let quote: Json =
		rpc.request("modelhub_quote", rpc_params![hub.model, input.len() as u32, 1]).await?;
	let fee = amount(&quote["total"])?;
	let bob = dev::bob();
	let extrinsic = signed(&api, &request_call(hub.model, input, fee, 1), &bob).await?;
	let updates = watch(&rpc, &extrinsic, Duration::from_secs(120)).await?;
	let refunded = find(&updates, "refunded")?;
	assert_eq!(refunded["reason"], "workersFailed", "{updates:?}");
	assert_eq!(amount(&refunded["amount"])?, fee);
	let request =
		find(&updates, "assigned")?["request"].as_u64().ok_or_else(|| anyhow!("no id"))?;
	let refund_block: H256 = serde_json::from_value(refunded["block"].clone())?;
	let ended: Json = rpc.request("modelhub_request", rpc_params![request, refund_block]).await?;
	assert_eq!(
		(ended["status"].as_str(), ended["reason"].as_str()),
		(Some("refunded"), Some("workersFailed"))
	);
	let result: Json = rpc.request("modelhub_result", rpc_params![request, refund_block]).await?;
	assert_eq!(result["output"], "0x");
	// Bob paid only the transaction fee; the model counts the failure.
	let in_block: H256 = serde_json::from_value(find(&updates, "inBlock")?["block"].clone())?;
	let header = api.at_block(in_block).await?.block_header().await?;
	let spent = free(&api, header.parent_hash, bob.public_key().0).await?
		- free(&api, refund_block, bob.public_key().0).await?;
	assert!(spent > 0 && spent < fee / 10, "Bob spent {spent} of a {fee} fee");
	let model: Json = rpc.request("modelhub_model", rpc_params![hub.model, refund_block]).await?;
	assert_eq!((model["calls"].as_u64(), model["failures"].as_u64()), (Some(0), Some(1)));

	// A model whose artifact no worker can get (the record names the CNN's hash and size, but
	// the URI serves another file) is never declared ready: a call to it is refused before
	// submission, and nothing is paid, held or used.
	let wrong = format!("file://{}", repo().join("scripts/sample-models/linear.onnx").display());
	let cnn = Sample::cnn()?;
	let unserved = publish(&api, &cnn, &wrong).await?;
	hub.workers[0].wait_for_log("cannot hold the model ready", Duration::from_secs(60)).await?;
	let input = cnn.input.clone();
	let before = ledger(&api, api.at_current_block().await?.block_hash()).await?;
	let extrinsic = signed(&api, &request_call(unserved, input, OPG, 1), &bob).await?;
	let error = refused(&rpc, &extrinsic).await?;
	assert!(error.contains("21013") && error.contains("ready"), "{error}");
	let now = api.at_current_block().await?.block_number();
	while api.at_current_block().await?.block_number() < now + 2 {
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let after = ledger(&api, api.at_current_block().await?.block_hash()).await?;
	assert_eq!(before, after);
	Ok(())
}

/// Connects or disconnects `a` and `b` (reserved-only nodes) both ways.
async fn link(nodes: &[(&RpcClient, String)], a: usize, b: usize, connect: bool) -> Result<()> {
	let method = if connect { "system_addReservedPeer" } else { "system_removeReservedPeer" };
	for (from, to) in [(a, b), (b, a)] {
		let (rpc, _) = &nodes[from];
		let peer = if connect {
			nodes[to].1.clone()
		} else {
			nodes[to].1.rsplit('/').next().unwrap_or_default().to_string()
		};
		let _: Json = rpc.request(method, rpc_params![peer]).await?;
	}
	Ok(())
}

/// Bob's request of `model` on `input` at `max_fee`, waited for in a best block only (a
/// partitioned chain finalizes nothing): its id.
async fn request_in_best_block(
	api: &Api,
	model: u64,
	input: Vec<u8>,
	max_fee: u128,
) -> Result<u64> {
	let call = request_call(model, input, max_fee, 1);
	let mut transactions = api.at_current_block().await?.transactions();
	let mut progress = transactions.sign_and_submit_then_watch_default(&call, &dev::bob()).await?;
	let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
	while let Some(status) = tokio::time::timeout_at(deadline, progress.next()).await? {
		let status = status?;
		let Some(in_block) = status.as_in_block() else { continue };
		let events = in_block.wait_for_success().await?;
		for event in events.iter().filter_map(|event| event.ok()) {
			if event.pallet_name() == "Inference" && event.event_name() == "InferenceRequested" {
				return Ok(event.decode_fields_unchecked_as::<Requested>()?.request);
			}
		}
		bail!("no InferenceRequested event");
	}
	bail!("the request was not included")
}

/// A node's best block number.
async fn best_number(rpc: &RpcClient) -> Result<u64> {
	let header: Json = rpc.request("chain_getHeader", rpc_params![]).await?;
	let number = header["number"].as_str().ok_or_else(|| anyhow!("no number in {header}"))?;
	Ok(u64::from_str_radix(number.trim_start_matches("0x"), 16)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_follows_its_request_across_a_reorg_to_its_true_final_outcome() -> Result<()> {
	use hub::common::Node;
	// The `local` chain's three validators and a full node, reserved-only: they reach only the
	// peers they are told to, and a restarted node is told of none. (A validator authors only
	// with a peer, so the partitioned one keeps the full node.)
	let mut nodes = Vec::new();
	let mut arguments = Vec::new();
	for (role, key) in [("--alice", 1u8), ("--bob", 2), ("--charlie", 3), ("--name=full", 4)] {
		let args =
			["--chain", "local", role, "--node-key", &format!("{key:064x}"), "--reserved-only"]
				.map(String::from);
		nodes.push(Node::start(&args.iter().map(String::as_str).collect::<Vec<_>>())?);
		arguments.push(args);
	}
	let mut rpcs = Vec::new();
	for node in &mut nodes {
		let rpc = node.rpc_client(Duration::from_secs(60)).await?;
		let peer: String = rpc.request("system_localPeerId", rpc_params![]).await?;
		let address = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", node.p2p_port);
		rpcs.push((rpc, address));
	}
	let peers: Vec<(&RpcClient, String)> =
		rpcs.iter().map(|(rpc, address)| (rpc, address.clone())).collect();
	for (a, b) in [(0, 1), (0, 2), (1, 2), (0, 3)] {
		link(&peers, a, b, true).await?;
	}
	let bob_rpc = &rpcs[1].0;
	let alice_rpc = rpcs[0].0.clone();
	let alice_api = Api::from_rpc_client(alice_rpc.clone()).await?;
	let bob_api = Api::from_rpc_client(bob_rpc.clone()).await?;

	// Dave serves the digits model through Alice's node.
	register(&nodes[0], "//Dave").await?;
	let sample = Sample::digits()?;
	let model =
		publish(&alice_api, &sample, &format!("file://{}", sample.path().display())).await?;
	let mut worker = Worker::start(&nodes[0], "//Dave", &[])?;
	worker.wait_for_log("serving jobs", Duration::from_secs(60)).await?;
	wait_ready(&alice_api, model, 1, 1, Duration::from_secs(120)).await?;
	let quote: Json = alice_rpc
		.request("modelhub_quote", rpc_params![model, sample.input.len() as u32, 1])
		.await?;
	let fee = amount(&quote["total"])?;

	// Alice is cut off from Bob and Charlie (restarted knowing no peer but the full node, and
	// forgotten by them): each side authors a fork of its own, Bob and Charlie in two slots of
	// three, Alice in one; GRANDPA, which needs all three, finalizes neither.
	for other in [1, 2] {
		let (rpc, _) = &peers[other];
		let alice_peer = peers[0].1.rsplit('/').next().unwrap_or_default().to_string();
		let _: Json = rpc.request("system_removeReservedPeer", rpc_params![alice_peer]).await?;
	}
	nodes[0].restart(&arguments[0].iter().map(String::as_str).collect::<Vec<_>>())?;
	let alice_rpc = nodes[0].rpc_client(Duration::from_secs(60)).await?;
	let alice_api = Api::from_rpc_client(alice_rpc.clone()).await?;
	let full: Vec<(&RpcClient, String)> =
		vec![(&alice_rpc, peers[0].1.clone()), (peers[3].0, peers[3].1.clone())];
	link(&full, 0, 1, true).await?;
	// The worker reconnects to her.
	let started = std::time::Instant::now();
	while worker.log().matches("serving jobs").count() < 2 {
		if started.elapsed() > Duration::from_secs(90) {
			bail!("the worker did not reconnect: {}", worker.log());
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let extrinsic =
		signed(&alice_api, &request_call(model, sample.input.clone(), fee, 1), &dev::ferdie())
			.await?;
	let mut updates = subscribe_watch(&alice_rpc, &extrinsic).await?;
	let mut seen: Vec<Json> = Vec::new();
	let deadline = tokio::time::Instant::now() + Duration::from_secs(420);
	let mut next = async |seen: &mut Vec<Json>| -> Result<String> {
		let update = tokio::time::timeout_at(deadline, updates.next())
			.await
			.map_err(|_| anyhow!("the watch did not end in time: {seen:#?}"))?
			.ok_or_else(|| anyhow!("the subscription closed: {seen:?}"))??;
		let event = update["event"].as_str().unwrap_or_default().to_string();
		seen.push(update);
		Ok(event)
	};
	// It settles on Alice's fork, which nothing finalizes.
	while next(&mut seen).await? != "settled" {}
	let fork_request = find(&seen, "assigned")?["request"].clone();

	// On the majority's fork, another request of another input takes the same id.
	let mut other_input = modelhub_primitives::tensor::TensorSet::decode(&mut &sample.input[..])?;
	other_input.tensors[0].data =
		other_input.tensors[0].data.chunks(4).flat_map(|_| 16.0f32.to_le_bytes()).collect();
	let other = request_in_best_block(&bob_api, model, other_input.encode(), fee).await?;
	assert_eq!(json!(other), fork_request, "the same id on both forks");
	// The majority's fork is the longer one: Alice's gives way when she reconnects.
	let started = std::time::Instant::now();
	while best_number(bob_rpc).await? <= best_number(&alice_rpc).await? + 1 {
		if started.elapsed() > Duration::from_secs(120) {
			bail!("Bob's fork did not outgrow Alice's");
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	let peers: Vec<(&RpcClient, String)> = vec![
		(&alice_rpc, peers[0].1.clone()),
		(peers[1].0, peers[1].1.clone()),
		(peers[2].0, peers[2].1.clone()),
	];
	link(&peers, 0, 1, true).await?;
	link(&peers, 0, 2, true).await?;

	// The watch withdraws the fork's outcome, follows the request included again, and ends
	// with its outcome on the chain that is final.
	while next(&mut seen).await? != "finalized" {}
	let events: Vec<&str> = seen.iter().filter_map(|update| update["event"].as_str()).collect();
	assert!(events.contains(&"retracted") || events.contains(&"outcomeRetracted"), "{seen:#?}");
	let mut assigned = None;
	for update in &seen {
		match update["event"].as_str() {
			Some("assigned") => assigned = Some(update["request"].clone()),
			Some("retracted") => assigned = None,
			Some("settled") | Some("refunded") => {
				assert_eq!(Some(update["request"].clone()), assigned, "{seen:#?}")
			},
			_ => {},
		}
	}
	let last = seen.iter().rev().find(|update| update["event"] == "settled");
	let last = last.ok_or_else(|| anyhow!("no settled: {seen:#?}"))?;
	let finalized = seen.last().ok_or_else(|| anyhow!("no updates"))?;
	assert_eq!((&finalized["block"], &finalized["number"]), (&last["block"], &last["number"]));
	let request = last["request"].as_u64().ok_or_else(|| anyhow!("no id in {last}"))?;
	assert_ne!(json!(request), fork_request, "{seen:#?}");
	// The chain agrees: Ferdie's request settled with the watch's output, final.
	let block: H256 = serde_json::from_value(finalized["block"].clone())?;
	let result: Json = alice_rpc.request("modelhub_result", rpc_params![request, block]).await?;
	assert_eq!(result["outputHash"], last["outputHash"], "{result}");
	assert_eq!(result["requester"], "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL");
	let output_hash: [u8; 32] =
		hex::decode(last["outputHash"].as_str().unwrap_or_default().trim_start_matches("0x"))?
			.try_into()
			.map_err(|_| anyhow!("not a hash"))?;
	check_output(&alice_api, block, request, output_hash).await?;
	// And the watch ends there.
	let after = tokio::time::timeout(Duration::from_secs(10), updates.next()).await;
	assert!(!matches!(after, Ok(Some(Ok(_)))), "an update after finalized: {after:?}");
	drop(worker);
	Ok(())
}

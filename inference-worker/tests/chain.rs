//! End to end: the real node and real `modelhub-worker` processes on 127.0.0.1 serve paid
//! inference calls of the sample digits classifier.
//!
//! - one worker: publish, pay, settle, with every balance checked to the unit;
//! - three workers at redundancy 3, one of them lying: the majority settles, the liar is
//!   slashed;
//! - the same on a real-weight CNN with the two honest workers at different graph optimization
//!   levels: their outputs differ in the last bits, agree within the model's tolerance, and
//!   both are paid;
//! - a worker killed between its commitment and its reveal and started again: it reveals and
//!   the request settles;
//! - an artifact whose bytes do not match the record: the worker (following finalized blocks)
//!   never declares it ready, and a call is refused before anything is held;
//! - an artifact served too slowly to fetch: no worker declares it ready while it trickles, so
//!   a call is refused instead of running out a deadline, and the worker keeps its bond.
//! - a worker sent SIGTERM while a redundant job is open: it withdraws its readiness, still
//!   commits and reveals, and exits once the request has settled, paid and unslashed.

mod hub;

use std::{collections::BTreeMap, time::Duration};

use anyhow::{anyhow, bail, Result};
use hub::*;
use subxt::utils::H256;
use subxt_signer::sr25519::dev;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_serves_a_paid_call_and_every_balance_adds_up() -> Result<()> {
	let metrics = format!("127.0.0.1:{}", common::free_port()?);
	let serve_metrics: &[&str] = &["--prometheus", &metrics];
	let mut hub = Hub::start(&[("//Dave", serve_metrics)], None).await?;
	let (owner, bob, dave) =
		(dev::charlie().public_key().0, dev::bob().public_key().0, dev::dave().public_key().0);
	let stash = beneficiary()?.public_key().0;

	// modelhub_quote names the fee the request will hold; unknown models are clear errors.
	let rpc = hub.node.rpc_client(Duration::from_secs(30)).await?;
	let input_len = digit_input()?.len() as u32;
	let quote: serde_json::Value =
		rpc.request("modelhub_quote", subxt::rpcs::rpc_params![hub.model, input_len, 1]).await?;
	let unknown = rpc
		.request::<serde_json::Value>("modelhub_quote", subxt::rpcs::rpc_params![999, 10])
		.await
		.err()
		.ok_or_else(|| anyhow!("a quote for an unknown model must fail"))?
		.to_string();
	assert!(unknown.contains("model 999 does not exist"), "{unknown}");

	let (requested, request_block, tx_fee) = request(&hub.api, hub.model, &hub.input, 1).await?;
	assert_eq!(requested.workers, vec![dave]);
	assert_eq!(quote["total"], requested.fee.to_string());
	assert_eq!(quote["royalty"], PRICE.to_string());
	let (settled_block, settled) =
		hub.wait_settled(requested.request, request_block, Duration::from_secs(120)).await?;
	assert_eq!(settled.workers, vec![dave]);
	// The quote's split is the settlement's.
	let split = |key: &str| quote[key].as_str().and_then(|text| text.parse::<u128>().ok());
	let paid_to = |who: [u8; 32]| {
		settled
			.payouts
			.iter()
			.filter(|(payee, _)| *payee == who)
			.map(|(_, amount)| amount)
			.sum::<u128>()
	};
	assert_eq!(split("workers"), Some(paid_to(dave)));
	// modelhub_marketStats counts the settled call: one model takes all demand.
	let stats: serde_json::Value = rpc
		.request("modelhub_marketStats", subxt::rpcs::rpc_params![1, Some(settled_block)])
		.await?;
	assert_eq!(stats["calls"], 1);
	assert_eq!(stats["modelsCalled"], 1);
	// The call paid its fee less the chain fee it did not use.
	let paid_fee: u128 = settled.payouts.iter().map(|(_, amount)| amount).sum();
	let chain_held = split("chain").ok_or_else(|| anyhow!("no chain fee quoted"))?;
	assert!(paid_fee < requested.fee && requested.fee - paid_fee < chain_held, "{quote}");
	assert_eq!(stats["fees"], paid_fee.to_string());
	assert_eq!(stats["royalties"], PRICE.to_string());
	assert_eq!((stats["top10Share"].as_f64(), stats["hhi"].as_f64()), (Some(1.0), Some(1.0)));
	let all_time: serde_json::Value = rpc
		.request("modelhub_marketStats", subxt::rpcs::rpc_params![None::<u32>, Some(settled_block)])
		.await?;
	assert_eq!((all_time["calls"].as_u64(), all_time["fees"].is_null()), (Some(1), true));
	// modelhub_model and modelhub_models show the model's terms and usage.
	let listed: serde_json::Value = rpc
		.request("modelhub_model", subxt::rpcs::rpc_params![hub.model, Some(settled_block)])
		.await?;
	assert_eq!(listed["owner"], "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y");
	assert_eq!(
		(listed["name"].as_str(), listed["state"].as_str()),
		(Some("digits"), Some("active"))
	);
	assert_eq!((listed["calls"].as_u64(), listed["payers"].as_u64()), (Some(1), Some(1)));
	assert_eq!(listed["revenue"], PRICE.to_string());
	let page: serde_json::Value = rpc
		.request("modelhub_models", subxt::rpcs::rpc_params!["revenue", 0, 10, Some(settled_block)])
		.await?;
	assert_eq!(page, serde_json::Value::Array(vec![listed]));
	let missing: serde_json::Value =
		rpc.request("modelhub_model", subxt::rpcs::rpc_params![999]).await?;
	assert!(missing.is_null());
	let bad_order = rpc
		.request::<serde_json::Value>("modelhub_models", subxt::rpcs::rpc_params!["popular"])
		.await
		.err()
		.ok_or_else(|| anyhow!("an unknown order must fail"))?
		.to_string();
	assert!(bad_order.contains("unknown order"), "{bad_order}");
	let api = &hub.api;
	check_output(api, settled_block, requested.request, settled.output_hash).await?;

	// Every payee's balance moved by its payouts.
	let mut paid: BTreeMap<[u8; 32], u128> = BTreeMap::new();
	for (who, amount) in &settled.payouts {
		*paid.entry(*who).or_default() += amount;
	}
	assert_eq!(paid.get(&owner), Some(&(PRICE * 7 / 10)));
	assert_eq!(paid.get(&stash), Some(&(PRICE * 3 / 10)));
	assert!(paid.get(&dave).is_some_and(|pay| *pay > 0), "the worker is paid: {paid:?}");
	for (who, amount) in &paid {
		let before = free(api, request_block, *who).await?;
		let after = free(api, settled_block, *who).await?;
		assert_eq!(after - before, *amount, "payee 0x{}", hex::encode(who));
	}
	// Bob paid what settlement paid out and the request's transaction fee, nothing else: the
	// unused chain fee came back.
	let header = api.at_block(request_block).await?.block_header().await?;
	let bob_before = free(api, header.parent_hash, bob).await?;
	let bob_after = free(api, settled_block, bob).await?;
	assert_eq!(bob_before - bob_after, paid_fee + tx_fee);
	assert_eq!(bond(api, settled_block, dave).await?, 100 * OPG);
	// The job shows in the worker's metrics once it has ended.
	hub.workers[0].wait_for_log("job ended", Duration::from_secs(30)).await?;
	let text = scrape(&metrics)?;
	for line in [
		"modelhub_worker_jobs_total{outcome=\"submitted\"} 1",
		"modelhub_worker_jobs_total{outcome=\"settled\"} 1",
		"modelhub_worker_cache_lookups_total{cache=\"artifact\",result=\"miss\"} 1",
		"modelhub_worker_execution_seconds_count",
		"modelhub_worker_job_seconds_count{action=\"submit\"} 1",
		"modelhub_worker_queue_depth 0",
	] {
		assert!(text.contains(line), "metrics lack {line:?}:\n{text}");
	}
	// `modelhub-worker status` reads the same record, with the secret from a file.
	let secret = hub.workers[0].dir.join("suri");
	std::fs::write(&secret, "//Dave\n")?;
	let read_status = || -> Result<serde_json::Value> {
		let output = std::process::Command::new(env!("CARGO_BIN_EXE_modelhub-worker"))
			.args(["status", "--url", &hub.node.ws_url(), "--suri-file"])
			.arg(&secret)
			.output()?;
		anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
		Ok(serde_json::from_slice(&output.stdout)?)
	};
	// It reads finalized blocks: wait (bounded) for the settlement to be final.
	let mut status = read_status()?;
	for _ in 0..30 {
		if status["paidJobs"] == 1 {
			break;
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
		status = read_status()?;
	}
	assert_eq!((status["paidJobs"].as_u64(), status["slashes"].as_u64()), (Some(1), Some(0)));
	assert_eq!(status["registration"]["bond"], (100 * OPG).to_string());
	assert_eq!(status["registration"]["attestationKeyMatches"], true);
	assert_eq!(status["ready"][0]["model"], hub.model);
	// Beside the metrics: liveness and readiness.
	let ready = get(&metrics, "/ready")?;
	assert!(ready.starts_with("HTTP/1.1 200") && ready.contains("\"ready\":true"), "{ready}");
	let health = get(&metrics, "/health")?;
	assert!(
		health.starts_with("HTTP/1.1 200") && health.contains("\"connected\":true"),
		"{health}"
	);
	Ok(())
}

/// Bob's request at redundancy 3 to Dave, Eve and Ferdie (the hub's three workers, Ferdie
/// lying): Dave and Eve settle it and are paid the same; Ferdie is not paid and loses bond.
/// Returns the request's block, the settlement's block and the settlement.
async fn settle_past_the_liar(hub: &mut Hub) -> Result<(H256, H256, Settled)> {
	let (dave, eve, ferdie) =
		(dev::dave().public_key().0, dev::eve().public_key().0, dev::ferdie().public_key().0);
	let (requested, request_block, _) = request(&hub.api, hub.model, &hub.input, 3).await?;
	assert_eq!(sorted(requested.workers.clone()), sorted(vec![dave, eve, ferdie]));
	let (settled_block, settled) =
		hub.wait_settled(requested.request, request_block, Duration::from_secs(180)).await?;
	assert_eq!(
		sorted(settled.workers.clone()),
		sorted(vec![dave, eve]),
		"the two honest workers form the majority"
	);
	let paid = |who: [u8; 32]| -> u128 {
		settled.payouts.iter().filter(|(payee, _)| *payee == who).map(|(_, amount)| amount).sum()
	};
	let (dave_pay, eve_pay) = (paid(dave), paid(eve));
	assert!(dave_pay > 0 && dave_pay.abs_diff(eve_pay) <= 1, "{dave_pay} vs {eve_pay}");
	assert_eq!(paid(ferdie), 0, "the liar is not paid");
	let api = &hub.api;
	assert!(bond(api, settled_block, ferdie).await? < 100 * OPG, "the liar lost bond");
	assert_eq!(bond(api, settled_block, dave).await?, 100 * OPG);
	assert_eq!(bond(api, settled_block, eve).await?, 100 * OPG);
	Ok((request_block, settled_block, settled))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_settle_by_majority_and_the_liar_is_slashed() -> Result<()> {
	let lie: &[&str] = &["--test-corrupt-outputs"];
	let mut hub = Hub::start(&[("//Dave", &[]), ("//Eve", &[]), ("//Ferdie", lie)], None).await?;
	let (_, settled_block, settled) = settle_past_the_liar(&mut hub).await?;
	check_output(&hub.api, settled_block, settled.request, settled.output_hash).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_workers_at_different_optimization_levels_agree_within_tolerance_and_are_paid(
) -> Result<()> {
	let unoptimized: &[&str] = &["--graph-optimization", "disabled"];
	let lie: &[&str] = &["--test-corrupt-outputs"];
	let cnn = Sample::cnn()?;
	let workers = [("//Dave", &[][..]), ("//Eve", unoptimized), ("//Ferdie", lie)];
	let mut hub = Hub::start_with(&cnn, &workers, None).await?;
	let (dave, eve) = (dev::dave().public_key().0, dev::eve().public_key().0);

	// Every worker registered with the default profile; Eve's declared its own when it started,
	// and anyone can read each worker's profile.
	assert!(hub.workers[1].log().contains("execution profile declared"));
	assert!(!hub.workers[0].log().contains("execution profile declared"));
	let rpc = hub.node.rpc_client(Duration::from_secs(30)).await?;
	let profile = |account: &'static str| {
		let rpc = &rpc;
		async move {
			let worker: serde_json::Value =
				rpc.request("modelhub_worker", subxt::rpcs::rpc_params![account]).await?;
			Ok::<_, anyhow::Error>(worker["profile"].clone())
		}
	};
	let (dave_profile, eve_profile) = (
		profile("5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy").await?,
		profile("5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw").await?,
	);
	assert_eq!(dave_profile["graphOptimization"], "all");
	assert_eq!(eve_profile["graphOptimization"], "disabled");
	for profile in [&dave_profile, &eve_profile] {
		assert_eq!(profile["executionProvider"], "cpu");
		assert_eq!(profile["deterministicCompute"], true);
		assert!(profile["onnxRuntime"].as_str().is_some_and(|v| v.starts_with("1.")), "{profile}");
	}
	assert_eq!(dave_profile["cpuClass"], eve_profile["cpuClass"]);

	// Both honest workers are paid the same; the liar is not, and loses bond.
	let (request_block, settled_block, settled) = settle_past_the_liar(&mut hub).await?;
	// Their outputs are not the same bits: the agreement was by tolerance, not by hash.
	let reveals = reveals(&hub.api, request_block, settled_block, settled.request).await?;
	let of = |who: [u8; 32]| {
		reveals
			.iter()
			.find(|reveal| reveal.worker == who)
			.ok_or_else(|| anyhow!("no reveal by 0x{}", hex::encode(who)))
	};
	let (by_dave, by_eve) = (of(dave)?, of(eve)?);
	assert_ne!(by_dave.output_hash, by_eve.output_hash);
	assert!([by_dave.output_hash, by_eve.output_hash].contains(&settled.output_hash));
	let logits = |reveal: &Reveal| {
		reveal.output.tensors.first().map(|tensor| distance::f32_values(&tensor.data))
	};
	let (a, b) = (logits(by_dave).unwrap_or_default(), logits(by_eve).unwrap_or_default());
	assert_eq!((a.len(), b.len()), (100, 100));
	let distance = distance::Distance::of(&a, &b);
	println!("honest outputs on chain, graph optimization all vs disabled: {distance}");
	assert!(distance.differing > 0 && distance.relative() < 5e-6, "{distance}");
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_commit_and_reveal_reveals_after_restart() -> Result<()> {
	let mut hub = Hub::start(&[("//Dave", &[]), ("//Eve", &[])], None).await?;
	let (dave, eve) = (dev::dave().public_key().0, dev::eve().public_key().0);
	let (requested, request_block, _) = request(&hub.api, hub.model, &hub.input, 2).await?;
	// Dave dies right after sending its commitment, before any reveal can happen; the
	// restarted process recomputes the output and the salt and reveals.
	let dave_worker = &mut hub.workers[0];
	dave_worker.wait_for_log("action=\"commit\"", Duration::from_secs(90)).await?;
	dave_worker.kill();
	tokio::time::sleep(Duration::from_secs(3)).await;
	dave_worker.restart()?;
	let (settled_block, settled) =
		hub.wait_settled(requested.request, request_block, Duration::from_secs(180)).await?;
	assert_eq!(
		sorted(settled.workers.clone()),
		sorted(vec![dave, eve]),
		"both workers revealed the same output"
	);
	check_output(&hub.api, settled_block, requested.request, settled.output_hash).await?;
	let log = hub.workers[0].log();
	assert_eq!(log.matches("serving jobs").count(), 2, "{log}");
	assert!(log.contains("action=\"reveal\""), "{log}");
	Ok(())
}

/// Waits `blocks` finalized blocks.
async fn wait_blocks(api: &Api, blocks: u64) -> Result<()> {
	let start = api.at_current_block().await?.block_number();
	for _ in 0..blocks * 20 {
		if api.at_current_block().await?.block_number() >= start + blocks {
			return Ok(());
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	bail!("{blocks} blocks did not pass")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_artifact_that_does_not_match_is_never_declared_ready_and_calls_are_refused(
) -> Result<()> {
	// The record names the digits model's hash and size, but the URI serves another file.
	let wrong = format!("file://{}", repo().join("scripts/sample-models/linear.onnx").display());
	let finalized: &[&str] = &["--follow", "finalized"];
	let mut hub = Hub::start(&[("//Dave", finalized)], Some(&wrong)).await?;
	let dave = dev::dave().public_key().0;
	hub.workers[0].wait_for_log("cannot hold the model ready", Duration::from_secs(60)).await?;
	assert!(hub.workers[0].log().contains("ArtifactHashMismatch"), "{}", hub.workers[0].log());

	// No worker holds the model ready: the call is refused before anything is held, and no
	// worker is on the hook for it.
	let error = refused_request(&hub.api, hub.model, &hub.input).await?;
	assert!(error.contains("custom error: 9"), "{error}");
	let at = hub.api.at_current_block().await?.block_hash();
	assert!(ready_workers(&hub.api, at, hub.model, 1).await?.is_empty());
	assert_eq!(escrow(&hub.api, at, dev::bob().public_key().0).await?, 0);
	assert_eq!(bond(&hub.api, at, dave).await?, 100 * OPG);
	Ok(())
}

/// An `http://` URL on 127.0.0.1 that answers every request for a body of `size` bytes with
/// one byte every half second: a publisher's slow link.
fn trickle(size: u64) -> Result<String> {
	use std::io::{Read, Write};
	let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
	let address = listener.local_addr()?;
	std::thread::spawn(move || {
		for stream in listener.incoming().take(16) {
			let Ok(mut stream) = stream else { continue };
			std::thread::spawn(move || {
				let mut request = [0u8; 4096];
				let _ = stream.read(&mut request);
				let header = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
				if stream.write_all(header.as_bytes()).is_err() {
					return;
				}
				// At most ten minutes of trickling per connection.
				for _ in 0..size.min(1_200) {
					if stream.write_all(&[0]).and_then(|()| stream.flush()).is_err() {
						return;
					}
					std::thread::sleep(Duration::from_millis(500));
				}
			});
		}
	});
	Ok(format!("http://{address}/digits.onnx"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_artifact_is_never_on_a_request_clock_and_costs_the_worker_nothing() -> Result<()> {
	// A publisher behind a slow link: one byte every half second.
	let size = std::fs::metadata(Sample::digits()?.path())?.len();
	let uri = trickle(size)?;
	let hub = Hub::start(&[("//Dave", &[])], Some(&uri)).await?;
	let dave = dev::dave().public_key().0;
	// The worker is fetching; it declares nothing it does not hold.
	wait_blocks(&hub.api, 5).await?;
	let at = hub.api.at_current_block().await?.block_hash();
	assert!(ready_workers(&hub.api, at, hub.model, 1).await?.is_empty());
	// So a call is refused before it is charged, instead of running out a deadline that
	// would cost the worker its bond.
	let error = refused_request(&hub.api, hub.model, &hub.input).await?;
	assert!(error.contains("custom error: 9"), "{error}");
	let at = hub.api.at_current_block().await?.block_hash();
	assert_eq!(bond(&hub.api, at, dave).await?, 100 * OPG);
	assert_eq!(escrow(&hub.api, at, dev::bob().public_key().0).await?, 0);
	let log = hub.workers[0].log();
	assert!(!log.contains("declared ready"), "{log}");
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_mid_job_finishes_it_before_exiting() -> Result<()> {
	let mut hub = Hub::start(&[("//Dave", &[]), ("//Eve", &[])], None).await?;
	let (dave, eve) = (dev::dave().public_key().0, dev::eve().public_key().0);
	let (requested, request_block, _) = request(&hub.api, hub.model, &hub.input, 2).await?;
	assert_eq!(sorted(requested.workers.clone()), sorted(vec![dave, eve]));
	// Dave is asked to stop with the job open: its commitment and reveal are blocks away.
	let pid = hub.workers[0].child.id().to_string();
	let signalled = std::process::Command::new("kill").args(["-TERM", &pid]).status()?;
	assert!(signalled.success(), "kill -TERM {pid}");

	let (settled_block, settled) =
		hub.wait_settled(requested.request, request_block, Duration::from_secs(180)).await?;
	assert_eq!(sorted(settled.workers.clone()), sorted(vec![dave, eve]));
	let paid = |who: [u8; 32]| -> u128 {
		settled.payouts.iter().filter(|(payee, _)| *payee == who).map(|(_, amount)| amount).sum()
	};
	assert!(paid(dave) > 0 && paid(dave).abs_diff(paid(eve)) <= 1, "{settled:?}");
	assert_eq!(bond(&hub.api, settled_block, dave).await?, 100 * OPG);

	// Once its job has ended it exits by itself, successfully, no longer declared ready.
	let exited = tokio::time::timeout(Duration::from_secs(60), async {
		loop {
			if let Some(status) = hub.workers[0].child.try_wait()? {
				return Ok::<_, anyhow::Error>(status);
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	})
	.await
	.map_err(|_| anyhow!("the worker did not exit; log:\n{}", hub.workers[0].log()))??;
	let log = hub.workers[0].log();
	assert!(exited.success(), "{exited}; log:\n{log}");
	assert!(log.contains("no longer held ready") && log.contains("drained"), "{log}");
	// It saw its withdrawal in a best block; the finalized chain follows within a few blocks.
	let mut ready = Vec::new();
	for _ in 0..30 {
		let at = hub.api.at_current_block().await?.block_hash();
		ready = ready_workers(&hub.api, at, hub.model, 1).await?;
		if ready == vec![eve] {
			break;
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	assert_eq!(ready, vec![eve]);
	Ok(())
}

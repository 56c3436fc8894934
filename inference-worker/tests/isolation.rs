//! End to end: a worker survives what published models and the network do to it.
//!
//! - models that never end, that allocate past the worker's memory budget, and that crash
//!   ONNX Runtime each get their job's failure reported in time, and the same worker serves
//!   the digits model's next call, unslashed;
//! - a transaction the pool accepted and lost leaves a nonce gap: the worker fills it and its
//!   jobs still settle, unslashed.

mod hub;

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use hub::*;
use subxt_signer::sr25519::dev;

/// The refund of a job that every worker failed, the failures reported, and how long it took.
async fn failed_in_time(hub: &mut Hub, model: u64, input: &[u8]) -> Result<Duration> {
	let dave = dev::dave().public_key().0;
	let (requested, block, _) = request(&hub.api, model, input, 1).await?;
	assert_eq!(requested.workers, vec![dave]);
	let started = Instant::now();
	let (_, ended, failures) =
		hub.wait_ended(requested.request, block, Duration::from_secs(120)).await?;
	let took = started.elapsed();
	match ended {
		Ended::Refunded(refunded) => {
			assert_eq!(refunded.reason, RefundReason::WorkersFailed, "{refunded:?}")
		},
		Ended::Settled(settled) => bail!("model {model} settled: {settled:?}"),
	}
	assert_eq!(failures.len(), 1, "{failures:?}");
	assert_eq!((failures[0].worker, &failures[0].reason), (dave, &FailureReason::ExecutionError));
	Ok(took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_that_hang_exhaust_memory_or_crash_fail_in_time_and_the_worker_serves_on(
) -> Result<()> {
	let budget: &[&str] = &["--max-execution-secs", "6", "--model-memory-mib", "1024"];
	let mut hub = Hub::start(&[("//Dave", budget)], None).await?;
	let dave = dev::dave().public_key().0;
	let mut hostile = Vec::new();
	// INT32_MIN / -1 traps on x86-64 only; elsewhere it is just a wrong number.
	let names: &[&str] =
		if cfg!(target_arch = "x86_64") { &["hang", "hog", "crash"] } else { &["hang", "hog"] };
	for name in names.iter().copied() {
		let sample = Sample::hostile(name)?;
		let uri = format!("file://{}", sample.path().display());
		let model = publish(&hub.api, &sample, &uri).await?;
		wait_ready(&hub.api, model, 1, 1, Duration::from_secs(120)).await?;
		hostile.push((name, model, sample.input));
	}
	for (name, model, input) in &hostile {
		let took = failed_in_time(&mut hub, *model, input).await?;
		// A minute is the chain's deadline; the report comes well before it.
		assert!(took < Duration::from_secs(45), "{name}: {took:?}");
		// The same worker serves the next call of a model that behaves.
		let (requested, block, _) = request(&hub.api, hub.model, &hub.input, 1).await?;
		let (settled_block, settled) =
			hub.wait_settled(requested.request, block, Duration::from_secs(120)).await?;
		assert_eq!(settled.workers, vec![dave], "{name}");
		assert_eq!(bond(&hub.api, settled_block, dave).await?, 100 * OPG, "{name}");
	}
	let log = hub.workers[0].log();
	for expected in ["past its time budget", "bad_alloc", "crashed"].iter().take(names.len()) {
		assert!(log.contains(expected), "{expected:?} not in the log:\n{log}");
	}
	// Each misbehaving model failed again on a fresh process, not on the worker.
	assert!(hub.workers[0].child.try_wait()?.is_none(), "the worker exited:\n{log}");
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_transaction_does_not_stall_the_worker() -> Result<()> {
	// The worker's first transaction (its readiness declaration) is signed and lost.
	let mut hub = Hub::start(&[("//Dave", &["--test-drop-transactions", "1"])], None).await?;
	let dave = dev::dave().public_key().0;
	hub.workers[0].wait_for_log("dropping a signed transaction", Duration::from_secs(10)).await?;
	for _ in 0..2 {
		let (requested, block, _) = request(&hub.api, hub.model, &hub.input, 1).await?;
		let (settled_block, settled) =
			hub.wait_settled(requested.request, block, Duration::from_secs(120)).await?;
		assert_eq!(settled.workers, vec![dave]);
		assert_eq!(bond(&hub.api, settled_block, dave).await?, 100 * OPG);
	}
	Ok(())
}

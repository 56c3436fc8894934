//! End to end: the real node and real `modelhub-worker` processes on 127.0.0.1 serve paid
//! inference calls of the sample digits classifier.
//!
//! - one worker: publish, pay, settle, with every balance checked to the unit;
//! - three workers at redundancy 3, one of them lying: the majority settles, the liar is
//!   slashed;
//! - a worker killed between its commitment and its reveal and started again: it reveals and
//!   the request settles;
//! - an artifact whose bytes do not match the record: the worker reports it (following
//!   finalized blocks) and the payer is refunded in full.

#[path = "../../node/tests/common/mod.rs"]
mod common;

use std::{
	collections::BTreeMap,
	fs::File,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context, Result};
use codec::{Decode, Encode};
use common::{ChainConfig, Node};
use modelhub_primitives::tensor::{DType, Limits, Tensor, TensorSet};
use subxt::{
	dynamic::{self, Value},
	ext::scale_decode::{self, DecodeAsType},
	utils::H256,
	OnlineClient,
};
use subxt_signer::sr25519::{dev, Keypair};

const OPG: u128 = 1_000_000_000_000_000_000;
const PRICE: u128 = OPG / 2;

fn repo() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn digits_model() -> PathBuf {
	repo().join("scripts/sample-models/digits.onnx")
}

/// A `modelhub-worker run` process, killed on drop.
struct Worker {
	child: Child,
	log: PathBuf,
	dir: PathBuf,
	args: Vec<String>,
}

impl Worker {
	fn start(node: &Node, suri: &str, extra: &[&str]) -> Result<Self> {
		let dir = std::env::temp_dir().join(format!(
			"modelhub-worker-e2e-{}-{}-{}",
			std::process::id(),
			node.rpc_port,
			suri.trim_start_matches('/')
		));
		std::fs::create_dir_all(&dir)?;
		let mut args = vec![
			"run".to_string(),
			"--url".into(),
			node.ws_url(),
			"--suri".into(),
			suri.into(),
			"--models-dir".into(),
			dir.join("models").display().to_string(),
		];
		args.extend(extra.iter().map(|arg| arg.to_string()));
		let log = dir.join("worker.log");
		let child = Self::spawn(&args, &log)?;
		Ok(Self { child, log, dir, args })
	}

	fn spawn(args: &[String], log: &Path) -> Result<Child> {
		let log = File::options().create(true).append(true).open(log)?;
		Command::new(env!("CARGO_BIN_EXE_modelhub-worker"))
			.args(args)
			.env("RUST_LOG", "info")
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.context("spawning modelhub-worker")
	}

	fn log(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	fn kill(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}

	fn restart(&mut self) -> Result<()> {
		self.kill();
		self.child = Self::spawn(&self.args, &self.log)?;
		Ok(())
	}

	/// Waits until the log contains `text`, failing if the worker exits first.
	async fn wait_for_log(&mut self, text: &str, within: Duration) -> Result<()> {
		let deadline = Instant::now() + within;
		while Instant::now() < deadline {
			if self.log().contains(text) {
				return Ok(());
			}
			if let Some(status) = self.child.try_wait()? {
				bail!("modelhub-worker exited ({status}); log:\n{}", self.log());
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
		bail!("the worker did not log {text:?} within {within:?}; log:\n{}", self.log())
	}
}

impl Drop for Worker {
	fn drop(&mut self) {
		self.kill();
		let _ = std::fs::remove_dir_all(&self.dir);
	}
}

/// Runs `modelhub-worker register` for `suri` with a 100 OPG bond.
async fn register(node: &Node, suri: &str) -> Result<()> {
	let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_modelhub-worker"))
		.args(["register", "--url", &node.ws_url(), "--suri", suri, "--bond", "100"])
		.kill_on_drop(true)
		.output();
	let output = tokio::time::timeout(Duration::from_secs(120), output)
		.await
		.context("register timed out")??;
	if !output.status.success() {
		bail!("register {suri} failed: {}", String::from_utf8_lossy(&output.stderr));
	}
	let printed: serde_json::Value = serde_json::from_slice(&output.stdout)?;
	assert_eq!(printed["bond"], (100 * OPG).to_string());
	Ok(())
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountData {
	free: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct WorkerRecord {
	bond: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
enum Outcome {
	Settled { output_hash: [u8; 32] },
	Refunded { reason: Value },
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct ResultRecord {
	outcome: Outcome,
	output: Vec<u8>,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct Requested {
	request: u64,
	fee: u128,
	workers: Vec<[u8; 32]>,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct Settled {
	request: u64,
	output_hash: [u8; 32],
	workers: Vec<[u8; 32]>,
	payouts: Vec<([u8; 32], u128)>,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct FeePaid {
	who: [u8; 32],
	actual_fee: u128,
}

type Api = OnlineClient<ChainConfig>;

async fn free(api: &Api, at: H256, who: [u8; 32]) -> Result<u128> {
	let address = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	Ok(api.at_block(at).await?.storage().fetch(address, (who,)).await?.decode()?.data.free)
}

async fn bond(api: &Api, at: H256, who: [u8; 32]) -> Result<u128> {
	let address = dynamic::storage::<([u8; 32],), WorkerRecord>("Verification", "Workers");
	Ok(api.at_block(at).await?.storage().fetch(address, (who,)).await?.decode()?.bond)
}

/// Signs, submits and waits for `call` to be finalized; returns the block and its events.
async fn submit(
	api: &Api,
	call: &impl subxt::transactions::Payload,
	signer: &Keypair,
) -> Result<(H256, subxt::extrinsics::ExtrinsicEvents<ChainConfig>)> {
	let mut transactions = api.at_current_block().await?.transactions();
	let progress = tokio::time::timeout(
		Duration::from_secs(60),
		transactions.sign_and_submit_then_watch_default(call, signer),
	)
	.await
	.context("submitting timed out")??;
	let in_block = tokio::time::timeout(Duration::from_secs(120), progress.wait_for_finalized())
		.await
		.context("not finalized in time")??;
	let events = in_block.wait_for_success().await?;
	Ok((in_block.block_hash(), events))
}

fn spec(name: &str, dtype: &str, shape: &[Option<u64>]) -> Value {
	Value::named_composite([
		("name", Value::from_bytes(name)),
		("dtype", Value::unnamed_variant(dtype, [])),
		(
			"shape",
			Value::unnamed_composite(shape.iter().map(|dim| match dim {
				Some(size) => Value::unnamed_variant("Fixed", [Value::u128((*size).into())]),
				None => Value::unnamed_variant("Dynamic", []),
			})),
		),
	])
}

/// The second royalty beneficiary: Ferdie's stash, endowed at genesis and otherwise idle.
fn beneficiary() -> Result<Keypair> {
	let uri: subxt_signer::SecretUri =
		"//Ferdie//stash".parse().map_err(|error| anyhow!("{error}"))?;
	Ok(Keypair::from_uri(&uri)?)
}

/// Publishes the digits classifier as Charlie at [`PRICE`], royalties 70% Charlie / 30%
/// [`beneficiary`], its artifact at `uri`; returns its id.
async fn publish_digits(api: &Api, uri: &str) -> Result<u64> {
	let owner = dev::charlie();
	let beneficiaries = [owner.public_key().0, beneficiary()?.public_key().0];
	let bytes = std::fs::read(digits_model())?;
	let artifact = Value::named_composite([
		("hash", Value::from_bytes(sp_crypto_hashing::blake2_256(&bytes))),
		("size", Value::u128(bytes.len() as u128)),
		("uri", Value::from_bytes(uri)),
		("opset", Value::u128(17)),
	]);
	let schema = Value::named_composite([
		("inputs", Value::unnamed_composite([spec("float_input", "F32", &[None, Some(64)])])),
		(
			"outputs",
			Value::unnamed_composite([
				spec("label", "I64", &[None]),
				spec("probabilities", "F32", &[None, Some(10)]),
			]),
		),
	]);
	let royalties = Value::unnamed_composite([
		Value::unnamed_composite([Value::from_bytes(beneficiaries[0]), Value::u128(700_000)]),
		Value::unnamed_composite([Value::from_bytes(beneficiaries[1]), Value::u128(300_000)]),
	]);
	let call = dynamic::transaction(
		"ModelRegistry",
		"publish_model",
		vec![
			Value::from_bytes("digits"),
			Value::from_bytes("8x8 digits, logistic regression"),
			artifact,
			schema,
			Value::u128(16),
			Value::u128(PRICE),
			royalties,
			Value::unnamed_variant("None", []),
		],
	);
	let (_, events) = submit(api, &call, &owner).await?;
	let published = events
		.iter()
		.filter_map(|event| event.ok())
		.find(|event| {
			event.pallet_name() == "ModelRegistry" && event.event_name() == "ModelPublished"
		})
		.ok_or_else(|| anyhow!("no ModelPublished event"))?;
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Published {
		model: u64,
	}
	Ok(published.decode_fields_unchecked_as::<Published>()?.model)
}

/// The canonical input of the sample digit (a zero).
fn digit_input() -> Result<Vec<u8>> {
	let document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
		repo().join("scripts/sample-models/digits.input.json"),
	)?)?;
	let data = document["inputs"]["float_input"]["data"]
		.as_array()
		.ok_or_else(|| anyhow!("no input data"))?
		.iter()
		.map(|value| value.as_f64().map(|value| value as f32))
		.collect::<Option<Vec<f32>>>()
		.ok_or_else(|| anyhow!("input data is not numbers"))?;
	let tensor = Tensor {
		name: b"float_input".to_vec(),
		dtype: DType::F32,
		shape: vec![1, 64],
		data: data.iter().flat_map(|value| value.to_le_bytes()).collect(),
	};
	let set = TensorSet::new(vec![tensor], &Limits::default())
		.map_err(|error| anyhow!("input: {error:?}"))?;
	Ok(set.encode())
}

/// Bob pays for one digits inference at `redundancy`; returns the request event and block.
async fn request(api: &Api, model: u64, redundancy: u32) -> Result<(Requested, H256, u128)> {
	let bob = dev::bob();
	let call = dynamic::transaction(
		"Inference",
		"request_inference",
		(model, digit_input()?, OPG, redundancy),
	);
	let (block, events) = submit(api, &call, &bob).await?;
	let mut requested = None;
	let mut tx_fee = 0;
	for event in events.iter().filter_map(|event| event.ok()) {
		match (event.pallet_name(), event.event_name()) {
			("Inference", "InferenceRequested") => {
				requested = Some(event.decode_fields_unchecked_as::<Requested>()?)
			},
			("TransactionPayment", "TransactionFeePaid") => {
				let paid = event.decode_fields_unchecked_as::<FeePaid>()?;
				assert_eq!(paid.who, bob.public_key().0);
				tx_fee = paid.actual_fee;
			},
			_ => {},
		}
	}
	let requested = requested.ok_or_else(|| anyhow!("no InferenceRequested event"))?;
	Ok((requested, block, tx_fee))
}

/// How a request ended.
#[derive(Debug)]
enum Ended {
	Settled(Settled),
	Refunded(Refunded),
}

#[derive(Debug, PartialEq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
enum RefundReason {
	Timeout,
	NoQuorum,
	NoMajority,
	WorkersFailed,
}

#[derive(Debug, PartialEq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
enum FailureReason {
	ModelUnavailable,
	ArtifactHashMismatch,
	InvalidModel,
	InvalidInput,
	ExecutionError,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct Refunded {
	request: u64,
	amount: u128,
	reason: RefundReason,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct FailureReported {
	request: u64,
	worker: [u8; 32],
	reason: FailureReason,
}

/// Waits for `request` to end; returns the block it ended in, how, and the failures workers
/// reported for it on the way.
async fn wait_ended(
	node: &mut Node,
	api: &Api,
	workers: &[Worker],
	request: u64,
	from: H256,
	within: Duration,
) -> Result<(H256, Ended, Vec<FailureReported>)> {
	let deadline = Instant::now() + within;
	let mut blocks = api.stream_blocks().await?;
	let start = api.at_block(from).await?.block_number();
	let mut failures = Vec::new();
	loop {
		node.ensure_running()?;
		let remaining = deadline.saturating_duration_since(Instant::now());
		let next = tokio::time::timeout(remaining, blocks.next()).await;
		let block = match next {
			Ok(Some(block)) => block?,
			_ => {
				let logs: Vec<String> = workers.iter().map(|worker| worker.log()).collect();
				bail!(
					"request {request} did not end within {within:?}; node:\n{}\nworkers:\n{}",
					node.log_tail(),
					logs.join("\n---\n")
				);
			},
		};
		if block.number() <= start {
			continue;
		}
		let at = block.at().await?;
		let events = at.events().fetch().await?;
		for event in events.iter().filter_map(|event| event.ok()) {
			if event.pallet_name() != "Inference" {
				continue;
			}
			match event.event_name() {
				"FailureReported" => {
					let reported = event.decode_fields_unchecked_as::<FailureReported>()?;
					if reported.request == request {
						failures.push(reported);
					}
				},
				"InferenceSettled" => {
					let settled = event.decode_fields_unchecked_as::<Settled>()?;
					if settled.request == request {
						return Ok((block.hash(), Ended::Settled(settled), failures));
					}
				},
				"InferenceRefunded" => {
					let refunded = event.decode_fields_unchecked_as::<Refunded>()?;
					if refunded.request == request {
						return Ok((block.hash(), Ended::Refunded(refunded), failures));
					}
				},
				_ => {},
			}
		}
	}
}

/// The settled output, decoded, with its label checked: the sample digit is a zero.
async fn check_output(api: &Api, at: H256, request: u64, output_hash: [u8; 32]) -> Result<()> {
	let address = dynamic::storage::<(u64,), ResultRecord>("Inference", "Results");
	let record = api.at_block(at).await?.storage().fetch(address, (request,)).await?.decode()?;
	match record.outcome {
		Outcome::Settled { output_hash: stored } => assert_eq!(stored, output_hash),
		Outcome::Refunded { reason } => bail!("refunded: {reason}"),
	}
	let output = record.output;
	assert_eq!(sp_crypto_hashing::blake2_256(&output), output_hash);
	let set = TensorSet::decode(&mut &output[..])?;
	let label = set
		.tensors
		.iter()
		.find(|tensor| tensor.name == b"label")
		.ok_or_else(|| anyhow!("no label output"))?;
	assert_eq!(
		(label.dtype, &label.shape, &label.data),
		(DType::I64, &vec![1], &0i64.to_le_bytes().to_vec())
	);
	Ok(())
}

/// A dev node with the digits model published and registered workers running.
struct Hub {
	node: Node,
	api: Api,
	model: u64,
	workers: Vec<Worker>,
}

impl Hub {
	/// Starts a node, registers and starts a worker for each `(suri, extra run arguments)`,
	/// and publishes the digits model with its artifact at `uri` (default: the real file).
	async fn start(workers: &[(&str, &[&str])], uri: Option<&str>) -> Result<Self> {
		let mut node = Node::dev()?;
		let (_rpc, api) = node.connect().await?;
		for (suri, _) in workers {
			register(&node, suri).await?;
		}
		let real = format!("file://{}", digits_model().display());
		let model = publish_digits(&api, uri.unwrap_or(&real)).await?;
		let mut started = Vec::new();
		for (suri, extra) in workers {
			started.push(Worker::start(&node, suri, extra)?);
		}
		for worker in &mut started {
			worker.wait_for_log("serving jobs", Duration::from_secs(60)).await?;
		}
		Ok(Self { node, api, model, workers: started })
	}

	/// Waits (up to `within`) for `request`, made at `from`, to end.
	async fn wait_ended(
		&mut self,
		request: u64,
		from: H256,
		within: Duration,
	) -> Result<(H256, Ended, Vec<FailureReported>)> {
		wait_ended(&mut self.node, &self.api, &self.workers, request, from, within).await
	}

	/// Waits for `request` to settle; fails with every log if it is refunded.
	async fn wait_settled(
		&mut self,
		request: u64,
		from: H256,
		within: Duration,
	) -> Result<(H256, Settled)> {
		match self.wait_ended(request, from, within).await? {
			(block, Ended::Settled(settled), _) => Ok((block, settled)),
			(_, Ended::Refunded(refunded), failures) => {
				let logs: Vec<String> = self.workers.iter().map(Worker::log).collect();
				bail!(
					"request {request} was refunded: {refunded:?} after {failures:?}; workers:\n{}",
					logs.join("\n---\n")
				)
			},
		}
	}
}

/// `accounts`, sorted.
fn sorted(mut accounts: Vec<[u8; 32]>) -> Vec<[u8; 32]> {
	accounts.sort();
	accounts
}

/// The worker's Prometheus metrics at `address`, as text.
fn scrape(address: &str) -> Result<String> {
	use std::io::{Read, Write};
	let mut stream = std::net::TcpStream::connect(address)?;
	stream.set_read_timeout(Some(Duration::from_secs(10)))?;
	stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
	let mut text = String::new();
	stream.read_to_string(&mut text)?;
	Ok(text)
}

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

	let (requested, request_block, tx_fee) = request(&hub.api, hub.model, 1).await?;
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
	assert_eq!(stats["fees"], requested.fee.to_string());
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

	// The fee is paid out exactly, and every payee's balance moved by its payouts.
	let total: u128 = settled.payouts.iter().map(|(_, amount)| amount).sum();
	assert_eq!(total, requested.fee);
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
	// Bob paid the fee and the request's transaction fee, nothing else.
	let header = api.at_block(request_block).await?.block_header().await?;
	let bob_before = free(api, header.parent_hash, bob).await?;
	let bob_after = free(api, settled_block, bob).await?;
	assert_eq!(bob_before - bob_after, requested.fee + tx_fee);
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
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_settle_by_majority_and_the_liar_is_slashed() -> Result<()> {
	let lie: &[&str] = &["--test-corrupt-outputs"];
	let mut hub = Hub::start(&[("//Dave", &[]), ("//Eve", &[]), ("//Ferdie", lie)], None).await?;
	let (dave, eve, ferdie) =
		(dev::dave().public_key().0, dev::eve().public_key().0, dev::ferdie().public_key().0);

	let (requested, request_block, _) = request(&hub.api, hub.model, 3).await?;
	assert_eq!(sorted(requested.workers.clone()), sorted(vec![dave, eve, ferdie]));
	let (settled_block, settled) =
		hub.wait_settled(requested.request, request_block, Duration::from_secs(180)).await?;
	assert_eq!(
		sorted(settled.workers.clone()),
		sorted(vec![dave, eve]),
		"the two honest workers form the majority"
	);
	let api = &hub.api;
	check_output(api, settled_block, requested.request, settled.output_hash).await?;
	assert!(settled.payouts.iter().all(|(who, _)| *who != ferdie), "the liar is not paid");
	assert!(bond(api, settled_block, ferdie).await? < 100 * OPG, "the liar lost bond");
	assert_eq!(bond(api, settled_block, dave).await?, 100 * OPG);
	assert_eq!(bond(api, settled_block, eve).await?, 100 * OPG);
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_commit_and_reveal_reveals_after_restart() -> Result<()> {
	let mut hub = Hub::start(&[("//Dave", &[]), ("//Eve", &[])], None).await?;
	let (dave, eve) = (dev::dave().public_key().0, dev::eve().public_key().0);
	let (requested, request_block, _) = request(&hub.api, hub.model, 2).await?;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_artifact_that_does_not_match_is_reported_and_the_payer_refunded() -> Result<()> {
	// The record names the digits model's hash and size, but the URI serves another file.
	let wrong = format!("file://{}", repo().join("scripts/sample-models/linear.onnx").display());
	let finalized: &[&str] = &["--follow", "finalized"];
	let mut hub = Hub::start(&[("//Dave", finalized)], Some(&wrong)).await?;
	let (bob, dave) = (dev::bob().public_key().0, dev::dave().public_key().0);

	let (requested, request_block, tx_fee) = request(&hub.api, hub.model, 1).await?;
	let (ended_block, ended, failures) =
		hub.wait_ended(requested.request, request_block, Duration::from_secs(120)).await?;
	let Ended::Refunded(refunded) = ended else { bail!("expected a refund, got {ended:?}") };
	assert_eq!(refunded.amount, requested.fee);
	assert_eq!(refunded.reason, RefundReason::WorkersFailed);
	assert_eq!(failures.len(), 1, "{failures:?}");
	assert_eq!(failures[0].worker, dave);
	assert_eq!(failures[0].reason, FailureReason::ArtifactHashMismatch);
	// Bob lost only the request's transaction fee; the honest reporter keeps its bond.
	let api = &hub.api;
	let header = api.at_block(request_block).await?.block_header().await?;
	let before = free(api, header.parent_hash, bob).await?;
	assert_eq!(before - free(api, ended_block, bob).await?, tx_fee);
	assert_eq!(bond(api, ended_block, dave).await?, 100 * OPG);
	assert!(hub.workers[0].log().contains("ArtifactHashMismatch"), "{}", hub.workers[0].log());
	Ok(())
}

//! The harness of the end-to-end tests: a dev node with a sample model published (the digits
//! classifier unless a test picks another) and `modelhub-worker run` processes serving it, and
//! the chain reads the tests check.

#![allow(dead_code)]

#[path = "../../../node/tests/common/mod.rs"]
pub mod common;
pub mod distance;

use std::{
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

pub const OPG: u128 = 1_000_000_000_000_000_000;
pub const PRICE: u128 = OPG / 2;

/// This crate's directory, from the `CARGO_MANIFEST_DIR` that `cargo test` sets when it runs
/// the test (right even for a binary that the shared target directory kept from another clone),
/// else from compile time.
pub fn manifest_dir() -> PathBuf {
	std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub fn repo() -> PathBuf {
	manifest_dir().join("..")
}

/// A sample model of `scripts/sample-models`: `NAME.onnx`, its `NAME.schema.json` and the
/// sample input `NAME.input.json`.
pub struct Sample {
	/// The files' name.
	pub name: &'static str,
	/// The directory of the files.
	pub dir: PathBuf,
	/// What the registry shows.
	pub description: &'static str,
	/// The sample input, canonically encoded.
	pub input: Vec<u8>,
	/// The schema file.
	pub schema: serde_json::Value,
}

impl Sample {
	/// The 8x8 digits classifier (its sample digit is a zero).
	pub fn digits() -> Result<Self> {
		Self::load("digits", "8x8 digits, logistic regression")
	}

	/// A misbehaving model of the worker's test fixtures (`hang`, `hog`, `crash`), taking
	/// `x` f32[1] (the sample input: 1.0) to `y` f32[1].
	pub fn hostile(name: &'static str) -> Result<Self> {
		let dir = manifest_dir().join("tests/fixtures");
		Self::read(dir, name, "misbehaving test model", "hostile.input.json")
	}

	/// The residual CNN with random weights, at full float precision.
	pub fn cnn() -> Result<Self> {
		Self::load("cnn", "residual CNN, seeded random weights")
	}

	fn load(name: &'static str, description: &'static str) -> Result<Self> {
		let dir = repo().join("scripts/sample-models");
		Self::read(dir, name, description, &format!("{name}.input.json"))
	}

	fn read(
		dir: PathBuf,
		name: &'static str,
		description: &'static str,
		input_file: &str,
	) -> Result<Self> {
		let read = |file: &str| -> Result<serde_json::Value> {
			let path = dir.join(file);
			let text = std::fs::read_to_string(&path)
				.with_context(|| format!("reading {}", path.display()))?;
			Ok(serde_json::from_str(&text)?)
		};
		let document = read(input_file)?;
		let inputs = document["inputs"].as_object().ok_or_else(|| anyhow!("{name}: no inputs"))?;
		let mut tensors = Vec::new();
		for (input, tensor) in inputs {
			if tensor["dtype"] != "f32" {
				bail!("{name}: input {input} is not f32");
			}
			let shape = tensor["shape"]
				.as_array()
				.and_then(|dims| dims.iter().map(serde_json::Value::as_u64).collect())
				.ok_or_else(|| anyhow!("{name}: input {input} has no shape"))?;
			let data = tensor["data"]
				.as_array()
				.and_then(|values| {
					values.iter().map(|value| value.as_f64().map(|value| value as f32)).collect()
				})
				.map(|values: Vec<f32>| values.iter().flat_map(|v| v.to_le_bytes()).collect())
				.ok_or_else(|| anyhow!("{name}: input {input} data is not numbers"))?;
			tensors.push(Tensor {
				name: input.as_bytes().to_vec(),
				dtype: DType::F32,
				shape,
				data,
			});
		}
		let set = TensorSet::new(tensors, &Limits::default())
			.map_err(|error| anyhow!("{name} input: {error:?}"))?;
		let schema = read(&format!("{name}.schema.json"))?;
		Ok(Self { name, dir, description, input: set.encode(), schema })
	}

	/// The ONNX file.
	pub fn path(&self) -> PathBuf {
		self.dir.join(format!("{}.onnx", self.name))
	}

	/// The schema's inputs or outputs (`key`) as the registry's `TensorSpec`s.
	fn specs(&self, key: &str) -> Result<Value> {
		let list = self.schema[key].as_array().ok_or_else(|| anyhow!("no {key} in the schema"))?;
		let mut specs = Vec::new();
		for entry in list {
			let name = entry["name"].as_str().ok_or_else(|| anyhow!("a nameless {key} entry"))?;
			let dtype = entry["dtype"].as_str().ok_or_else(|| anyhow!("{name}: no dtype"))?;
			let shape: Vec<Option<u64>> = entry["shape"]
				.as_array()
				.ok_or_else(|| anyhow!("{name}: no shape"))?
				.iter()
				.map(serde_json::Value::as_u64)
				.collect();
			specs.push(spec(name, &dtype.to_uppercase(), &shape));
		}
		Ok(Value::unnamed_composite(specs))
	}

	/// A schema number field (`opset`, `output_rounding_bits`).
	fn number(&self, key: &str) -> Result<u128> {
		self.schema[key].as_u64().map(u128::from).ok_or_else(|| anyhow!("no {key} in the schema"))
	}
}

/// A `modelhub-worker run` process, killed on drop.
pub struct Worker {
	pub child: Child,
	pub log: PathBuf,
	pub dir: PathBuf,
	pub args: Vec<String>,
}

impl Worker {
	pub fn start(node: &Node, suri: &str, extra: &[&str]) -> Result<Self> {
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
			// The tests' artifacts are files or served on loopback.
			"--allow-file-artifacts".into(),
			"--allow-private-artifacts".into(),
		];
		args.extend(extra.iter().map(|arg| arg.to_string()));
		let log = dir.join("worker.log");
		let child = Self::spawn(&args, &log)?;
		Ok(Self { child, log, dir, args })
	}

	pub fn spawn(args: &[String], log: &Path) -> Result<Child> {
		let log = File::options().create(true).append(true).open(log)?;
		Command::new(env!("CARGO_BIN_EXE_modelhub-worker"))
			.args(args)
			.env("RUST_LOG", "info")
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.context("spawning modelhub-worker")
	}

	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log).unwrap_or_default()
	}

	pub fn kill(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}

	pub fn restart(&mut self) -> Result<()> {
		self.kill();
		self.child = Self::spawn(&self.args, &self.log)?;
		Ok(())
	}

	/// Waits until the log contains `text`, failing if the worker exits first.
	pub async fn wait_for_log(&mut self, text: &str, within: Duration) -> Result<()> {
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
pub async fn register(node: &Node, suri: &str) -> Result<()> {
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
pub struct AccountInfo {
	pub data: AccountData,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct AccountData {
	pub free: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct WorkerRecord {
	pub bond: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum Outcome {
	Settled { output_hash: [u8; 32] },
	Refunded { reason: Value },
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct ResultRecord {
	pub outcome: Outcome,
	pub output: Vec<u8>,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct Requested {
	pub request: u64,
	pub fee: u128,
	pub workers: Vec<[u8; 32]>,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct Settled {
	pub request: u64,
	pub output_hash: [u8; 32],
	pub workers: Vec<[u8; 32]>,
	pub payouts: Vec<([u8; 32], u128)>,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct FeePaid {
	pub who: [u8; 32],
	pub actual_fee: u128,
}

pub type Api = OnlineClient<ChainConfig>;

pub async fn free(api: &Api, at: H256, who: [u8; 32]) -> Result<u128> {
	let address = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	Ok(api.at_block(at).await?.storage().fetch(address, (who,)).await?.decode()?.data.free)
}

/// `who`'s balance on hold for request fees (`Inference` escrow) at `at`.
pub async fn escrow(api: &Api, at: H256, who: [u8; 32]) -> Result<u128> {
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Held {
		id: Value,
		amount: u128,
	}
	let address = dynamic::storage::<([u8; 32],), Vec<Held>>("Balances", "Holds");
	let holds = match api.at_block(at).await?.storage().try_fetch(address, (who,)).await? {
		Some(value) => value.decode()?,
		None => Vec::new(),
	};
	Ok(holds
		.iter()
		.filter(|held| held.id.to_string().contains("Escrow"))
		.map(|held| held.amount)
		.sum())
}

pub async fn bond(api: &Api, at: H256, who: [u8; 32]) -> Result<u128> {
	let address = dynamic::storage::<([u8; 32],), WorkerRecord>("Verification", "Workers");
	Ok(api.at_block(at).await?.storage().fetch(address, (who,)).await?.decode()?.bond)
}

/// Signs, submits and waits for `call` to be finalized; returns the block and its events.
pub async fn submit(
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

pub fn spec(name: &str, dtype: &str, shape: &[Option<u64>]) -> Value {
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
pub fn beneficiary() -> Result<Keypair> {
	let uri: subxt_signer::SecretUri =
		"//Ferdie//stash".parse().map_err(|error| anyhow!("{error}"))?;
	Ok(Keypair::from_uri(&uri)?)
}

/// Publishes `sample` as Charlie at [`PRICE`], royalties 70% Charlie / 30% [`beneficiary`],
/// its artifact at `uri`, under the default agreement rule; returns its id.
pub async fn publish(api: &Api, sample: &Sample, uri: &str) -> Result<u64> {
	let owner = dev::charlie();
	let beneficiaries = [owner.public_key().0, beneficiary()?.public_key().0];
	let bytes = std::fs::read(sample.path())?;
	let artifact = Value::named_composite([
		("hash", Value::from_bytes(sp_crypto_hashing::blake2_256(&bytes))),
		("size", Value::u128(bytes.len() as u128)),
		("uri", Value::from_bytes(uri)),
		("opset", Value::u128(sample.number("opset")?)),
	]);
	let schema = Value::named_composite([
		("inputs", sample.specs("inputs")?),
		("outputs", sample.specs("outputs")?),
	]);
	let royalties = Value::unnamed_composite([
		Value::unnamed_composite([Value::from_bytes(beneficiaries[0]), Value::u128(700_000)]),
		Value::unnamed_composite([Value::from_bytes(beneficiaries[1]), Value::u128(300_000)]),
	]);
	let call = dynamic::transaction(
		"ModelRegistry",
		"publish_model",
		vec![
			Value::from_bytes(sample.name),
			Value::from_bytes(sample.description),
			artifact,
			schema,
			Value::u128(sample.number("output_rounding_bits")?),
			// The default agreement rule.
			Value::unnamed_variant("None", []),
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
pub fn digit_input() -> Result<Vec<u8>> {
	Ok(Sample::digits()?.input)
}

/// The workers that declared `version` of `model` ready, at `at`.
pub async fn ready_workers(api: &Api, at: H256, model: u64, version: u32) -> Result<Vec<[u8; 32]>> {
	let address = dynamic::storage::<((u64, u32), [u8; 32]), ()>("Verification", "ReadyWorkers");
	let block = api.at_block(at).await?;
	let entry = block.storage().entry(address)?;
	let mut entries = entry.iter(((model, version),)).await?;
	let mut workers = Vec::new();
	while let Some(item) = entries.next().await {
		let worker = item?
			.key()?
			.part(1)
			.ok_or_else(|| anyhow!("ReadyWorkers key without a worker"))?
			.decode_as::<[u8; 32]>()?
			.ok_or_else(|| anyhow!("ReadyWorkers key does not hold the worker"))?;
		workers.push(worker);
	}
	Ok(workers)
}

/// Waits (up to `within`, polling each second) until `count` workers hold `version` of `model`
/// ready in the finalized chain.
pub async fn wait_ready(
	api: &Api,
	model: u64,
	version: u32,
	count: usize,
	within: Duration,
) -> Result<()> {
	let started = Instant::now();
	loop {
		let at = api.at_current_block().await?.block_hash();
		let ready = ready_workers(api, at, model, version).await?.len();
		if ready >= count {
			return Ok(());
		}
		if started.elapsed() > within {
			bail!("{ready} of {count} workers ready for model {model} after {within:?}");
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
}

/// Bob's `request_inference` that the transaction pool refuses: the error's text.
pub async fn refused_request(api: &Api, model: u64, input: &[u8]) -> Result<String> {
	let call = dynamic::transaction("Inference", "request_inference", (model, input, OPG, 1u32));
	match submit(api, &call, &dev::bob()).await {
		Ok(_) => bail!("the request was accepted"),
		Err(error) => Ok(format!("{error:#}")),
	}
}

/// Bob pays for one inference of `model` on `input` at `redundancy`; returns the request
/// event, its block and Bob's transaction fee.
pub async fn request(
	api: &Api,
	model: u64,
	input: &[u8],
	redundancy: u32,
) -> Result<(Requested, H256, u128)> {
	let bob = dev::bob();
	let call =
		dynamic::transaction("Inference", "request_inference", (model, input, OPG, redundancy));
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
pub enum Ended {
	Settled(Settled),
	Refunded(Refunded),
}

#[derive(Debug, PartialEq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum RefundReason {
	Timeout,
	NoQuorum,
	NoMajority,
	WorkersFailed,
}

#[derive(Debug, PartialEq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum FailureReason {
	ModelUnavailable,
	ArtifactHashMismatch,
	InvalidModel,
	InvalidInput,
	ExecutionError,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct Refunded {
	pub request: u64,
	pub amount: u128,
	pub reason: RefundReason,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct FailureReported {
	pub request: u64,
	pub worker: [u8; 32],
	pub reason: FailureReason,
}

/// Waits for `request` to end; returns the block it ended in, how, and the failures workers
/// reported for it on the way.
pub async fn wait_ended(
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

/// One worker's reveal of a redundant job.
#[derive(Debug)]
pub struct Reveal {
	/// The worker.
	pub worker: [u8; 32],
	/// The hash of its output.
	pub output_hash: [u8; 32],
	/// Its output.
	pub output: TensorSet,
}

/// The reveals of `request` in the blocks after `from` up to `to` (at most 200 blocks): the
/// outputs from the `reveal_result` transactions, the workers from their `ResultSubmitted`
/// events.
pub async fn reveals(api: &Api, from: H256, to: H256, request: u64) -> Result<Vec<Reveal>> {
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct RevealCall {
		request: u64,
		output: Vec<u8>,
	}
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Submitted {
		request: u64,
		worker: [u8; 32],
		output_hash: [u8; 32],
	}
	let mut outputs = Vec::new();
	let mut submitted = Vec::new();
	let mut block = to;
	for _ in 0..200 {
		if block == from {
			break;
		}
		let at = api.at_block(block).await?;
		for extrinsic in at.extrinsics().fetch().await?.iter() {
			let extrinsic = extrinsic?;
			if (extrinsic.pallet_name(), extrinsic.call_name()) == ("Inference", "reveal_result") {
				let call = extrinsic.decode_call_data_fields_unchecked_as::<RevealCall>()?;
				if call.request == request {
					outputs.push(call.output);
				}
			}
		}
		for event in at.events().fetch().await?.iter().filter_map(|event| event.ok()) {
			if (event.pallet_name(), event.event_name()) == ("Inference", "ResultSubmitted") {
				let event = event.decode_fields_unchecked_as::<Submitted>()?;
				if event.request == request {
					submitted.push((event.worker, event.output_hash));
				}
			}
		}
		block = at.block_header().await?.parent_hash;
	}
	submitted
		.into_iter()
		.map(|(worker, output_hash)| {
			let bytes = outputs
				.iter()
				.find(|bytes| sp_crypto_hashing::blake2_256(bytes) == output_hash)
				.ok_or_else(|| {
					anyhow!("no revealed output has hash 0x{}", hex::encode(output_hash))
				})?;
			let output = TensorSet::decode(&mut &bytes[..])?;
			Ok(Reveal { worker, output_hash, output })
		})
		.collect()
}

/// The settled output, decoded, with its label checked: the sample digit is a zero.
pub async fn check_output(api: &Api, at: H256, request: u64, output_hash: [u8; 32]) -> Result<()> {
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

/// A dev node with a sample model published and registered workers running.
pub struct Hub {
	pub node: Node,
	pub api: Api,
	pub model: u64,
	/// The sample input of the model.
	pub input: Vec<u8>,
	pub workers: Vec<Worker>,
}

impl Hub {
	/// Starts a node, registers and starts a worker for each `(suri, extra run arguments)`,
	/// and publishes the digits model with its artifact at `uri` (default: the real file).
	pub async fn start(workers: &[(&str, &[&str])], uri: Option<&str>) -> Result<Self> {
		Self::start_with(&Sample::digits()?, workers, uri).await
	}

	/// [`Hub::start`] with `sample` as the published model.
	pub async fn start_with(
		sample: &Sample,
		workers: &[(&str, &[&str])],
		uri: Option<&str>,
	) -> Result<Self> {
		let mut node = Node::dev()?;
		let (_rpc, api) = node.connect().await?;
		for (suri, _) in workers {
			register(&node, suri).await?;
		}
		let real = format!("file://{}", sample.path().display());
		let model = publish(&api, sample, uri.unwrap_or(&real)).await?;
		let mut started = Vec::new();
		for (suri, extra) in workers {
			started.push(Worker::start(&node, suri, extra)?);
		}
		for worker in &mut started {
			worker.wait_for_log("serving jobs", Duration::from_secs(60)).await?;
		}
		let hub = Self { node, api, model, input: sample.input.clone(), workers: started };
		// Workers fetch and load the real artifact, then declare it ready; jobs are drawn
		// only among ready workers.
		if uri.is_none() {
			hub.wait_ready(workers.len(), Duration::from_secs(120)).await?;
		}
		Ok(hub)
	}

	/// Waits (up to `within`) until `count` workers hold the hub's model ready.
	pub async fn wait_ready(&self, count: usize, within: Duration) -> Result<()> {
		wait_ready(&self.api, self.model, 1, count, within).await.map_err(|error| {
			let logs: Vec<String> = self.workers.iter().map(Worker::log).collect();
			anyhow!("{error:#}; workers:\n{}", logs.join("\n---\n"))
		})
	}

	/// Waits (up to `within`) for `request`, made at `from`, to end.
	pub async fn wait_ended(
		&mut self,
		request: u64,
		from: H256,
		within: Duration,
	) -> Result<(H256, Ended, Vec<FailureReported>)> {
		wait_ended(&mut self.node, &self.api, &self.workers, request, from, within).await
	}

	/// Waits for `request` to settle; fails with every log if it is refunded.
	pub async fn wait_settled(
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
pub fn sorted(mut accounts: Vec<[u8; 32]>) -> Vec<[u8; 32]> {
	accounts.sort();
	accounts
}

/// The worker's Prometheus metrics at `address`, as text.
pub fn scrape(address: &str) -> Result<String> {
	get(address, "/metrics")
}

/// The whole HTTP response (status line, headers and body) to `GET path` at `address`.
pub fn get(address: &str, path: &str) -> Result<String> {
	use std::io::{Read, Write};
	let mut stream = std::net::TcpStream::connect(address)?;
	stream.set_read_timeout(Some(Duration::from_secs(10)))?;
	let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
	stream.write_all(request.as_bytes())?;
	let mut text = String::new();
	stream.read_to_string(&mut text)?;
	Ok(text)
}

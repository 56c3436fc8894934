//! `modelhub-worker`: the process an inference-worker operator runs beside a node.
//!
//! - `register` bonds OPG and registers the worker's attestation key.
//! - `run` serves the jobs the chain assigns to the worker: it runs each model with ONNX
//!   Runtime and submits signed results (see [`worker`]).
//! - `exec` runs one inference locally, with no chain: model builders use it to test a model
//!   before publishing, and it prints the canonical output and its hash exactly as a worker
//!   would attest them.
//! - `host` (internal) serves one model to `run` over its standard input and output, in a
//!   process of its own (see [`host`]).

mod artifacts;
mod chain;
mod engine;
mod fast;
mod fast_client;
mod host;
mod http;
mod metrics;
mod ops;
mod readiness;
mod sessions;
mod tensor_io;
mod worker;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use modelhub_primitives::{
	tensor::TensorSet,
	worker::{ExecutionProfile, GraphOptimization},
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Command-line interface of the inference worker.
#[derive(Debug, Parser)]
#[command(name = "modelhub-worker", version, about)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// Bonds OPG and registers (or updates) this worker on chain.
	Register(RegisterArgs),
	/// Serves the jobs the chain assigns to this worker until stopped.
	Run(Box<RunArgs>),
	/// Runs one inference locally and prints the canonical output as JSON with its hash.
	Exec(ExecArgs),
	/// Prints this worker's record on chain as JSON: bond, status, declared profile, models
	/// held ready, open and paid jobs, earnings and slashes.
	Status(StatusArgs),
	/// Measures the fast path as a client (`docs/fast-path.md`): opens channels to a worker
	/// serving the model, makes paid calls on them in parallel, checks every attestation and
	/// waits for the worker to settle them; prints latencies, calls per second and the
	/// settlement transactions as JSON.
	FastBench(FastBenchArgs),
	/// Internal: serves one model to `run` over standard input and output.
	#[command(hide = true)]
	Host(HostArgs),
}

#[derive(Debug, Args)]
struct FastBenchArgs {
	/// The node's JSON-RPC WebSocket URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// Secret URI of the paying account.
	#[arg(long, default_value = "//Eve")]
	suri: String,
	/// The model to call.
	#[arg(long)]
	model: u64,
	/// The input of every call: {"inputs": {NAME: {"dtype", "shape", "data"}}}.
	#[arg(long, value_name = "FILE")]
	input_json: PathBuf,
	/// Calls to measure.
	#[arg(long, default_value_t = 1_000)]
	calls: u64,
	/// Channels used at once, each a lane of calls one after the other.
	#[arg(long, default_value_t = 4)]
	lanes: usize,
	/// Calls per lane made first and not measured.
	#[arg(long, default_value_t = 10)]
	warmup: u64,
	/// OPG each channel holds.
	#[arg(long, default_value = "100")]
	deposit: String,
	/// Seconds to wait for the workers to settle every call; 0: do not wait.
	#[arg(long, default_value_t = 180)]
	settle_timeout_secs: u64,
	/// Workers used at most: the lanes go to the first of those serving the model, in turn.
	#[arg(long, default_value_t = 1)]
	workers: usize,
}

#[derive(Debug, Args)]
struct HostArgs {
	#[command(flatten)]
	engine: EngineArgs,
	/// Most bytes of address space the process may map.
	#[arg(long)]
	memory_limit: Option<u64>,
}

/// Parses a MiB count where 0 means no limit, into bytes.
fn memory_limit(mib: u64) -> Option<u64> {
	(mib > 0).then(|| mib.saturating_mul(1 << 20))
}

#[derive(Debug, Args)]
struct StatusArgs {
	#[command(flatten)]
	account: Account,
}

#[derive(Debug, Args)]
struct Account {
	/// The node's JSON-RPC WebSocket URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// Secret URI of the worker's account (a mnemonic, `0x` seed or dev path like `//Alice`);
	/// default: the file `--suri-file`, else $MODELHUB_WORKER_SURI. On the command line it
	/// shows in `ps`: prefer the file or the variable outside development.
	#[arg(long)]
	suri: Option<String>,
	/// A file holding the account's secret URI (surrounding whitespace ignored).
	#[arg(long, value_name = "FILE", conflicts_with = "suri")]
	suri_file: Option<PathBuf>,
	/// Secret URI of the attestation key; default: the file `--attestation-suri-file`, else
	/// $MODELHUB_ATTESTATION_SURI, else the account's key.
	#[arg(long)]
	attestation_suri: Option<String>,
	/// A file holding the attestation key's secret URI.
	#[arg(long, value_name = "FILE", conflicts_with = "attestation_suri")]
	attestation_suri_file: Option<PathBuf>,
}

/// A secret given on the command line, in a file, or in the environment variable `variable`,
/// in that order.
fn secret(
	given: &Option<String>,
	file: &Option<PathBuf>,
	variable: &str,
) -> Result<Option<String>> {
	if let Some(value) = given {
		return Ok(Some(value.clone()));
	}
	if let Some(path) = file {
		let text = std::fs::read_to_string(path)
			.with_context(|| format!("reading the secret in {}", path.display()))?;
		let value = text.trim();
		if value.is_empty() {
			bail!("{} is empty", path.display());
		}
		return Ok(Some(value.to_string()));
	}
	Ok(std::env::var(variable).ok().filter(|value| !value.is_empty()))
}

/// How ONNX Runtime executes models: what the worker declares as its execution profile.
#[derive(Debug, Args)]
struct EngineArgs {
	/// Intra-op threads per execution.
	#[arg(long, default_value_t = 1)]
	threads: usize,
	/// ONNX Runtime's graph optimization level: disabled, basic, extended, layout or all.
	#[arg(long, default_value = "all", value_parser = parse_graph_optimization)]
	graph_optimization: GraphOptimization,
	/// The ONNX Runtime library (default: $ORT_DYLIB_PATH).
	#[arg(long, value_name = "FILE")]
	ort_library: Option<PathBuf>,
}

impl EngineArgs {
	fn settings(&self) -> engine::Settings {
		engine::Settings {
			threads: self.threads.max(1),
			graph_optimization: self.graph_optimization,
		}
	}
}

fn parse_graph_optimization(text: &str) -> Result<GraphOptimization, String> {
	GraphOptimization::from_name(text).ok_or_else(|| {
		let names: Vec<&str> = GraphOptimization::ALL.iter().map(|level| level.as_str()).collect();
		format!("expected one of {}", names.join(", "))
	})
}

/// An execution profile as JSON, in the names the command line uses.
fn profile_json(profile: &ExecutionProfile) -> Value {
	json!({
		"onnx_runtime": profile.onnx_runtime.to_string(),
		"graph_optimization": profile.graph_optimization.as_str(),
		"execution_provider": profile.execution_provider.as_str(),
		"deterministic_compute": profile.deterministic_compute,
		"intra_op_threads": profile.intra_op_threads,
		"cpu_class": profile.cpu_class.as_str(),
	})
}

#[derive(Debug, Args)]
struct RegisterArgs {
	#[command(flatten)]
	account: Account,
	/// OPG to bond (decimals allowed).
	#[arg(long)]
	bond: String,
	/// Jobs the worker takes at once.
	#[arg(long, default_value_t = 4)]
	capacity: u32,
	/// The runtime the worker advertises (default: `onnxruntime-<version>/cpu`).
	#[arg(long)]
	runtime: Option<String>,
	/// The execution profile declared with the registration; `run` declares its own again
	/// when it differs.
	#[command(flatten)]
	engine: EngineArgs,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
struct RunArgs {
	/// A TOML file of options: each key is an option's long name (`max-jobs = 4`,
	/// `suri-file = "/etc/modelhub/suri"`, `allow-file-artifacts = true`); options given on
	/// the command line win.
	#[arg(long, value_name = "FILE")]
	config: Option<PathBuf>,
	#[command(flatten)]
	account: Account,
	/// Artifact cache directory.
	#[arg(long, default_value = "models")]
	models_dir: PathBuf,
	/// Most MiB of artifacts kept on disk.
	#[arg(long, default_value_t = 10_240)]
	max_cache_mib: u64,
	/// Most ONNX Runtime sessions kept loaded.
	#[arg(long, default_value_t = 8)]
	max_sessions: usize,
	/// Most MiB of artifacts behind loaded sessions.
	#[arg(long, default_value_t = 4_096)]
	max_session_mib: u64,
	/// Most model versions held ready and declared on chain at once (the most called
	/// first); the chain draws this worker only for those. At most `--max-sessions`, whose
	/// sessions (and `--max-session-mib`) keep every declared version loaded, and at most what
	/// the chain accepts (`Verification::MaxReadyModels`, 32).
	#[arg(long, default_value_t = 8)]
	max_ready: usize,
	/// Jobs executing at once.
	#[arg(long, default_value_t = 2)]
	max_jobs: usize,
	/// Jobs waiting for an executor; beyond that, jobs wait on chain.
	#[arg(long, default_value_t = 16)]
	queue: usize,
	/// Most seconds one execution may run, whatever its deadline leaves; a run past its
	/// budget is stopped (its model's process is killed) and the job reported as failed.
	#[arg(long, default_value_t = 300)]
	max_execution_secs: u64,
	/// Most seconds loading one model may take.
	#[arg(long, default_value_t = 120)]
	max_load_secs: u64,
	/// Most MiB of address space each model's process may map (`RLIMIT_AS`; ONNX Runtime
	/// itself, with a small model loaded, maps about 64 MiB); 0: no limit.
	#[arg(long, default_value_t = 8_192)]
	model_memory_mib: u64,
	/// Seconds one artifact download may take.
	#[arg(long, default_value_t = 120)]
	fetch_timeout: u64,
	/// Read `file://` artifacts (a local development chain's sample models). Off by default:
	/// a publisher would make the worker read its own files.
	#[arg(long)]
	allow_file_artifacts: bool,
	/// Fetch artifacts from loopback, private and other non-public addresses. Off by default:
	/// a publisher would reach services inside the worker's network.
	#[arg(long)]
	allow_private_artifacts: bool,
	/// Base URL of an IPFS HTTP gateway; `ipfs://<cid>/<path>` artifacts are fetched from
	/// `<gateway>/ipfs/<cid>/<path>` (e.g. https://ipfs.io).
	#[arg(long)]
	ipfs_gateway: Option<String>,
	/// On SIGINT or SIGTERM, seconds to keep serving the jobs already assigned (after
	/// withdrawing every readiness declaration) before stopping with jobs open.
	#[arg(long, default_value_t = 240)]
	drain_timeout: u64,
	/// Serve Prometheus metrics (`/metrics`), liveness (`/health`) and readiness (`/ready`)
	/// on this address (e.g. 127.0.0.1:9616).
	#[arg(long)]
	prometheus: Option<std::net::SocketAddr>,
	#[command(flatten)]
	engine: EngineArgs,
	/// Which blocks to take jobs from: `best` (the node's best chain; lowest latency, a job
	/// in a retracted block is dropped at the next one) or `finalized`.
	#[arg(long, default_value = "best", value_parser = ["best", "finalized"])]
	follow: String,
	/// Serve fast calls (paid by vouchers, `docs/fast-path.md`) with JSON-RPC over HTTP and
	/// WebSocket on this address (e.g. 127.0.0.1:9955).
	#[arg(long)]
	fast_listen: Option<std::net::SocketAddr>,
	/// The URL clients reach the fast-path server at, advertised on chain (e.g.
	/// http://203.0.113.7:9955); defaults to http:// and `--fast-listen`.
	#[arg(long)]
	fast_endpoint: Option<String>,
	/// Settle a channel once this many of its calls are unsettled.
	#[arg(long, default_value_t = 1_000)]
	fast_settle_calls: u64,
	/// Settle a channel's calls at most this many seconds after the first unsettled one.
	#[arg(long, default_value_t = 60)]
	fast_settle_secs: u64,
	/// Where the latest voucher of each channel is kept (keep it across restarts: it is what
	/// the worker is paid from).
	#[arg(long, default_value = "fast-path")]
	fast_state_dir: PathBuf,
	/// Most seconds one fast call may run.
	#[arg(long, default_value_t = 30)]
	fast_call_timeout_secs: u64,
	/// Test only: attest an all-zero output instead of the model's (a dishonest worker).
	#[arg(long, hide = true)]
	test_corrupt_outputs: bool,
	/// Test only: report every job as failed.
	#[arg(long, hide = true)]
	test_fail_jobs: bool,
	/// Test only: keep each fast call's voucher and never answer (a worker that takes the
	/// payment and goes silent).
	#[arg(long, hide = true)]
	test_fast_silent: bool,
	/// Test only: sign and drop this many of the first transactions, as a transaction pool
	/// that accepted them and then lost them would.
	#[arg(long, hide = true, default_value_t = 0)]
	test_drop_transactions: u32,
}

#[derive(Debug, Args)]
struct ExecArgs {
	/// The ONNX model.
	#[arg(long)]
	model: PathBuf,
	/// An input tensor from a `.npy` file, as NAME=FILE.npy; repeat for several inputs.
	#[arg(long = "input", value_name = "NAME=FILE.npy", conflicts_with = "input_json")]
	inputs: Vec<String>,
	/// All inputs from a JSON file: {"inputs": {NAME: {"dtype", "shape", "data"}}}.
	#[arg(long, value_name = "FILE")]
	input_json: Option<PathBuf>,
	/// Also write the output JSON to this file.
	#[arg(long, value_name = "FILE")]
	output_json: Option<PathBuf>,
	/// Also write each output tensor to DIR/NAME.npy.
	#[arg(long, value_name = "DIR")]
	output_npy: Option<PathBuf>,
	/// Significant mantissa bits floats are rounded to before hashing, as the model's record
	/// on chain declares; default: the schema's, else no rounding.
	#[arg(long)]
	rounding_bits: Option<u8>,
	/// The model's schema file (`*.schema.json`): inputs and outputs are checked against it,
	/// and its `output_rounding_bits` apply.
	#[arg(long, value_name = "FILE")]
	schema: Option<PathBuf>,
	#[command(flatten)]
	engine: EngineArgs,
	/// Also time this many runs (after `--warmup` untimed ones) of what a worker does per job
	/// with a loaded session: convert the inputs, run, convert the outputs back, round and hash
	/// them; adds "timing" (latency percentiles in ms, throughput per second) to the output.
	#[arg(long, default_value_t = 0)]
	repeat: usize,
	/// Untimed runs before the timed ones.
	#[arg(long, default_value_t = 3)]
	warmup: usize,
	/// Run the model as `run` does, in a process of its own under `--model-memory-mib`.
	#[arg(long)]
	isolated: bool,
	/// With `--isolated`: most MiB of address space the model's process may map; 0: no limit.
	#[arg(long, default_value_t = 8_192)]
	model_memory_mib: u64,
}

fn hex(bytes: &[u8]) -> String {
	artifacts::hex0x(bytes)
}

fn read_json(path: &Path) -> Result<Value> {
	let text =
		std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
	serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn read_inputs(args: &ExecArgs) -> Result<TensorSet> {
	if let Some(path) = &args.input_json {
		return tensor_io::set_from_json(&read_json(path)?, "inputs")
			.with_context(|| format!("inputs in {}", path.display()));
	}
	if args.inputs.is_empty() {
		bail!("give the inputs with --input NAME=FILE.npy or --input-json FILE");
	}
	let mut tensors = Vec::new();
	for spec in &args.inputs {
		let (name, file) = spec
			.split_once('=')
			.ok_or_else(|| anyhow!("--input {spec}: expected NAME=FILE.npy"))?;
		let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
		tensors.push(tensor_io::tensor_from_npy(name, &bytes).with_context(|| file.to_string())?);
	}
	TensorSet::new(tensors, &tensor_io::local_limits())
		.map_err(|error| anyhow!("invalid inputs: {error:?}"))
}

/// The schema of a `*.schema.json` file and its rounding bits.
fn read_schema(path: &Path) -> Result<(modelhub_primitives::schema::IoSchema, u8)> {
	use modelhub_primitives::{
		schema::{Dim, IoSchema, TensorSpec},
		tensor::DType,
	};
	let document = read_json(path)?;
	let specs = |key: &str| -> Result<Vec<TensorSpec>> {
		let list = document
			.get(key)
			.and_then(Value::as_array)
			.ok_or_else(|| anyhow!("{}: no {key:?} list", path.display()))?;
		list.iter()
			.map(|spec| {
				let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
				let dtype = spec
					.get("dtype")
					.and_then(Value::as_str)
					.and_then(DType::from_name)
					.ok_or_else(|| anyhow!("{name}: missing or unknown dtype"))?;
				let shape: Vec<Dim> = spec
					.get("shape")
					.and_then(Value::as_array)
					.ok_or_else(|| anyhow!("{name}: missing shape"))?
					.iter()
					.map(|dim| dim.as_u64().map_or(Dim::Dynamic, Dim::Fixed))
					.collect();
				TensorSpec::new(name.as_bytes(), dtype, &shape)
					.ok_or_else(|| anyhow!("{name}: invalid tensor spec"))
			})
			.collect()
	};
	let schema = IoSchema {
		inputs: specs("inputs")?.try_into().map_err(|_| anyhow!("too many inputs"))?,
		outputs: specs("outputs")?.try_into().map_err(|_| anyhow!("too many outputs"))?,
	};
	schema.validate().map_err(|error| anyhow!("{}: {error:?}", path.display()))?;
	let bits = document
		.get("output_rounding_bits")
		.and_then(Value::as_u64)
		.and_then(|bits| u8::try_from(bits).ok())
		.unwrap_or(52);
	Ok((schema, bits))
}

/// Runs a loaded model on a tensor set: in this process or in a model host.
type Runner = Box<dyn FnMut(&TensorSet) -> Result<TensorSet>>;

/// Times `args.repeat` runs of a worker's per-job path on a loaded model.
fn time_runs(run: &mut Runner, inputs: &TensorSet, bits: u8, args: &ExecArgs) -> Result<Value> {
	let mut run_once = || -> Result<[u8; 32]> {
		let mut outputs = run(inputs)?;
		outputs.canonicalize_floats(bits);
		Ok(outputs.content_hash())
	};
	for _ in 0..args.warmup {
		run_once()?;
	}
	let mut latencies = Vec::with_capacity(args.repeat);
	let started = std::time::Instant::now();
	for _ in 0..args.repeat {
		let run = std::time::Instant::now();
		std::hint::black_box(run_once()?);
		latencies.push(run.elapsed().as_secs_f64() * 1e3);
	}
	let total = started.elapsed().as_secs_f64();
	latencies.sort_by(f64::total_cmp);
	let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
	Ok(json!({
		"runs": args.repeat,
		"threads": args.engine.threads,
		"isolated": args.isolated,
		"mean_ms": latencies.iter().sum::<f64>() / latencies.len() as f64,
		"p50_ms": percentile(0.5),
		"p90_ms": percentile(0.9),
		"min_ms": latencies[0],
		"throughput_per_s": args.repeat as f64 / total,
	}))
}

fn exec(args: ExecArgs) -> Result<()> {
	let schema = args.schema.as_deref().map(read_schema).transpose()?;
	let inputs = read_inputs(&args)?;
	if let Some((schema, _)) = &schema {
		schema
			.check_inputs(&inputs)
			.map_err(|error| anyhow!("inputs do not fit the schema: {error:?}"))?;
	}
	let model_bytes =
		std::fs::read(&args.model).with_context(|| format!("reading {}", args.model.display()))?;
	let environment = engine::environment(args.engine.ort_library.as_deref())?;
	let settings = args.engine.settings();
	let mut run: Runner = if args.isolated {
		let config = host::HostConfig::current(settings, memory_limit(args.model_memory_mib))?;
		let mut host = host::Host::spawn(&config)?;
		host.load(&model_bytes).map_err(|error| anyhow!("loading the model: {error}"))?;
		Box::new(move |inputs: &TensorSet| {
			host.run(&codec::Encode::encode(inputs)).map_err(|error| anyhow!("{error}"))
		})
	} else {
		let mut model = engine::Model::load(environment, &model_bytes, settings)?;
		Box::new(move |inputs: &TensorSet| model.run(inputs))
	};
	let bits = args.rounding_bits.or(schema.as_ref().map(|(_, bits)| *bits)).unwrap_or(52);
	let timing =
		if args.repeat > 0 { Some(time_runs(&mut run, &inputs, bits, &args)?) } else { None };
	let mut outputs = run(&inputs)?;
	outputs.canonicalize_floats(bits);
	if let Some((schema, _)) = &schema {
		schema
			.check_outputs(&outputs)
			.map_err(|error| anyhow!("outputs do not fit the schema: {error:?}"))?;
	}

	let mut document = tensor_io::set_to_json(&outputs, "outputs");
	if let Value::Object(fields) = &mut document {
		fields.insert("output_hash".into(), json!(hex(&outputs.content_hash())));
		fields.insert("input_hash".into(), json!(hex(&inputs.content_hash())));
		fields
			.insert("model_hash".into(), json!(hex(&sp_crypto_hashing::blake2_256(&model_bytes))));
		fields.insert("rounding_bits".into(), json!(bits));
		fields.insert("profile".into(), profile_json(&settings.declared()?));
		if let Some(timing) = timing {
			fields.insert("timing".into(), timing);
		}
	}
	let text = serde_json::to_string(&document)?;
	if let Some(path) = &args.output_json {
		std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
	}
	if let Some(dir) = &args.output_npy {
		std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
		for tensor in &outputs.tensors {
			let name = String::from_utf8_lossy(&tensor.name).replace(['/', ':'], "_");
			let path = dir.join(format!("{name}.npy"));
			std::fs::write(&path, tensor_io::tensor_to_npy(tensor))
				.with_context(|| format!("writing {}", path.display()))?;
		}
	}
	println!("{text}");
	Ok(())
}

/// OPG in its smallest unit (18 decimals) from a decimal amount like `100` or `0.5`.
fn parse_opg(text: &str) -> Result<u128> {
	const DECIMALS: usize = 18;
	let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
	if whole.is_empty() && fraction.is_empty()
		|| fraction.len() > DECIMALS
		|| !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit())
	{
		bail!("{text:?} is not an OPG amount");
	}
	let padded = format!("{fraction:0<DECIMALS$}");
	let whole: u128 = if whole.is_empty() { 0 } else { whole.parse()? };
	let fraction: u128 = padded.parse()?;
	whole
		.checked_mul(10u128.pow(DECIMALS as u32))
		.and_then(|units| units.checked_add(fraction))
		.ok_or_else(|| anyhow!("{text:?} OPG is too large"))
}

fn keypair(suri: &str) -> Result<subxt_signer::sr25519::Keypair> {
	let uri: subxt_signer::SecretUri =
		suri.parse().map_err(|error| anyhow!("invalid secret URI: {error}"))?;
	subxt_signer::sr25519::Keypair::from_uri(&uri)
		.map_err(|error| anyhow!("invalid secret URI: {error}"))
}

/// The account key, the attestation key, and the secret commitment salts derive from.
fn keys(
	account: &Account,
) -> Result<(subxt_signer::sr25519::Keypair, subxt_signer::sr25519::Keypair, [u8; 32])> {
	let suri =
		secret(&account.suri, &account.suri_file, "MODELHUB_WORKER_SURI")?.ok_or_else(|| {
			anyhow!("give the account with --suri-file, $MODELHUB_WORKER_SURI or --suri")
		})?;
	let signer = keypair(&suri)?;
	let attestation_suri = secret(
		&account.attestation_suri,
		&account.attestation_suri_file,
		"MODELHUB_ATTESTATION_SURI",
	)?
	.unwrap_or(suri);
	let attestor = keypair(&attestation_suri)?;
	let mut preimage = b"opg:salt-secret:v1".to_vec();
	preimage.extend_from_slice(attestation_suri.as_bytes());
	Ok((signer, attestor, sp_crypto_hashing::blake2_256(&preimage)))
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
	tokio::runtime::Builder::new_multi_thread()
		.enable_all()
		.build()
		.context("starting the async runtime")
}

fn register(args: RegisterArgs) -> Result<()> {
	let bond = parse_opg(&args.bond)?;
	let (signer, attestor, _) = keys(&args.account)?;
	engine::environment(args.engine.ort_library.as_deref())?;
	let profile = args.engine.settings().declared()?;
	let runtime =
		args.runtime.clone().unwrap_or_else(|| format!("onnxruntime-{}/cpu", profile.onnx_runtime));
	let meta =
		chain::WorkerMeta { runtime: runtime.into_bytes(), capacity: args.capacity, profile };
	tokio_runtime()?.block_on(async {
		let chain = chain::Chain::connect(&args.account.url, signer).await?;
		let at = chain.finalized().await?;
		let key = attestor.public_key().0;
		let timeout = std::time::Duration::from_secs(120);
		let events = match chain.worker(&at).await? {
			None => {
				let call = chain::register_worker(bond, key, meta);
				chain.submit_and_wait(&call, timeout).await?
			},
			Some(_) => {
				let call = chain::update_worker(Some(bond), Some(key), Some(meta));
				chain.submit_and_wait(&call, timeout).await?
			},
		};
		let at = chain.finalized().await?;
		let record = chain
			.worker(&at)
			.await?
			.ok_or_else(|| anyhow!("the worker is not registered after {events:?}"))?;
		println!(
			"{}",
			json!({
				"account": hex(&chain.account),
				"attestation_key": hex(&record.attestation_key),
				"bond": record.bond.to_string(),
				"profile": profile_json(&record.meta.profile),
				"events": events,
			})
		);
		Ok(())
	})
}

fn fast_bench(args: FastBenchArgs) -> Result<()> {
	let payer = keypair(&args.suri)?;
	let input = tensor_io::set_from_json(&read_json(&args.input_json)?, "inputs")
		.with_context(|| format!("inputs in {}", args.input_json.display()))?;
	let options = fast_client::BenchOptions {
		model: args.model,
		input: codec::Encode::encode(&input),
		calls: args.calls,
		lanes: args.lanes,
		deposit: parse_opg(&args.deposit)?,
		settle_timeout: std::time::Duration::from_secs(args.settle_timeout_secs),
		warmup: args.warmup,
		workers: args.workers,
	};
	tokio_runtime()?.block_on(async {
		let chain = chain::Chain::connect(&args.url, payer.clone()).await?;
		let report = fast_client::bench(chain, payer, options).await?;
		println!("{report}");
		Ok(())
	})
}

fn status(args: StatusArgs) -> Result<()> {
	let (signer, attestor, _) = keys(&args.account)?;
	tokio_runtime()?.block_on(async {
		let chain = chain::Chain::connect(&args.account.url, signer).await?;
		let at = chain.finalized().await?;
		let record = chain.worker(&at).await?;
		let stats = chain.stats(&at).await?;
		let ready = chain.readiness(&at).await?;
		let open = chain.assignments(&at).await?;
		let registration = record.map(|record| {
			json!({
				"bond": record.bond.to_string(),
				"status": match record.status {
					chain::WorkerStatusField::Active => json!("active"),
					chain::WorkerStatusField::Unbonding { until } => json!({ "unbondingUntil": until }),
				},
				"attestationKeyMatches": record.attestation_key == attestor.public_key().0,
				"capacity": record.meta.capacity,
				"runtime": String::from_utf8_lossy(&record.meta.runtime),
				"profile": profile_json(&record.meta.profile),
				"pendingJobs": record.pending_jobs,
			})
		});
		println!(
			"{}",
			json!({
				"account": hex(&chain.account),
				"block": at.block_number(),
				"registration": registration,
				"ready": ready.iter().map(|(model, version)| json!({ "model": model, "version": version })).collect::<Vec<_>>(),
				"openJobs": open,
				"paidJobs": stats.jobs,
				"earnings": stats.earnings.to_string(),
				"slashes": stats.slashes,
				"slashed": stats.slashed.to_string(),
			})
		);
		Ok(())
	})
}

fn run(args: RunArgs) -> Result<()> {
	let (signer, attestor, salt_secret) = keys(&args.account)?;
	engine::environment(args.engine.ort_library.as_deref())?;
	let hosts =
		host::HostConfig::current(args.engine.settings(), memory_limit(args.model_memory_mib))?;
	let registry = substrate_prometheus_endpoint::Registry::new();
	let metrics = metrics::Metrics::new(&registry)?;
	let mib = 1u64 << 20;
	let options = worker::Options {
		models_dir: args.models_dir,
		max_cache_bytes: args.max_cache_mib.saturating_mul(mib),
		max_sessions: args.max_sessions,
		max_session_bytes: args.max_session_mib.saturating_mul(mib),
		max_jobs: args.max_jobs.max(1),
		queue: args.queue,
		settings: args.engine.settings(),
		max_execution: std::time::Duration::from_secs(args.max_execution_secs.max(1)),
		max_load: std::time::Duration::from_secs(args.max_load_secs.max(1)),
		fetch_timeout: std::time::Duration::from_secs(args.fetch_timeout),
		sources: artifacts::Sources {
			allow_files: args.allow_file_artifacts,
			allow_private: args.allow_private_artifacts,
			ipfs_gateway: args.ipfs_gateway,
		},
		fetch_attempts: 3,
		resubmit_after: 3,
		max_attempts: 3,
		follow_best: args.follow == "best",
		max_ready: args.max_ready,
		corrupt_outputs: args.test_corrupt_outputs,
		fail_jobs: args.test_fail_jobs,
		drop_transactions: args.test_drop_transactions,
	};
	if options.corrupt_outputs {
		tracing::warn!("test mode: attesting wrong outputs");
	}
	if options.fail_jobs {
		tracing::warn!("test mode: reporting every job as failed");
	}
	if options.drop_transactions > 0 {
		tracing::warn!(count = options.drop_transactions, "test mode: dropping transactions");
	}
	let account = signer.public_key().0;
	let engine =
		std::sync::Arc::new(worker::Engine::new(hosts, options, attestor, salt_secret, metrics)?);
	let fast_options = args.fast_listen.map(|listen| fast::FastOptions {
		listen,
		endpoint: Some(args.fast_endpoint.clone().unwrap_or_else(|| format!("http://{listen}"))),
		settle_calls: args.fast_settle_calls.max(1),
		settle_after: std::time::Duration::from_secs(args.fast_settle_secs),
		state_dir: args.fast_state_dir.clone(),
		call_timeout: std::time::Duration::from_secs(args.fast_call_timeout_secs.max(1)),
		silent: args.test_fast_silent,
	});
	tokio_runtime()?.block_on(async move {
		let fast = match fast_options {
			Some(options) => Some(fast::Fast::new(engine.clone(), options, account)?),
			None => None,
		};
		// The server stops with the process.
		let _server = match &fast {
			Some(fast) => Some(fast.serve().await?),
			None => None,
		};
		if let Some(address) = args.prometheus {
			let status = engine.status.clone();
			tokio::spawn(async move {
				if let Err(error) = ops::serve(address, registry, status).await {
					tracing::error!("operator endpoints on {address}: {error:#}");
				}
			});
			tracing::info!(
				"metrics, health and readiness on http://{address}/metrics, /health, /ready"
			);
		}
		let drain_timeout = std::time::Duration::from_secs(args.drain_timeout);
		worker::serve(engine, fast, &args.account.url, signer, drain_timeout).await
	})
}

/// The options a `--config` file gives, as command-line arguments: `key = value` becomes
/// `--key value`, `key = true` becomes `--key` (`false` is left out), and an array repeats the
/// option for each element.
fn config_arguments(text: &str) -> Result<Vec<String>> {
	let table: toml::Table = text.parse().context("parsing the configuration")?;
	let mut arguments = Vec::new();
	for (key, value) in table {
		let option = format!("--{}", key.replace('_', "-"));
		let values = match value {
			toml::Value::Array(items) => items,
			single => vec![single],
		};
		for value in values {
			match value {
				toml::Value::Boolean(true) => arguments.push(option.clone()),
				toml::Value::Boolean(false) => {},
				toml::Value::String(text) => arguments.extend([option.clone(), text]),
				toml::Value::Integer(number) => {
					arguments.extend([option.clone(), number.to_string()])
				},
				toml::Value::Float(number) => {
					arguments.extend([option.clone(), number.to_string()])
				},
				other => bail!("{key}: {} is not an option value", other.type_str()),
			}
		}
	}
	Ok(arguments)
}

/// The command line with the options of `run --config FILE` put before those given, so that
/// those given win.
fn with_config(mut arguments: Vec<std::ffi::OsString>) -> Result<Vec<std::ffi::OsString>> {
	if arguments.get(1).and_then(|command| command.to_str()) != Some("run") {
		return Ok(arguments);
	}
	let mut path = None;
	for (index, argument) in arguments.iter().enumerate() {
		let Some(text) = argument.to_str() else { continue };
		if let Some(value) = text.strip_prefix("--config=") {
			path = Some(PathBuf::from(value));
		} else if text == "--config" {
			path = arguments.get(index + 1).map(PathBuf::from);
		}
	}
	let Some(path) = path else { return Ok(arguments) };
	let text = std::fs::read_to_string(&path)
		.with_context(|| format!("reading the configuration {}", path.display()))?;
	let options = config_arguments(&text).with_context(|| format!("in {}", path.display()))?;
	let rest = arguments.split_off(2);
	arguments.extend(options.into_iter().map(Into::into));
	arguments.extend(rest);
	Ok(arguments)
}

/// `modelhub-worker host`: no logging set up (its standard output carries frames), errors to
/// standard error.
fn host(args: HostArgs) -> Result<()> {
	let library = match &args.engine.ort_library {
		Some(path) => path.clone(),
		None => std::env::var_os("ORT_DYLIB_PATH")
			.map(PathBuf::from)
			.ok_or_else(|| anyhow!("give --ort-library or set ORT_DYLIB_PATH"))?,
	};
	host::serve(&library, args.engine.settings(), args.memory_limit)
}

fn main() {
	let arguments = match with_config(std::env::args_os().collect()) {
		Ok(arguments) => arguments,
		Err(error) => {
			eprintln!("error: {error:#}");
			std::process::exit(2);
		},
	};
	let cli = Cli::parse_from(arguments);
	if let Command::Host(args) = cli.command {
		if let Err(error) = host(args) {
			eprintln!("model host: error: {error:#}");
			std::process::exit(1);
		}
		return;
	}
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
		.init();
	let result = match cli.command {
		Command::Register(args) => register(args),
		Command::Run(args) => run(*args),
		Command::Exec(args) => exec(args),
		Command::FastBench(args) => fast_bench(args),
		Command::Status(args) => status(args),
		Command::Host(_) => Ok(()),
	};
	if let Err(error) = result {
		eprintln!("error: {error:#}");
		std::process::exit(1);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_config_file_gives_options_that_the_command_line_overrides() {
		let dir =
			std::env::temp_dir().join(format!("modelhub-worker-config-{}", std::process::id()));
		std::fs::create_dir_all(&dir).expect("dir");
		let path = dir.join("worker.toml");
		std::fs::write(
			&path,
			"url = \"ws://10.0.0.1:9944\"\nsuri_file = \"/etc/modelhub/suri\"\nmax-jobs = 4\n\
			 allow-file-artifacts = true\nallow-private-artifacts = false\n",
		)
		.expect("write");
		let given = [
			"modelhub-worker",
			"run",
			"--config",
			path.to_str().expect("utf-8"),
			"--max-jobs",
			"8",
		];
		let arguments = with_config(given.iter().map(Into::into).collect()).expect("config");
		let cli = Cli::try_parse_from(arguments).expect("parses");
		let Command::Run(run) = cli.command else { panic!("not run") };
		assert_eq!(run.account.url, "ws://10.0.0.1:9944");
		assert_eq!(run.account.suri_file, Some(PathBuf::from("/etc/modelhub/suri")));
		assert_eq!(run.max_jobs, 8, "the command line wins");
		assert!(run.allow_file_artifacts && !run.allow_private_artifacts);
		assert!(config_arguments("nested = { a = 1 }").is_err());
		assert!(config_arguments("not toml").is_err());
		let _ = std::fs::remove_dir_all(&dir);
	}

	#[test]
	fn opg_amounts_parse_to_the_smallest_unit() {
		const OPG: u128 = 1_000_000_000_000_000_000;
		assert_eq!(parse_opg("100").ok(), Some(100 * OPG));
		assert_eq!(parse_opg("0.5").ok(), Some(OPG / 2));
		assert_eq!(parse_opg(".000000000000000001").ok(), Some(1));
		for bad in ["", ".", "1.2.3", "-1", "1e3", "0.0000000000000000001", "abc"] {
			assert!(parse_opg(bad).is_err(), "{bad:?}");
		}
	}
}

//! `modelhub-worker run`: serves the jobs the chain assigns to this worker.
//!
//! The chain is the worker's to-do list. At every new block (of the best chain, or finalized
//! ones with `--follow finalized`) the worker reads
//! `Inference::Assignments` under its own account and, for each request, the phase and its own
//! slot: a redundancy-1 job it has not answered gets `submit_result`, a redundant one it has not
//! committed to gets `commit_result`, and one in its reveal phase gets `reveal_result`. Nothing
//! else is remembered between blocks except which transactions are on their way, so a restart
//! or a reconnect picks up exactly the jobs still open. Commitment salts are derived from the
//! worker's secret and the request, and execution is deterministic, so a worker that restarts
//! between its commitment and its reveal recomputes the same output and salt.
//!
//! On connecting, the worker compares the execution profile the chain has for it with its own
//! (ONNX Runtime version, graph optimization level, threads, CPU class) and declares its own
//! with `update_worker` when they differ.
//!
//! Jobs run in a bounded pool: at most `max_jobs` execute at once and at most `queue` more
//! wait; jobs beyond that stay assigned on chain and are taken at a later block. Each loaded
//! model runs in a process of its own ([`crate::host`]) under a memory limit, and a run that
//! passes its time budget (the job's deadline, at most `max_execution`) is stopped by killing
//! that process: a model that hangs, crashes or exhausts memory fails its job in time and
//! leaves the worker serving the next one.
//!
//! At every block the worker also reviews which model versions it holds ready and tells the
//! chain ([`crate::readiness`]): the chain draws it only for those.

use anyhow::{anyhow, bail, Result};
use modelhub_primitives::{
	inference::{result_commitment, Attestation},
	tensor::TensorSet,
	worker::ExecutionProfile,
};
use std::{
	collections::{HashMap, HashSet},
	path::PathBuf,
	sync::{
		atomic::{AtomicU64, Ordering},
		Arc, Mutex,
	},
	time::{Duration, Instant},
};
use subxt_signer::sr25519::Keypair;
use tokio::sync::{mpsc, Semaphore};

use crate::{
	artifacts::{hex, ArtifactCache, FetchError},
	chain::{self, Chain, ModelVersion, Outcome, Phase, Reason, Request, SlotState},
	engine::Settings,
	fast::Fast,
	host::{Host, HostConfig, HostError, Killer},
	metrics::Metrics,
	readiness,
	sessions::Lru,
	tensor_io,
};

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct Options {
	/// Artifact cache directory.
	pub models_dir: PathBuf,
	/// Most bytes the artifact cache keeps on disk.
	pub max_cache_bytes: u64,
	/// Most ONNX Runtime sessions kept loaded.
	pub max_sessions: usize,
	/// Most artifact bytes behind the loaded sessions.
	pub max_session_bytes: u64,
	/// Jobs executing at once.
	pub max_jobs: usize,
	/// Jobs waiting for an executor, beyond which new jobs wait on chain.
	pub queue: usize,
	/// Threads and graph optimization level of every execution.
	pub settings: Settings,
	/// Longest one execution may run, whatever its deadline leaves.
	pub max_execution: Duration,
	/// Longest loading a model may take.
	pub max_load: Duration,
	/// How long one artifact download may take.
	pub fetch_timeout: Duration,
	/// Which artifact locations are read.
	pub sources: crate::artifacts::Sources,
	/// Attempts to fetch an artifact before reporting it unavailable.
	pub fetch_attempts: u32,
	/// Finalized blocks to wait for a sent transaction to take effect before sending again.
	pub resubmit_after: u64,
	/// Sends of one action before giving up on a job.
	pub max_attempts: u32,
	/// Follow the best chain (lower latency; a job seen in a block that is later retracted is
	/// dropped at the next block) rather than finalized blocks.
	pub follow_best: bool,
	/// Most model versions held ready (and declared on chain) at once.
	pub max_ready: usize,
	/// Test only: attest a wrong output (all zeros) instead of the model's.
	pub corrupt_outputs: bool,
	/// Test only: report every job as failed (`ExecutionError`).
	pub fail_jobs: bool,
	/// Test only: sign and drop this many of the first transactions, as a pool that lost them.
	pub drop_transactions: u32,
}

/// What a worker does with a job at one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
	Submit,
	Commit,
	Reveal,
}

impl Action {
	fn name(self) -> &'static str {
		match self {
			Action::Submit => "submit",
			Action::Commit => "commit",
			Action::Reveal => "reveal",
		}
	}

	/// What the chain wants from this worker, given the request's phase and the worker's slot.
	fn wanted(phase: Phase, slot: SlotState) -> Option<Self> {
		match (phase, slot) {
			(Phase::Running, SlotState::Assigned) => Some(Action::Submit),
			(Phase::Commit, SlotState::Assigned) => Some(Action::Commit),
			(Phase::Reveal, SlotState::Committed(_)) => Some(Action::Reveal),
			_ => None,
		}
	}
}

/// A job that cannot be run, and the reason the chain is told.
#[derive(Debug)]
pub(crate) struct Failure {
	pub(crate) reason: Reason,
	pub(crate) detail: String,
}

fn failure(reason: Reason, detail: impl Into<String>) -> Failure {
	Failure { reason, detail: detail.into() }
}

/// Why one attempt at a run did not give outputs.
enum Retry {
	/// The model's process had ended (under another job): load it again and retry.
	Replaced,
	/// The job fails.
	Failed(Failure),
}

impl From<Failure> for Retry {
	fn from(failed: Failure) -> Self {
		Retry::Failed(failed)
	}
}

/// The canonical output of a job.
#[derive(Clone)]
pub(crate) struct Prepared {
	pub(crate) output: Vec<u8>,
	pub(crate) output_hash: [u8; 32],
}

/// A model loaded in its host process.
struct Loaded {
	host: Arc<tokio::sync::Mutex<Host>>,
	killer: Killer,
}

/// What the worker keeps across connections: caches, sessions, metrics.
pub struct Engine {
	hosts: HostConfig,
	cache: ArtifactCache,
	sessions: Mutex<Lru<Loaded>>,
	permits: Semaphore,
	metrics: Metrics,
	options: Options,
	/// Signs attestations.
	attestor: Keypair,
	/// Secret the commitment salts are derived from.
	salt_secret: [u8; 32],
	/// Outputs committed to and not yet revealed, by request.
	committed: Mutex<HashMap<u64, Prepared>>,
	/// The execution profile the worker declares on chain.
	profile: ExecutionProfile,
	/// Which model versions are being prepared or were declared.
	readiness: readiness::Shared,
	/// The latest block seen.
	block: AtomicU64,
	/// What the operator endpoints report.
	pub status: Arc<crate::ops::Status>,
	/// One lock per artifact being fetched or loaded, so concurrent jobs and preparations of
	/// one model fetch and build it once.
	loading: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
	/// Artifacts whose verified bytes did not load as a model (`InvalidModel`), with when that
	/// was found: the bytes the chain records never change, so they are not read again for
	/// [`FAILED_LOAD_MEMORY`].
	unloadable: Mutex<HashMap<[u8; 32], (Instant, Reason, String)>>,
	/// Test only: transactions still to be dropped ([`Options::drop_transactions`]).
	test_drops: Arc<std::sync::atomic::AtomicU32>,
}

/// How long an artifact that failed to load is answered from memory.
const FAILED_LOAD_MEMORY: Duration = Duration::from_secs(600);

impl Engine {
	/// Opens the artifact cache and prepares the pool.
	pub fn new(
		hosts: HostConfig,
		options: Options,
		attestor: Keypair,
		salt_secret: [u8; 32],
		metrics: Metrics,
	) -> Result<Self> {
		let cache = ArtifactCache::open(
			&options.models_dir,
			options.max_cache_bytes,
			options.fetch_timeout,
			options.sources.clone(),
		)?;
		let profile = options.settings.declared()?;
		let test_drops = Arc::new(options.drop_transactions.into());
		Ok(Self {
			profile,
			hosts,
			cache,
			sessions: Mutex::new(Lru::new(options.max_sessions, options.max_session_bytes)),
			permits: Semaphore::new(options.max_jobs.max(1)),
			metrics,
			options,
			attestor,
			salt_secret,
			committed: Mutex::new(HashMap::new()),
			readiness: Default::default(),
			block: AtomicU64::new(0),
			status: Default::default(),
			loading: Mutex::new(HashMap::new()),
			unloadable: Mutex::new(HashMap::new()),
			test_drops,
		})
	}

	/// The loaded session for `version`'s artifact: from memory, or fetched and built, once
	/// however many jobs ask at the same time. Holds no execution slot.
	async fn session(&self, version: &ModelVersion) -> Result<Arc<Loaded>, Failure> {
		let hash = version.artifact.hash;
		if let Some(session) = self.loaded(&hash) {
			self.metrics.cache("session", true);
			return Ok(session);
		}
		let lock = self
			.loading
			.lock()
			.map_err(|_| failure(Reason::ExecutionError, "loading state poisoned"))?
			.entry(hash)
			.or_default()
			.clone();
		let result = {
			let _loading = lock.lock().await;
			// Whoever held the lock before may have loaded it, or found it unloadable.
			match self.loaded(&hash) {
				Some(session) => {
					self.metrics.cache("session", true);
					Ok(session)
				},
				None => match self.remembered_failure(&hash) {
					Some(failed) => Err(failed),
					None => {
						self.metrics.cache("session", false);
						let loaded = self.load(version).await;
						if let Err(failed) = &loaded {
							if failed.reason == Reason::InvalidModel {
								if let Ok(mut unloadable) = self.unloadable.lock() {
									unloadable.insert(
										hash,
										(Instant::now(), failed.reason, failed.detail.clone()),
									);
								}
							}
						}
						loaded
					},
				},
			}
		};
		if let Ok(mut loading) = self.loading.lock() {
			// The last one out removes the lock (the map holds one reference, `lock` another).
			if Arc::strong_count(&lock) <= 2 {
				loading.remove(&hash);
			}
		}
		result
	}

	/// The session for `hash` if it is loaded.
	fn loaded(&self, hash: &[u8; 32]) -> Option<Arc<Loaded>> {
		self.sessions.lock().ok().and_then(|mut lru| lru.get(hash))
	}

	/// Forgets `loaded` (its process is gone), unless a newer one has replaced it.
	fn unload(&self, hash: &[u8; 32], loaded: &Arc<Loaded>) {
		if let Ok(mut sessions) = self.sessions.lock() {
			sessions.remove_if_same(hash, loaded);
		}
	}

	/// Why `hash` did not load, if that was found less than [`FAILED_LOAD_MEMORY`] ago.
	fn remembered_failure(&self, hash: &[u8; 32]) -> Option<Failure> {
		let mut unloadable = self.unloadable.lock().ok()?;
		unloadable.retain(|_, (at, _, _)| at.elapsed() < FAILED_LOAD_MEMORY);
		unloadable.get(hash).map(|(_, reason, detail)| failure(*reason, detail.clone()))
	}

	/// Fetches (with retries) and builds the session for `version`'s artifact.
	async fn load(&self, version: &ModelVersion) -> Result<Arc<Loaded>, Failure> {
		let hash = version.artifact.hash;
		let mut delay = Duration::from_secs(1);
		let mut attempt = 1;
		let (bytes, hit) = loop {
			match self.cache.get(&version.artifact).await {
				Ok(found) => break found,
				Err(FetchError::Mismatch(why)) => {
					return Err(failure(Reason::ArtifactHashMismatch, why))
				},
				Err(FetchError::Unavailable(why)) if attempt >= self.options.fetch_attempts => {
					return Err(failure(Reason::ModelUnavailable, why))
				},
				Err(FetchError::Unavailable(why)) => {
					tracing::warn!(artifact = %hex(&hash), attempt, "fetch failed, retrying: {why}");
					tokio::time::sleep(delay).await;
					delay = (delay * 2).min(Duration::from_secs(30));
					attempt += 1;
				},
			}
		};
		self.metrics.cache("artifact", hit);
		tracing::info!(
			artifact = %hex(&hash),
			bytes = version.artifact.size,
			cached = hit,
			cache_bytes = self.cache.bytes(),
			"loading model"
		);
		let mut host = Host::spawn(&self.hosts)
			.map_err(|error| failure(Reason::ExecutionError, format!("{error:#}")))?;
		let killer = host.killer();
		let loading = tokio::task::spawn_blocking(move || host.load(&bytes).map(|()| host));
		let host = match tokio::time::timeout(self.options.max_load, loading).await {
			Ok(Ok(Ok(host))) => host,
			Ok(Ok(Err(HostError::Model(why)))) => return Err(failure(Reason::InvalidModel, why)),
			Ok(Ok(Err(HostError::Died(why)))) => {
				self.metrics.job("host_died");
				return Err(failure(
					Reason::ExecutionError,
					format!("the model's process {why} while loading it"),
				));
			},
			Ok(Err(error)) => {
				return Err(failure(Reason::ExecutionError, format!("loader crashed: {error}")))
			},
			Err(_) => {
				killer.kill();
				self.metrics.job("host_killed");
				return Err(failure(
					Reason::ExecutionError,
					format!("loading the model took longer than {:?}", self.options.max_load),
				));
			},
		};
		let loaded = Loaded { host: Arc::new(tokio::sync::Mutex::new(host)), killer };
		let mut sessions = self
			.sessions
			.lock()
			.map_err(|_| failure(Reason::ExecutionError, "session cache poisoned"))?;
		let session = sessions.insert(hash, loaded, version.artifact.size);
		tracing::debug!(sessions = sessions.len(), bytes = sessions.bytes(), "session cached");
		Ok(session)
	}

	/// Runs one job: the canonical, rounded output of `version` on `input`, stopping the run
	/// at `deadline` (and after `max_execution` in any case).
	pub(crate) async fn execute(
		&self,
		version: &ModelVersion,
		input: &[u8],
		deadline: Option<Instant>,
	) -> Result<Prepared, Failure> {
		let inputs = TensorSet::decode_canonical(input, &tensor_io::local_limits())
			.map_err(|error| failure(Reason::InvalidInput, format!("{error:?}")))?;
		version
			.schema
			.check_inputs(&inputs)
			.map_err(|error| failure(Reason::InvalidInput, format!("{error:?}")))?;
		// A process that died under another job is replaced once.
		let mut outputs = match self.run_once(version, input, deadline).await {
			Err(Retry::Replaced) => match self.run_once(version, input, deadline).await {
				Err(Retry::Replaced) => {
					Err(failure(Reason::ExecutionError, "the model's process ended twice"))
				},
				Err(Retry::Failed(failed)) => Err(failed),
				Ok(outputs) => Ok(outputs),
			},
			Err(Retry::Failed(failed)) => Err(failed),
			Ok(outputs) => Ok(outputs),
		}?;
		if self.options.corrupt_outputs {
			for tensor in &mut outputs.tensors {
				tensor.data.iter_mut().for_each(|byte| *byte = 0);
			}
		}
		outputs.canonicalize_floats(version.output_rounding_bits);
		version
			.schema
			.check_outputs(&outputs)
			.map_err(|error| failure(Reason::ExecutionError, format!("output: {error:?}")))?;
		let output_hash = outputs.content_hash();
		Ok(Prepared { output: codec::Encode::encode(&outputs), output_hash })
	}

	/// One attempt at running `input` (a canonical tensor set) in the model's process, in an
	/// execution slot, stopped at `deadline`.
	async fn run_once(
		&self,
		version: &ModelVersion,
		input: &[u8],
		deadline: Option<Instant>,
	) -> Result<TensorSet, Retry> {
		let hash = version.artifact.hash;
		// Fetching and loading wait outside the execution slots.
		let loaded = self.session(version).await?;
		if self.options.fail_jobs {
			return Err(failure(Reason::ExecutionError, "test mode: every job fails").into());
		}
		let late = || {
			Retry::Failed(failure(
				Reason::ExecutionError,
				"no execution slot or model process came free in the time left to report in time",
			))
		};
		// Without a deadline (a reveal), waits are bounded only by `max_execution` runs.
		let until = |deadline: Option<Instant>| {
			tokio::time::Instant::from_std(
				deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400)),
			)
		};
		self.metrics.queue_depth.inc();
		let permit = tokio::time::timeout_at(until(deadline), self.permits.acquire()).await;
		self.metrics.queue_depth.dec();
		let Ok(permit) = permit else { return Err(late()) };
		let Ok(mut host) =
			tokio::time::timeout_at(until(deadline), loaded.host.clone().lock_owned()).await
		else {
			return Err(late());
		};
		if host.dead().is_some() {
			drop(host);
			self.unload(&hash, &loaded);
			return Err(Retry::Replaced);
		}
		self.metrics.running.inc();
		let started = Instant::now();
		let input = input.to_vec();
		let mut stop = started + self.options.max_execution;
		if let Some(deadline) = deadline {
			stop = stop.min(deadline);
		}
		let mut running = tokio::task::spawn_blocking(move || host.run(&input));
		let ran = match tokio::time::timeout_at(stop.into(), &mut running).await {
			Ok(ran) => ran,
			Err(_) => {
				// Past the budget: stop the process; the run then ends at once.
				loaded.killer.kill();
				self.metrics.job("host_killed");
				let _ = running.await;
				self.metrics.running.dec();
				self.unload(&hash, &loaded);
				return Err(failure(
					Reason::ExecutionError,
					format!(
						"the model ran for {:.1} s, past its time budget (the time left to report \
						 in time, at most {:?}); stopped",
						started.elapsed().as_secs_f64(),
						self.options.max_execution
					),
				)
				.into());
			},
		};
		self.metrics.running.dec();
		drop(permit);
		match ran {
			Ok(Ok(outputs)) => {
				self.metrics.execution_seconds.observe(started.elapsed().as_secs_f64());
				Ok(outputs)
			},
			Ok(Err(HostError::Model(why))) => Err(failure(Reason::ExecutionError, why).into()),
			Ok(Err(HostError::Died(why))) => {
				self.metrics.job("host_died");
				self.unload(&hash, &loaded);
				Err(failure(Reason::ExecutionError, format!("the model's process {why}")).into())
			},
			Err(error) => {
				Err(failure(Reason::ExecutionError, format!("executor crashed: {error}")).into())
			},
		}
	}

	/// This worker's attestation signature over `message`.
	pub(crate) fn attest(&self, message: &[u8]) -> [u8; 64] {
		self.attestor.sign(message).0
	}

	/// Counts a call served on the fast path.
	pub(crate) fn note_fast_call(&self) {
		self.metrics.job("fast_served");
	}

	fn salt(&self, genesis: &[u8; 32], request: u64) -> [u8; 32] {
		commitment_salt(&self.salt_secret, genesis, request)
	}
}

/// The salt of this worker's commitment for `request` on the chain `genesis`: secret, so no
/// one can test guesses of the output against the commitment, and deterministic, so a
/// restarted worker reveals with the salt it committed with.
fn commitment_salt(secret: &[u8; 32], genesis: &[u8; 32], request: u64) -> [u8; 32] {
	let mut preimage = b"opg:salt:v1".to_vec();
	preimage.extend_from_slice(secret);
	preimage.extend_from_slice(genesis);
	preimage.extend_from_slice(&request.to_le_bytes());
	sp_crypto_hashing::blake2_256(&preimage)
}

/// A job's inputs, read from the chain before it is queued.
struct Work {
	id: u64,
	request: Request,
	action: Action,
	/// The version and input, or why they could not be read.
	source: Result<(ModelVersion, Vec<u8>), Failure>,
	seen: Instant,
	/// How long the job may take and still have its failure report reach the chain before the
	/// deadline ([`time_budget`]).
	budget: Duration,
}

/// Blocks a failure report needs to be included before a deadline: the one it is sent in
/// and one more for slack. A deadline is handled at the start of its block, so a report must
/// be in an earlier block.
const REPORT_BLOCKS: u64 = 2;

/// The time a job seen at block `now` may take when its phase times out at block `deadline`,
/// with blocks every `block_time`: all but [`REPORT_BLOCKS`] blocks of what is left, so that
/// a worker that cannot finish in time still says so in time.
fn time_budget(now: u64, deadline: u64, block_time: Duration) -> Duration {
	let blocks = deadline.saturating_sub(now).saturating_sub(REPORT_BLOCKS);
	block_time.saturating_mul(u32::try_from(blocks).unwrap_or(u32::MAX))
}

/// What a job task tells the loop.
struct Finished {
	id: u64,
	action: Action,
	/// The transaction entered the pool.
	sent: bool,
	/// A failure was reported instead of a result.
	reported: bool,
	output_hash: Option<[u8; 32]>,
}

/// What the loop remembers about an open job.
#[derive(Default)]
struct Track {
	running: bool,
	/// The last action sent and the block it was sent at.
	sent: Option<(Action, u64)>,
	/// Sends of the current action.
	attempts: u32,
	attempts_of: Option<Action>,
	gave_up: bool,
	reported: bool,
	output_hash: Option<[u8; 32]>,
}

/// One connection's worth of serving.
struct Session {
	engine: Arc<Engine>,
	/// The fast path, when served.
	fast: Option<Arc<Fast>>,
	chain: Arc<Chain>,
	genesis: [u8; 32],
	max_output_len: u32,
	/// The chain's block time.
	block_time: Duration,
	/// Blocks per usage epoch.
	epoch_length: u64,
	tracks: HashMap<u64, Track>,
	done: mpsc::UnboundedSender<Finished>,
	block: u64,
	/// Jobs taken at once: the larger of `--max-jobs` + `--queue` and the capacity registered
	/// on chain, so every job the chain may assign at once is taken (and failed in time if it
	/// cannot run) rather than left to its deadline.
	pool: usize,
	/// Jobs assigned to this worker at the latest block.
	open: usize,
	/// Model versions the chain lists as ready on this worker at the latest block.
	declared: usize,
	/// Set once the worker is asked to stop: the time by which it stops even with jobs open.
	drain_until: Option<Instant>,
}

/// Waits for SIGINT or SIGTERM.
async fn stop_signal() -> std::io::Result<()> {
	use tokio::signal::unix::{signal, SignalKind};
	let mut terminate = signal(SignalKind::terminate())?;
	tokio::select! {
		interrupted = tokio::signal::ctrl_c() => interrupted,
		_ = terminate.recv() => Ok(()),
	}
}

/// Serves jobs from the node at `url` until the process is stopped, reconnecting (with
/// backoff up to 30 s) whenever the connection drops.
///
/// SIGINT or SIGTERM drains: the worker withdraws every model it declared ready, so the chain
/// assigns it nothing more, finishes the jobs already assigned to it (results, commitments,
/// reveals), and returns once none is left or `drain_timeout` has passed. A second signal
/// stops at once.
pub async fn serve(
	engine: Arc<Engine>,
	fast: Option<Arc<Fast>>,
	url: &str,
	signer: Keypair,
	drain_timeout: Duration,
) -> Result<()> {
	let (drain, stop) = tokio::sync::watch::channel(None::<Instant>);
	let mut signals = tokio::spawn(async move {
		if let Err(error) = stop_signal().await {
			tracing::error!("cannot listen for stop signals: {error}");
			return std::future::pending().await;
		}
		tracing::info!(
			timeout = ?drain_timeout,
			"stopping: withdrawing readiness and finishing the jobs already assigned \
			 (a second signal stops at once)"
		);
		let _ = drain.send(Some(Instant::now() + drain_timeout));
		if stop_signal().await.is_err() {
			std::future::pending::<()>().await;
		}
		// Keeps the sender alive until the second signal.
		drop(drain);
	});
	let mut delay = Duration::from_secs(1);
	loop {
		let started = Instant::now();
		let outcome = tokio::select! {
			outcome = serve_once(engine.clone(), fast.clone(), url, signer.clone(), stop.clone()) => outcome,
			_ = &mut signals => {
				tracing::warn!("stopped at once by a second signal");
				return Ok(());
			}
		};
		engine.status.set_connected(false);
		match outcome {
			Ok(()) => return Ok(()),
			Err(error) if error.downcast_ref::<Fatal>().is_some() => return Err(error),
			Err(error) => {
				if started.elapsed() > Duration::from_secs(60) {
					delay = Duration::from_secs(1);
				}
				if let Some(until) = *stop.borrow() {
					if Instant::now() + delay >= until {
						tracing::warn!("connection lost while draining: {error:#}; stopping");
						return Ok(());
					}
				}
				tracing::warn!("connection lost: {error:#}; reconnecting in {delay:?}");
				tokio::time::sleep(delay).await;
				delay = (delay * 2).min(Duration::from_secs(30));
			},
		}
	}
}

/// An error that reconnecting does not cure.
#[derive(Debug)]
pub struct Fatal(pub String);

impl std::fmt::Display for Fatal {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(&self.0)
	}
}

impl std::error::Error for Fatal {}

async fn serve_once(
	engine: Arc<Engine>,
	fast: Option<Arc<Fast>>,
	url: &str,
	signer: Keypair,
	mut stop: tokio::sync::watch::Receiver<Option<Instant>>,
) -> Result<()> {
	let mut chain = Chain::connect(url, signer).await?;
	chain.test_drops = engine.test_drops.clone();
	let chain = Arc::new(chain);
	let at = chain.finalized().await?;
	let Some(record) = chain.worker(&at).await? else {
		return Err(Fatal(format!(
			"0x{} is not a registered worker: run `modelhub-worker register` first",
			hex(&chain.account)
		))
		.into());
	};
	if record.attestation_key != engine.attestor.public_key().0 {
		return Err(Fatal(
			"the attestation key differs from the registered one: register it with `modelhub-worker register`"
				.into(),
		)
		.into());
	}
	if let chain::WorkerStatusField::Unbonding { until } = record.status {
		tracing::warn!(
			"this worker is unbonding (bond free from block {until}): it finishes its open jobs and gets no new ones"
		);
	}
	if record.meta.profile != engine.profile
		&& matches!(record.status, chain::WorkerStatusField::Active)
	{
		let meta = chain::WorkerMeta { profile: engine.profile, ..record.meta.clone() };
		let call = chain::update_worker(None, None, Some(meta));
		// The profile informs; a worker that cannot declare it (no funds for the fee, say)
		// still serves its jobs.
		match chain.submit_and_wait(&call, Duration::from_secs(120)).await {
			Ok(_) => tracing::info!(profile = ?engine.profile, "execution profile declared"),
			Err(error) => tracing::warn!("could not declare the execution profile: {error:#}"),
		}
	}
	let options = &engine.options;
	let local_pool = options.max_jobs.saturating_add(options.queue);
	let pool = local_pool.max(record.meta.capacity as usize).max(1);
	if pool > local_pool {
		tracing::info!(
			capacity = record.meta.capacity,
			max_jobs = options.max_jobs,
			"taking up to the registered capacity at once: {} run, the rest wait for a slot \
			 and are reported failed in time if none frees",
			options.max_jobs
		);
	}
	let max_output_len: u32 = Chain::constant(&at, "Inference", "MaxOutputLen")?;
	// Aura's slot is twice the timestamp pallet's minimum period.
	let minimum_period: u64 = Chain::constant(&at, "Timestamp", "MinimumPeriod")?;
	let block_time = Duration::from_millis(minimum_period.saturating_mul(2));
	let epoch_length: u32 = Chain::constant(&at, "Inference", "EpochLength")?;
	tracing::info!(
		account = %format!("0x{}", hex(&chain.account)),
		bond = record.bond,
		pending_jobs = record.pending_jobs,
		block = at.block_number(),
		"serving jobs"
	);
	engine.status.set_connected(true);
	if let Some(fast) = &fast {
		fast.advertise(&chain, &at).await;
	}
	let (done, mut finished) = mpsc::unbounded_channel();
	let mut session = Session {
		engine,
		fast,
		genesis: chain.genesis_hash(),
		chain: chain.clone(),
		max_output_len,
		block_time,
		epoch_length: u64::from(epoch_length).max(1),
		tracks: HashMap::new(),
		done,
		block: at.block_number(),
		pool,
		open: 0,
		declared: 0,
		drain_until: *stop.borrow_and_update(),
	};
	let mut blocks = if session.engine.options.follow_best {
		chain.api.stream_best_blocks().await?
	} else {
		chain.api.stream_blocks().await?
	};
	session.step(&at).await?;
	let mut signalled = true;
	loop {
		if session.drain_until.is_some() {
			session.engine.status.set_draining();
		}
		if session.drained() {
			return Ok(());
		}
		let drain_deadline = async {
			match session.drain_until {
				Some(until) => tokio::time::sleep_until(until.into()).await,
				None => std::future::pending().await,
			}
		};
		tokio::select! {
			block = blocks.next() => match block {
				Some(Ok(block)) => {
					let at = block.at().await?;
					session.step(&at).await?;
				},
				Some(Err(error)) => bail!("following blocks: {error}"),
				None => bail!("the node closed the block subscription"),
			},
			Some(message) = finished.recv() => session.finish(message),
			changed = stop.changed(), if signalled => match changed {
				Ok(()) => session.drain_until = *stop.borrow_and_update(),
				Err(_) => signalled = false,
			},
			_ = drain_deadline => {
				let running = session.tracks.values().filter(|track| track.running).count();
				tracing::warn!(
					open = session.open,
					running,
					"drain timed out: stopping with jobs open"
				);
				return Ok(());
			},
		}
	}
}

impl Session {
	/// Whether the worker was asked to stop and has nothing left to do: no readiness declared
	/// and no job assigned at the latest block, and none running.
	fn drained(&self) -> bool {
		let done = self.drain_until.is_some()
			&& self.open == 0
			&& self.declared == 0
			&& !self.tracks.values().any(|track| track.running);
		if done {
			tracing::info!("drained: every job assigned to this worker has ended; stopping");
		}
		done
	}

	/// Looks at every job still assigned at `at` and starts what each one needs.
	async fn step(&mut self, at: &chain::AtBlock) -> Result<()> {
		self.block = at.block_number();
		self.engine.block.store(self.block, Ordering::Relaxed);
		self.engine.status.saw_block(self.block);
		// Readiness informs selection; a review that fails is tried again at the next block
		// and does not hold up the jobs.
		let declared = match self.review(at).await {
			Ok(declared) => Some(declared),
			Err(error) => {
				tracing::warn!("reviewing the models held ready: {error:#}");
				None
			},
		};
		if let Some(fast) = &self.fast {
			fast.on_block(&self.chain, at, declared.as_deref()).await;
		}
		let assigned = self.chain.assignments(at).await?;
		self.open = assigned.len();
		let open: HashSet<u64> = assigned.iter().copied().collect();
		let ended: Vec<u64> = self
			.tracks
			.iter()
			.filter(|(id, track)| !open.contains(id) && !track.running)
			.map(|(id, _)| *id)
			.collect();
		for id in ended {
			if let Some(track) = self.tracks.remove(&id) {
				self.ended(at, id, track).await;
			}
		}
		let options = &self.engine.options;
		let mut busy = self.tracks.values().filter(|track| track.running).count();
		for id in assigned {
			if busy >= self.pool {
				tracing::debug!(busy, "pool full: later jobs wait for the next block");
				break;
			}
			if self.tracks.get(&id).is_some_and(|track| track.running) {
				continue;
			}
			let Some(request) = self.chain.request(at, id).await? else { continue };
			let Some(slot) = request.slot_of(&self.chain.account) else { continue };
			let Some(action) = Action::wanted(request.phase, slot) else { continue };
			tracing::debug!(request = id, phase = ?request.phase, deadline = request.deadline, "open job");
			let track = self.tracks.entry(id).or_default();
			if let Some((sent, block)) = track.sent {
				if sent == action && self.block < block + options.resubmit_after {
					continue;
				}
			}
			if track.attempts_of != Some(action) {
				track.attempts_of = Some(action);
				track.attempts = 0;
			}
			if track.attempts >= options.max_attempts {
				if !track.gave_up {
					track.gave_up = true;
					tracing::warn!(
						request = id,
						action = action.name(),
						"giving up after {} sends",
						track.attempts
					);
					if action != Action::Reveal {
						track.reported = true;
						let (engine, chain) = (self.engine.clone(), self.chain.clone());
						tokio::spawn(async move {
							report(&engine, &chain, id, Reason::ExecutionError).await;
						});
					}
				}
				continue;
			}
			track.attempts += 1;
			track.running = true;
			busy += 1;
			let source = self.source(at, id, &request).await;
			let budget = time_budget(self.block, u64::from(request.deadline), self.block_time);
			let work = Work { id, request, action, source, seen: Instant::now(), budget };
			let engine = self.engine.clone();
			let chain = self.chain.clone();
			let done = self.done.clone();
			let (genesis, max_output_len) = (self.genesis, self.max_output_len);
			tokio::spawn(async move {
				let finished = run_job(engine, chain, genesis, max_output_len, work).await;
				let _ = done.send(finished);
			});
		}
		Ok(())
	}

	/// Decides which model versions to hold ready at `at`, starts preparing the missing ones
	/// and withdraws the declarations no longer wanted. Returns the declarations the chain
	/// lists at `at`.
	async fn review(&mut self, at: &chain::AtBlock) -> Result<Vec<readiness::Key>> {
		let active = self
			.chain
			.worker(at)
			.await?
			.is_some_and(|record| matches!(record.status, chain::WorkerStatusField::Active));
		let declared = self.chain.readiness(at).await?;
		self.declared = declared.len();
		let mut versions = HashMap::new();
		// Best first, so the most called models are prepared first.
		let mut wanted: Vec<readiness::Key> = Vec::new();
		// A draining worker wants nothing: every declaration is withdrawn.
		if active && self.drain_until.is_none() {
			let options = &self.engine.options;
			let epoch = u32::try_from(self.block / self.epoch_length).unwrap_or(u32::MAX);
			let calls = self.chain.epoch_calls(at, epoch).await?;
			let models = self.chain.models(at).await?;
			// What is declared ready stays loaded and declared: the wanted versions fit the
			// session cache (count and bytes) as well as the artifact cache, and the chain's
			// own bound on declarations, or preparing one would push another out and the two
			// would be prepared in turn forever.
			let chain_most: u32 = Chain::constant(at, "Verification", "MaxReadyModels")?;
			let most = options
				.max_ready
				.min(options.max_sessions)
				.min(usize::try_from(chain_most).unwrap_or(usize::MAX));
			let byte_budget = options.max_cache_bytes.min(options.max_session_bytes);
			let mut bytes = 0u64;
			for (model, number) in readiness::ranked(&models, &calls) {
				if versions.len() >= most {
					break;
				}
				let Some(version) = self.chain.model_version(at, model, number).await? else {
					continue;
				};
				let size = version.artifact.size;
				if bytes.saturating_add(size) > byte_budget {
					continue;
				}
				bytes = bytes.saturating_add(size);
				wanted.push((model, number));
				versions.insert((model, number), version);
			}
		}
		let plan = self
			.engine
			.readiness
			.lock()
			.map_err(|_| anyhow!("readiness state poisoned"))?
			.plan(self.block, &wanted, &declared, self.engine.options.resubmit_after);
		for (model, number) in plan.withdraw {
			let (engine, chain) = (self.engine.clone(), self.chain.clone());
			tokio::spawn(async move {
				match chain.submit(&chain::withdraw_ready(model, number)).await {
					Ok(_) => tracing::info!(model, version = number, "no longer held ready"),
					Err(error) => tracing::warn!(model, "withdrawing readiness: {error:#}"),
				}
				let block = engine.block.load(Ordering::Relaxed);
				if let Ok(mut state) = engine.readiness.lock() {
					state.withdrawn((model, number), block);
				}
			});
		}
		for key in plan.prepare {
			let Some(version) = versions.remove(&key) else { continue };
			let (engine, chain) = (self.engine.clone(), self.chain.clone());
			tokio::spawn(async move { prepare(&engine, &chain, key, version).await });
		}
		Ok(declared)
	}

	/// The model version and input of `request`, read at `at`.
	async fn source(
		&self,
		at: &chain::AtBlock,
		id: u64,
		request: &Request,
	) -> Result<(ModelVersion, Vec<u8>), Failure> {
		let unavailable =
			|error: anyhow::Error| failure(Reason::ModelUnavailable, format!("{error:#}"));
		let version = self
			.chain
			.model_version(at, request.model, request.version)
			.await
			.map_err(unavailable)?
			.ok_or_else(|| {
				failure(Reason::ModelUnavailable, "the model version is not on chain")
			})?;
		if version.artifact.hash != request.artifact_hash {
			return Err(failure(Reason::ArtifactHashMismatch, "the version's artifact changed"));
		}
		let input = self
			.chain
			.input(at, id)
			.await
			.map_err(|error| failure(Reason::InvalidInput, format!("{error:#}")))?
			.ok_or_else(|| failure(Reason::InvalidInput, "the request has no input on chain"))?;
		Ok((version, input))
	}

	/// Records what a job task did.
	fn finish(&mut self, message: Finished) {
		let Some(track) = self.tracks.get_mut(&message.id) else { return };
		track.running = false;
		track.reported |= message.reported;
		if message.output_hash.is_some() {
			track.output_hash = message.output_hash;
		}
		track.sent = message.sent.then_some((message.action, self.block));
	}

	/// Logs and counts how a job this worker had ended.
	async fn ended(&self, at: &chain::AtBlock, id: u64, track: Track) {
		let outcome = match self.chain.result(at, id).await {
			Ok(Some(record)) => match record.outcome {
				Outcome::Settled { output_hash } if Some(output_hash) == track.output_hash => {
					"settled"
				},
				Outcome::Settled { .. } if track.reported => "failure_reported",
				Outcome::Settled { .. } => "outvoted",
				Outcome::Refunded { .. } => "refunded",
			},
			_ => "ended",
		};
		if let Ok(mut map) = self.engine.committed.lock() {
			map.remove(&id);
		}
		tracing::info!(request = id, outcome, "job ended");
		self.engine.metrics.job(outcome);
	}
}

/// Fetches and loads `version` (model and version number `key`) and, once it is loaded,
/// declares it ready on chain.
async fn prepare(engine: &Engine, chain: &Chain, key: readiness::Key, version: ModelVersion) {
	let (model, number) = key;
	let started = Instant::now();
	let ready = match engine.session(&version).await {
		Ok(_) => match chain.submit(&chain::declare_ready(model, number)).await {
			Ok(_) => {
				tracing::info!(
					model,
					version = number,
					seconds = started.elapsed().as_secs_f64(),
					"model loaded and declared ready"
				);
				true
			},
			Err(error) => {
				tracing::warn!(model, version = number, "declaring readiness: {error:#}");
				false
			},
		},
		Err(failure) => {
			tracing::warn!(
				model,
				version = number,
				reason = failure.reason.name(),
				"cannot hold the model ready (retrying in {} blocks): {}",
				readiness::RETRY_BLOCKS,
				failure.detail
			);
			false
		},
	};
	let block = engine.block.load(Ordering::Relaxed);
	if let Ok(mut state) = engine.readiness.lock() {
		state.prepared(key, block, ready);
	}
}

/// Tells the chain this worker cannot run its job in `request`, for `reason`, counting the
/// outcome; whether the report entered the pool.
async fn report(engine: &Engine, chain: &Chain, request: u64, reason: Reason) -> bool {
	match chain.submit(&chain::report_failure(request, reason)).await {
		Ok(_) => {
			engine.metrics.job("failure_reported");
			true
		},
		Err(error) => {
			engine.metrics.job("submit_error");
			tracing::warn!(request, "reporting the failure: {error:#}");
			false
		},
	}
}

/// Has `version` loaded, then waits for one of the `--max-jobs` slots and runs it on `input`.
async fn run_in_slot(
	engine: &Engine,
	version: &ModelVersion,
	input: &[u8],
	deadline: Option<Instant>,
) -> Result<Prepared, Failure> {
	engine.execute(version, input, deadline).await
}

/// Waits for a job slot and runs `version` on `input`, or fails when `budget` runs out first:
/// with `ModelUnavailable` while the model is still being fetched or loaded, otherwise with
/// `ExecutionError`. The fetch and load go on in the background, so later jobs find the model
/// ready.
async fn within_budget(
	engine: &Arc<Engine>,
	version: ModelVersion,
	input: Vec<u8>,
	budget: Duration,
) -> Result<Prepared, Failure> {
	let hash = version.artifact.hash;
	let runner = engine.clone();
	let deadline = Instant::now() + budget;
	let job =
		tokio::spawn(async move { run_in_slot(&runner, &version, &input, Some(deadline)).await });
	match tokio::time::timeout(budget, job).await {
		Ok(Ok(prepared)) => prepared,
		Ok(Err(error)) => Err(failure(Reason::ExecutionError, format!("job crashed: {error}"))),
		Err(_) => {
			let loaded = engine.sessions.lock().is_ok_and(|sessions| sessions.contains(&hash));
			let reason = if loaded { Reason::ExecutionError } else { Reason::ModelUnavailable };
			let what = if loaded { "running it" } else { "fetching and loading the model" };
			Err(failure(
				reason,
				format!("{what} did not finish within {budget:?}, the time left to report in time"),
			))
		},
	}
}

/// Runs one job to the transaction it calls for.
async fn run_job(
	engine: Arc<Engine>,
	chain: Arc<Chain>,
	genesis: [u8; 32],
	max_output_len: u32,
	work: Work,
) -> Finished {
	let Work { id, request, action, source, seen, budget } = work;
	let mut finished = Finished { id, action, sent: false, reported: false, output_hash: None };
	let remembered = match action {
		Action::Reveal => engine.committed.lock().ok().and_then(|mut map| map.remove(&id)),
		_ => None,
	};
	let prepared = match (remembered, source) {
		(Some(prepared), _) => Ok(prepared),
		(None, Ok((version, input))) if action == Action::Reveal => {
			// A committed worker can only reveal: no budget, nothing to report instead.
			run_in_slot(&engine, &version, &input, None).await
		},
		(None, Ok((version, input))) => within_budget(&engine, version, input, budget).await,
		(None, Err(failure)) => Err(failure),
	};
	let prepared = prepared.and_then(|prepared| {
		if prepared.output.len() > max_output_len as usize {
			Err(failure(
				Reason::ExecutionError,
				format!("output of {} bytes exceeds {max_output_len}", prepared.output.len()),
			))
		} else {
			Ok(prepared)
		}
	});
	let prepared = match prepared {
		Ok(prepared) => prepared,
		Err(failure) => {
			if action == Action::Reveal {
				// A committed worker cannot take its job back; it can only fail to reveal.
				tracing::error!(
					request = id,
					"cannot recompute the committed output: {}",
					failure.detail
				);
				return finished;
			}
			tracing::warn!(
				request = id,
				reason = failure.reason.name(),
				"job failed: {}",
				failure.detail
			);
			let reported = report(&engine, &chain, id, failure.reason).await;
			finished.sent = reported;
			finished.reported = reported;
			return finished;
		},
	};
	finished.output_hash = Some(prepared.output_hash);
	let attestation = Attestation {
		genesis_hash: genesis,
		request: id,
		artifact_hash: request.artifact_hash,
		input_hash: request.input_hash,
		output_hash: prepared.output_hash,
		worker: chain.account,
	};
	let signature = engine.attestor.sign(&attestation.message()).0;
	let sent = match action {
		Action::Submit => chain.submit(&chain::submit_result(id, prepared.output, signature)).await,
		Action::Commit => {
			let salt = engine.salt(&genesis, id);
			let commitment = result_commitment(id, &prepared.output_hash, &salt, &chain.account);
			if let Ok(mut map) = engine.committed.lock() {
				// Bounded by the jobs assigned at once; a restart forgets and recomputes.
				map.insert(id, prepared.clone());
			}
			chain.submit(&chain::commit_result(id, commitment)).await
		},
		Action::Reveal => {
			let salt = engine.salt(&genesis, id);
			chain.submit(&chain::reveal_result(id, prepared.output, salt, signature)).await
		},
	};
	match sent {
		Ok(hash) => {
			let outcome = match action {
				Action::Submit => "submitted",
				Action::Commit => "committed",
				Action::Reveal => "revealed",
			};
			engine.metrics.job(outcome);
			engine
				.metrics
				.job_seconds
				.with_label_values(&[action.name()])
				.observe(seen.elapsed().as_secs_f64());
			tracing::info!(
				request = id,
				action = action.name(),
				output_hash = %format!("0x{}", hex(&prepared.output_hash)),
				transaction = %format!("{hash:?}"),
				"sent"
			);
			finished.sent = true;
		},
		Err(error) => {
			engine.metrics.job("submit_error");
			tracing::warn!(request = id, action = action.name(), "sending failed: {error:#}");
		},
	}
	finished
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_core::{sr25519, Pair};

	#[test]
	fn a_job_leaves_two_blocks_to_report_before_its_deadline() {
		let block = Duration::from_secs(6);
		assert_eq!(time_budget(100, 110, block), Duration::from_secs(48));
		assert_eq!(time_budget(100, 102, block), Duration::ZERO);
		// Seen late, or after the deadline: report at once.
		assert_eq!(time_budget(100, 101, block), Duration::ZERO);
		assert_eq!(time_budget(120, 110, block), Duration::ZERO);
	}

	#[test]
	fn the_chain_state_decides_the_action() {
		let output = [1; 32];
		assert_eq!(Action::wanted(Phase::Running, SlotState::Assigned), Some(Action::Submit));
		assert_eq!(Action::wanted(Phase::Commit, SlotState::Assigned), Some(Action::Commit));
		assert_eq!(
			Action::wanted(Phase::Reveal, SlotState::Committed(output)),
			Some(Action::Reveal)
		);
		for (phase, slot) in [
			(Phase::Running, SlotState::Revealed(output)),
			(Phase::Commit, SlotState::Committed(output)),
			(Phase::Reveal, SlotState::Assigned),
			(Phase::Reveal, SlotState::Revealed(output)),
			(Phase::Commit, SlotState::Failed(Reason::InvalidInput)),
			(Phase::Running, SlotState::Absent),
		] {
			assert_eq!(Action::wanted(phase, slot), None, "{phase:?} {slot:?}");
		}
	}

	/// The attestation a worker signs verifies the way the runtime checks it
	/// (`sp_io::crypto::sr25519_verify`, which is `sp_core::sr25519::Pair::verify`), under the
	/// public key it registers, and not for any other request or output.
	#[test]
	fn attestation_signatures_verify_as_the_runtime_checks_them() {
		let uri: subxt_signer::SecretUri = "//Dave".parse().expect("uri");
		let attestor = Keypair::from_uri(&uri).expect("key");
		let public = sr25519::Public::from_raw(attestor.public_key().0);
		assert_eq!(public, sr25519::Pair::from_string("//Dave", None).expect("pair").public());
		let attestation = Attestation {
			genesis_hash: [1; 32],
			request: 7,
			artifact_hash: [2; 32],
			input_hash: [3; 32],
			output_hash: [4; 32],
			worker: attestor.public_key().0,
		};
		let message = attestation.message();
		assert_eq!(message.len(), 186);
		let signature = sr25519::Signature::from_raw(attestor.sign(&message).0);
		assert!(sr25519::Pair::verify(&signature, &message, &public));
		let other = Attestation { request: 8, ..attestation.clone() };
		assert!(!sr25519::Pair::verify(&signature, other.message(), &public));
		let other = Attestation { output_hash: [5; 32], ..attestation };
		assert!(!sr25519::Pair::verify(&signature, other.message(), &public));
	}

	#[test]
	fn salts_are_deterministic_per_chain_and_request_and_secret() {
		let engine_salt = |secret, genesis, request| commitment_salt(&secret, &genesis, request);
		let salt = engine_salt([1; 32], [2; 32], 3);
		assert_eq!(salt, engine_salt([1; 32], [2; 32], 3));
		assert_ne!(salt, engine_salt([1; 32], [2; 32], 4));
		assert_ne!(salt, engine_salt([9; 32], [2; 32], 3));
		assert_ne!(salt, engine_salt([1; 32], [9; 32], 3));
	}
}

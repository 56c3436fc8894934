//! The fast path (`docs/fast-path.md`): calls paid by vouchers and answered at once with an
//! attested output, and the latest voucher of each channel settled on chain in batches.
//!
//! A call is served only with the voucher that pays for it: the channel's latest voucher (the
//! worker's, or what the chain settled) plus exactly this call at the model's current price and
//! execution fee, signed by the channel's payer, within its deposit. Calls of one channel are
//! served one at a time, in voucher order; channels run in parallel. The latest voucher of each
//! channel is written to disk before the answer leaves, so a restarted worker still settles
//! every call it served.

use crate::{
	artifacts::hex0x,
	chain::{self, AtBlock, Chain, ChannelRecord, ModelVersion},
	worker::Engine,
};
use anyhow::{Context, Result};
use codec::{Decode, Encode};
use jsonrpsee::{
	server::{Server, ServerHandle},
	types::{ErrorObjectOwned, Params},
	RpcModule,
};
use modelhub_primitives::channel::{FastAttestation, Voucher, VoucherEntry};
use serde::Deserialize;
use serde_json::{json, Value};
use sp_runtime::{traits::Verify, AccountId32, MultiSignature};
use std::{
	collections::HashMap,
	net::SocketAddr,
	path::PathBuf,
	sync::{Arc, Mutex, RwLock},
	time::{Duration, Instant},
};

/// How the fast path serves and settles.
#[derive(Clone, Debug)]
pub struct FastOptions {
	/// Where the JSON-RPC server listens (HTTP and WebSocket on one port).
	pub listen: SocketAddr,
	/// The URL advertised on chain (`Channels::set_endpoint`); none advertises nothing.
	pub endpoint: Option<String>,
	/// Settle a channel once this many of its calls are unsettled.
	pub settle_calls: u64,
	/// Settle a channel's calls at most this long after the first unsettled one.
	pub settle_after: Duration,
	/// Where the latest voucher of each channel is kept.
	pub state_dir: PathBuf,
	/// Most time one call may run.
	pub call_timeout: Duration,
	/// Test only: keep each call's voucher and never answer.
	pub silent: bool,
}

/// JSON-RPC error codes of the fast path.
pub mod codes {
	/// The worker does not hold the model ready, or the model cannot be called.
	pub const MODEL_NOT_READY: i32 = 22001;
	/// No channel has this id.
	pub const CHANNEL_NOT_FOUND: i32 = 22002;
	/// The channel pays another worker.
	pub const CHANNEL_NOT_FOR_THIS_WORKER: i32 = 22003;
	/// The channel is closing or expired.
	pub const CHANNEL_NOT_OPEN: i32 = 22004;
	/// The voucher pays no more calls than the worker's latest.
	pub const VOUCHER_STALE: i32 = 22005;
	/// The voucher is not the latest plus exactly this call at the current terms.
	pub const VOUCHER_NOT_NEXT: i32 = 22006;
	/// The voucher pays more than the channel holds.
	pub const VOUCHER_ABOVE_DEPOSIT: i32 = 22007;
	/// The channel's payer did not sign the voucher.
	pub const VOUCHER_BAD_SIGNATURE: i32 = 22008;
	/// The input is not a canonical tensor set fitting the model's inputs.
	pub const INVALID_INPUT: i32 = 22009;
	/// The model failed to run.
	pub const EXECUTION_FAILED: i32 = 22010;
	/// A parameter is not what the method takes.
	pub const INVALID_PARAMS: i32 = 22011;
	/// The worker is not connected to the chain yet.
	pub const NOT_CONNECTED: i32 = 22012;
}

fn error(
	code: i32,
	name: &str,
	message: impl Into<String>,
	data: Option<Value>,
) -> ErrorObjectOwned {
	let mut detail = json!({ "error": name });
	if let (Some(Value::Object(extra)), Some(object)) = (data, detail.as_object_mut()) {
		object.extend(extra);
	}
	ErrorObjectOwned::owned(code, message.into(), Some(detail))
}

fn unhex(text: &str, what: &str) -> Result<Vec<u8>, ErrorObjectOwned> {
	crate::artifacts::unhex(text).ok_or_else(|| {
		error(codes::INVALID_PARAMS, "invalidParams", format!("{what} is not hex"), None)
	})
}

/// What the chain says of the models this worker serves, at the latest block.
#[derive(Default)]
struct View {
	genesis: [u8; 32],
	block: u32,
	/// The current version of each model this worker holds ready.
	models: HashMap<u64, (u32, Arc<ModelVersion>)>,
}

/// A channel as this worker serves it.
struct ChannelState {
	/// The chain's record, as of `read_at`.
	record: Option<ChannelRecord>,
	read_at: u32,
	/// The latest voucher this worker accepted and its signature.
	latest: Option<(Voucher<u128>, MultiSignature)>,
	/// When the oldest unsettled call was served.
	unsettled_since: Option<Instant>,
	/// When a settlement of `calls` calls was last sent, by block.
	sent: Option<(u64, u32)>,
	/// When the channel last served a call.
	used: Instant,
}

impl ChannelState {
	/// What the chain has settled, as a voucher.
	fn settled(record: &ChannelRecord, channel: u64) -> Voucher<u128> {
		let entries: Vec<VoucherEntry<u128>> = record
			.settled
			.iter()
			.map(|entry| VoucherEntry {
				model: entry.model,
				price: entry.price,
				execution: entry.execution,
				calls: entry.calls,
			})
			.collect();
		let total = Voucher::sums(&entries).map_or(0, |(_, total)| total);
		Voucher {
			channel,
			calls: record.settled_calls,
			total,
			entries: entries.try_into().unwrap_or_default(),
		}
	}

	/// The voucher the next call must follow: the worker's latest, or what the chain settled
	/// if that counts more calls.
	fn baseline(&self, channel: u64) -> Voucher<u128> {
		let settled = self.record.as_ref().map(|record| Self::settled(record, channel));
		match (&self.latest, settled) {
			(Some((latest, _)), Some(settled)) if settled.calls > latest.calls => settled,
			(Some((latest, _)), _) => latest.clone(),
			(None, Some(settled)) => settled,
			(None, None) => Voucher::empty(channel),
		}
	}

	/// Calls served and not yet settled on chain.
	fn unsettled(&self) -> u64 {
		let settled = self.record.as_ref().map_or(0, |record| record.settled_calls);
		self.latest.as_ref().map_or(0, |(latest, _)| latest.calls.saturating_sub(settled))
	}
}

/// `(block read at, royalty, execution fee)` of one call.
type CallFee = (u32, u128, u128);

/// The fast path's state, shared by the JSON-RPC server and the block loop.
pub struct Fast {
	engine: Arc<Engine>,
	options: FastOptions,
	account: [u8; 32],
	view: RwLock<View>,
	chain: RwLock<Option<Arc<Chain>>>,
	/// The latest block the worker follows (its best block, unless it follows finalized ones).
	at: RwLock<Option<AtBlock>>,
	channels: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<ChannelState>>>>,
	/// The fee of a call by model and input length, as read at a block.
	fees: Mutex<HashMap<(u64, u32), CallFee>>,
}

/// How long a channel with nothing unsettled stays in memory after its last call.
const IDLE_CHANNEL: Duration = Duration::from_secs(600);

/// Blocks after which a settlement that did not land is sent again.
const RESEND_AFTER: u32 = 3;

/// Bounds of how often settlements are looked for between blocks.
const TIMER_MIN: Duration = Duration::from_millis(250);
const TIMER_MAX: Duration = Duration::from_secs(2);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InferParams {
	model: u64,
	input: String,
	voucher: String,
	signature: String,
}

impl Fast {
	/// The fast path of `engine`'s worker `account`.
	pub fn new(engine: Arc<Engine>, options: FastOptions, account: [u8; 32]) -> Result<Arc<Self>> {
		std::fs::create_dir_all(&options.state_dir)
			.with_context(|| format!("creating {}", options.state_dir.display()))?;
		Ok(Arc::new(Self {
			engine,
			options,
			account,
			view: Default::default(),
			chain: Default::default(),
			at: Default::default(),
			channels: Default::default(),
			fees: Default::default(),
		}))
	}

	/// Starts the JSON-RPC server.
	pub async fn serve(self: &Arc<Self>) -> Result<ServerHandle> {
		let server = Server::builder()
			.max_request_body_size(16 * 1024 * 1024)
			.max_response_body_size(16 * 1024 * 1024)
			.max_connections(1_024)
			.build(self.options.listen)
			.await
			.with_context(|| format!("listening on {}", self.options.listen))?;
		let address = server.local_addr()?;
		let mut module = RpcModule::new(self.clone());
		module
			.register_async_method("fast_infer", |params: Params<'static>, fast, _| async move {
				fast.infer(params).await
			})?;
		module.register_method("fast_info", |_, fast, _| fast.info())?;
		module.register_async_method(
			"fast_quote",
			|params: Params<'static>, fast, _| async move {
				let (model, input_len): (u64, u32) = params.parse()?;
				let (price, execution) = fast.fee(model, input_len).await?;
				Ok::<_, ErrorObjectOwned>(json!({
					"model": model,
					"price": price.to_string(),
					"execution": execution.to_string(),
				}))
			},
		)?;
		module.register_async_method(
			"fast_latest",
			|params: Params<'static>, fast, _| async move {
				let (channel,): (u64,) = params.parse()?;
				fast.latest(channel).await
			},
		)?;
		tracing::info!(%address, "serving fast calls (JSON-RPC over HTTP and WebSocket)");
		let handle = server.start(module);
		let timer = tokio::spawn(self.clone().settle_timer());
		let stopped = handle.clone();
		tokio::spawn(async move {
			stopped.stopped().await;
			timer.abort();
		});
		Ok(handle)
	}

	fn info(&self) -> Value {
		let view = self.view.read().map(|view| {
			let models: Vec<Value> = view
				.models
				.iter()
				.map(|(model, (number, version))| {
					json!({
						"model": model,
						"version": number,
						"artifactHash": hex0x(&version.artifact.hash),
					})
				})
				.collect();
			(view.genesis, view.block, models)
		});
		let (genesis, block, models) = view.unwrap_or_default();
		json!({
			"worker": hex0x(&self.account),
			"genesisHash": hex0x(&genesis),
			"block": block,
			"models": models,
		})
	}

	fn chain(&self) -> Result<Arc<Chain>, ErrorObjectOwned> {
		self.chain.read().ok().and_then(|chain| chain.clone()).ok_or_else(|| {
			error(
				codes::NOT_CONNECTED,
				"notConnected",
				"the worker is not connected to a node",
				None,
			)
		})
	}

	/// The latest block the worker has seen, or the node's finalized one before the first.
	async fn latest_block(&self, chain: &Chain) -> Result<AtBlock, ErrorObjectOwned> {
		if let Some(at) = self.at.read().ok().and_then(|at| at.clone()) {
			return Ok(at);
		}
		chain
			.finalized()
			.await
			.map_err(|e| error(codes::NOT_CONNECTED, "notConnected", format!("{e:#}"), None))
	}

	/// The royalty and execution fee of one call of `model` on `input_len` bytes now.
	async fn fee(&self, model: u64, input_len: u32) -> Result<(u128, u128), ErrorObjectOwned> {
		let block = self.view.read().map(|view| view.block).unwrap_or_default();
		if let Some((at, price, execution)) =
			self.fees.lock().ok().and_then(|fees| fees.get(&(model, input_len)).copied())
		{
			if at == block {
				return Ok((price, execution));
			}
		}
		let chain = self.chain()?;
		let unavailable = |why: String| error(codes::MODEL_NOT_READY, "modelNotReady", why, None);
		let at = self.latest_block(&chain).await?;
		let (price, execution) = chain
			.call_fee(&at, model, input_len)
			.await
			.map_err(|e| unavailable(format!("{e:#}")))?
			.ok_or_else(|| unavailable(format!("model {model} cannot be called")))?;
		if let Ok(mut fees) = self.fees.lock() {
			fees.insert((model, input_len), (block, price, execution));
		}
		Ok((price, execution))
	}

	/// The state of `channel`, read from the chain and the worker's disk on first use.
	async fn channel(
		&self,
		channel: u64,
	) -> Result<Arc<tokio::sync::Mutex<ChannelState>>, ErrorObjectOwned> {
		let state = {
			let mut channels = self
				.channels
				.lock()
				.map_err(|_| error(codes::EXECUTION_FAILED, "internal", "state poisoned", None))?;
			channels
				.entry(channel)
				.or_insert_with(|| {
					Arc::new(tokio::sync::Mutex::new(ChannelState {
						record: None,
						read_at: 0,
						latest: self.load(channel),
						unsettled_since: None,
						sent: None,
						used: Instant::now(),
					}))
				})
				.clone()
		};
		let mut guard = state.lock().await;
		if guard.record.is_none() {
			let chain = self.chain()?;
			let at = chain
				.finalized()
				.await
				.map_err(|e| error(codes::NOT_CONNECTED, "notConnected", format!("{e:#}"), None))?;
			let record = chain
				.channel(&at, channel)
				.await
				.map_err(|e| error(codes::NOT_CONNECTED, "notConnected", format!("{e:#}"), None))?;
			guard.read_at = at.block_number() as u32;
			guard.record = record;
			if guard.unsettled() > 0 {
				guard.unsettled_since.get_or_insert_with(Instant::now);
			}
		}
		drop(guard);
		Ok(state)
	}

	fn voucher_path(&self, channel: u64) -> PathBuf {
		self.options.state_dir.join(format!("channel-{channel}.voucher"))
	}

	/// The latest voucher of `channel` kept on disk.
	fn load(&self, channel: u64) -> Option<(Voucher<u128>, MultiSignature)> {
		let bytes = std::fs::read(self.voucher_path(channel)).ok()?;
		<(Voucher<u128>, MultiSignature)>::decode(&mut &bytes[..]).ok()
	}

	/// Keeps `voucher` as `channel`'s latest on disk (written beside, then renamed over).
	fn store(
		&self,
		channel: u64,
		voucher: &Voucher<u128>,
		signature: &MultiSignature,
	) -> Result<()> {
		let path = self.voucher_path(channel);
		let partial = path.with_extension("partial");
		std::fs::write(&partial, (voucher, signature).encode())?;
		std::fs::rename(&partial, &path)?;
		Ok(())
	}

	async fn latest(&self, channel: u64) -> Result<Value, ErrorObjectOwned> {
		let state = self.channel(channel).await?;
		let state = state.lock().await;
		if state.record.is_none() && state.latest.is_none() {
			return Err(error(
				codes::CHANNEL_NOT_FOUND,
				"channelNotFound",
				format!("no channel {channel}"),
				None,
			));
		}
		let baseline = state.baseline(channel);
		let signature = state
			.latest
			.as_ref()
			.filter(|(latest, _)| latest.calls == baseline.calls)
			.map(|(_, signature)| hex0x(&signature.encode()));
		Ok(json!({
			"channel": channel,
			"voucher": hex0x(&baseline.encode()),
			"signature": signature,
			"calls": baseline.calls,
			"total": baseline.total.to_string(),
			"settledCalls": state.record.as_ref().map(|record| record.settled_calls),
		}))
	}

	/// Serves one paid call.
	async fn infer(&self, params: Params<'static>) -> Result<Value, ErrorObjectOwned> {
		let params: InferParams = params.parse()?;
		let input = unhex(&params.input, "input")?;
		let voucher_bytes = unhex(&params.voucher, "voucher")?;
		let signature_bytes = unhex(&params.signature, "signature")?;
		let bad = |what: &str| {
			error(codes::INVALID_PARAMS, "invalidParams", format!("{what} does not decode"), None)
		};
		let voucher =
			Voucher::<u128>::decode(&mut &voucher_bytes[..]).map_err(|_| bad("voucher"))?;
		let signature =
			MultiSignature::decode(&mut &signature_bytes[..]).map_err(|_| bad("signature"))?;
		let model = params.model;
		let (genesis, block, version) = {
			let view = self
				.view
				.read()
				.map_err(|_| error(codes::EXECUTION_FAILED, "internal", "state poisoned", None))?;
			(view.genesis, view.block, view.models.get(&model).map(|(_, version)| version.clone()))
		};
		let version = version.ok_or_else(|| {
			error(
				codes::MODEL_NOT_READY,
				"modelNotReady",
				format!("this worker does not hold model {model} ready"),
				None,
			)
		})?;
		let input_len = u32::try_from(input.len()).unwrap_or(u32::MAX);
		let (price, execution) = self.fee(model, input_len).await?;

		let state = self.channel(voucher.channel).await?;
		let mut state = state.lock().await;
		let channel = voucher.channel;
		let Some(record) = state.record.clone() else {
			return Err(error(
				codes::CHANNEL_NOT_FOUND,
				"channelNotFound",
				format!("no channel {channel}"),
				None,
			));
		};
		if record.worker != self.account {
			return Err(error(
				codes::CHANNEL_NOT_FOR_THIS_WORKER,
				"channelNotForThisWorker",
				format!("channel {channel} pays another worker"),
				None,
			));
		}
		if record.closing.is_some() || block >= record.expires_at {
			return Err(error(
				codes::CHANNEL_NOT_OPEN,
				"channelNotOpen",
				format!("channel {channel} is closing or expired"),
				None,
			));
		}
		let baseline = state.baseline(channel);
		if voucher.calls <= baseline.calls {
			return Err(error(
				codes::VOUCHER_STALE,
				"voucherStale",
				format!(
					"the voucher pays {} calls; {} are paid already",
					voucher.calls, baseline.calls
				),
				Some(json!({ "latestCalls": baseline.calls })),
			));
		}
		if voucher.follows(&baseline, model, price, execution).is_err() {
			return Err(error(
				codes::VOUCHER_NOT_NEXT,
				"voucherNotNext",
				"the voucher must add exactly this call to the latest one, at the current price \
				 and execution fee",
				Some(json!({
					"latestCalls": baseline.calls,
					"price": price.to_string(),
					"execution": execution.to_string(),
				})),
			));
		}
		let settled = ChannelState::settled(&record, channel);
		if voucher.total.saturating_sub(settled.total) > record.deposit {
			return Err(error(
				codes::VOUCHER_ABOVE_DEPOSIT,
				"voucherAboveDeposit",
				format!(
					"the voucher pays {} beyond what was settled; the channel holds {}",
					voucher.total.saturating_sub(settled.total),
					record.deposit
				),
				Some(json!({ "deposit": record.deposit.to_string() })),
			));
		}
		if !signature.verify(&voucher.message(&genesis)[..], &AccountId32::new(record.payer)) {
			return Err(error(
				codes::VOUCHER_BAD_SIGNATURE,
				"voucherBadSignature",
				"the channel's payer did not sign this voucher for this chain",
				None,
			));
		}

		let deadline = Instant::now() + self.options.call_timeout;
		let prepared =
			self.engine.execute(&version, &input, Some(deadline)).await.map_err(|failed| {
				let (code, name) = if failed.reason == chain::Reason::InvalidInput {
					(codes::INVALID_INPUT, "invalidInput")
				} else {
					(codes::EXECUTION_FAILED, "executionFailed")
				};
				error(code, name, failed.detail.clone(), None)
			})?;
		let attestation = FastAttestation {
			genesis_hash: genesis,
			channel,
			call: voucher.calls,
			block,
			artifact_hash: version.artifact.hash,
			input_hash: sp_crypto_hashing::blake2_256(&input),
			output_hash: prepared.output_hash,
			worker: AccountId32::new(self.account),
		};
		let attested = self.engine.attest(&attestation.message());
		if let Err(failed) = self.store(channel, &voucher, &signature) {
			tracing::error!(channel, "keeping the voucher: {failed:#}");
			return Err(error(
				codes::EXECUTION_FAILED,
				"executionFailed",
				"cannot keep the voucher",
				None,
			));
		}
		let call = voucher.calls;
		state.latest = Some((voucher, signature));
		state.unsettled_since.get_or_insert_with(Instant::now);
		state.used = Instant::now();
		self.engine.note_fast_call();
		if self.options.silent {
			drop(state);
			tracing::warn!(channel, call, "test mode: keeping the voucher, not answering");
			std::future::pending::<()>().await;
		}
		Ok(json!({
			"channel": channel,
			"call": call,
			"block": block,
			"model": model,
			"worker": hex0x(&self.account),
			"output": hex0x(&prepared.output),
			"outputHash": hex0x(&prepared.output_hash),
			"artifactHash": hex0x(&version.artifact.hash),
			"inputHash": hex0x(&attestation.input_hash),
			"signature": hex0x(&attested),
		}))
	}

	/// Takes in block `at`: the models served, the channels' records, and settles what is due.
	/// `declared` is the model versions the chain lists as ready on this worker at `at`, when
	/// the caller has read them already.
	pub async fn on_block(
		&self,
		chain: &Arc<Chain>,
		at: &AtBlock,
		declared: Option<&[(u64, u32)]>,
	) {
		if let Ok(mut current) = self.chain.write() {
			if !current.as_ref().is_some_and(|known| Arc::ptr_eq(known, chain)) {
				*current = Some(chain.clone());
			}
		}
		let block = at.block_number() as u32;
		if let Ok(mut latest) = self.at.write() {
			*latest = Some(at.clone());
		}
		if let Err(failed) = self.refresh_models(chain, at, block, declared).await {
			tracing::warn!("fast path: reading the models held ready: {failed:#}");
		}
		for (id, state) in self.known_channels() {
			let mut state = state.lock().await;
			match chain.channel(at, id).await {
				Ok(record) => {
					state.record = record;
					state.read_at = block;
				},
				Err(failed) => {
					tracing::warn!(channel = id, "fast path: reading the channel: {failed:#}");
					continue;
				},
			}
			if state.unsettled() == 0 {
				state.unsettled_since = None;
				if state.used.elapsed() > IDLE_CHANNEL || state.record.is_none() {
					drop(state);
					if let Ok(mut channels) = self.channels.lock() {
						channels.remove(&id);
					}
				}
			}
		}
		self.settle_due(chain, block).await;
	}

	/// The channels this worker holds in memory.
	fn known_channels(&self) -> Vec<(u64, Arc<tokio::sync::Mutex<ChannelState>>)> {
		match self.channels.lock() {
			Ok(channels) => channels.iter().map(|(id, state)| (*id, state.clone())).collect(),
			Err(_) => Vec::new(),
		}
	}

	/// Sends the settlement of every channel that is due one, as of block `block`: enough calls
	/// unsettled, the oldest unsettled call older than `settle_after`, the channel closing or
	/// about to expire. Runs at every block and, between blocks, from `settle_timer`.
	async fn settle_due(&self, chain: &Chain, block: u32) {
		for (id, state) in self.known_channels() {
			let mut state = state.lock().await;
			let unsettled = state.unsettled();
			if unsettled == 0 {
				continue;
			}
			let Some(record) = state.record.clone() else {
				tracing::warn!(
					channel = id,
					unsettled,
					"fast path: the channel ended with calls unsettled"
				);
				continue;
			};
			let due = unsettled >= self.options.settle_calls
				|| state
					.unsettled_since
					.is_some_and(|since| since.elapsed() >= self.options.settle_after)
				|| record.closing.is_some()
				|| block.saturating_add(RESEND_AFTER * 2) >= record.expires_at;
			let Some((voucher, signature)) = state.latest.clone() else { continue };
			let resent = state
				.sent
				.is_some_and(|(calls, sent)| calls == voucher.calls && block < sent + RESEND_AFTER);
			if !due || resent {
				continue;
			}
			match chain.submit(&chain::settle(&voucher, &signature)).await {
				Ok(hash) => {
					tracing::info!(channel = id, calls = unsettled, tx = ?hash, "settling channel");
					state.sent = Some((voucher.calls, block));
				},
				Err(failed) => tracing::warn!(channel = id, "fast path: settling: {failed:#}"),
			}
		}
	}

	/// Between blocks, settles what fell due since the last block (a settlement sent as soon
	/// as it is due lands in the next block rather than the one after).
	async fn settle_timer(self: Arc<Self>) {
		let period = (self.options.settle_after / 4).clamp(TIMER_MIN, TIMER_MAX);
		let mut ticks = tokio::time::interval(period);
		ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
		loop {
			ticks.tick().await;
			let chain = self.chain.read().ok().and_then(|chain| chain.clone());
			let block = self.view.read().map(|view| view.block).unwrap_or_default();
			if let Some(chain) = chain {
				self.settle_due(&chain, block).await;
			}
		}
	}

	/// Reads which models this worker serves: those whose current version it declared ready.
	async fn refresh_models(
		&self,
		chain: &Chain,
		at: &AtBlock,
		block: u32,
		declared: Option<&[(u64, u32)]>,
	) -> Result<()> {
		let declared = match declared {
			Some(declared) => declared.to_vec(),
			None => chain.readiness(at).await?,
		};
		let known: HashMap<u64, (u32, Arc<ModelVersion>)> =
			self.view.read().map(|view| view.models.clone()).unwrap_or_default();
		let mut models = HashMap::new();
		for (model, number) in declared {
			let Some(current) = chain.model_state(at, model).await? else { continue };
			if !current.active || current.version != number {
				continue;
			}
			let version = match known.get(&model) {
				Some((known_number, version)) if *known_number == number => version.clone(),
				_ => match chain.model_version(at, model, number).await? {
					Some(version) => Arc::new(version),
					None => continue,
				},
			};
			models.insert(model, (number, version));
		}
		if let Ok(mut view) = self.view.write() {
			view.genesis = chain.genesis_hash();
			view.block = block;
			view.models = models;
		}
		Ok(())
	}

	/// Advertises the endpoint on chain if it differs from the one there.
	pub async fn advertise(&self, chain: &Chain, at: &AtBlock) {
		let Some(endpoint) = self.options.endpoint.clone() else { return };
		match chain.endpoint(at).await {
			Ok(Some(current)) if current == endpoint.as_bytes() => {},
			Ok(_) => {
				match chain.submit(&chain::set_endpoint(Some(endpoint.clone().into_bytes()))).await
				{
					Ok(_) => tracing::info!(endpoint, "advertising the fast-path endpoint"),
					Err(failed) => tracing::warn!("advertising the fast-path endpoint: {failed:#}"),
				}
			},
			Err(failed) => tracing::warn!("reading the advertised endpoint: {failed:#}"),
		}
	}
}

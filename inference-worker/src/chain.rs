//! The worker's view of the chain, through its metadata only (`subxt`'s dynamic API): the
//! storage it reads is decoded by field and variant name, and the calls it makes are encoded
//! against the call types the node publishes.

use anyhow::{anyhow, bail, Context, Result};
use modelhub_primitives::{
	schema::{Dim, IoSchema, TensorSpec},
	tensor::DType,
	worker::ExecutionProfile,
};
use std::{
	collections::HashMap,
	sync::Arc,
	time::{Duration, Instant},
};
use subxt::{
	config::{DefaultExtrinsicParamsBuilder, RpcConfigFor},
	dynamic::{self, Value},
	ext::{
		scale_decode::{self, DecodeAsType},
		scale_encode::{self, EncodeAsType},
	},
	rpcs::{methods::legacy::LegacyRpcMethods, RpcClient},
	transactions::Payload,
	OnlineClient, SubstrateConfig,
};
use subxt_signer::sr25519::Keypair;

/// The chain configuration: Substrate's defaults fit this runtime.
pub type ChainConfig = SubstrateConfig;
/// A client bound to one block.
pub type AtBlock =
	subxt::client::ClientAtBlock<ChainConfig, subxt::client::OnlineClientAtBlockImpl<ChainConfig>>;
/// A block hash.
pub type Hash = subxt::utils::H256;

/// Where a request is in its life (`pallet_inference::Phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum Phase {
	/// Redundancy 1: waiting for `submit_result`.
	Running,
	/// Waiting for commitments.
	Commit,
	/// Waiting for reveals.
	Reveal,
}

/// Why a worker reported a failure (`modelhub_primitives::inference::FailureReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum Reason {
	/// The artifact could not be fetched.
	ModelUnavailable,
	/// The artifact does not match its recorded hash or size.
	ArtifactHashMismatch,
	/// ONNX Runtime cannot load the artifact.
	InvalidModel,
	/// The input does not suit the model.
	InvalidInput,
	/// Running the model failed.
	ExecutionError,
}

impl Reason {
	/// The variant name, as the call expects it.
	pub fn name(self) -> &'static str {
		match self {
			Reason::ModelUnavailable => "ModelUnavailable",
			Reason::ArtifactHashMismatch => "ArtifactHashMismatch",
			Reason::InvalidModel => "InvalidModel",
			Reason::InvalidInput => "InvalidInput",
			Reason::ExecutionError => "ExecutionError",
		}
	}
}

/// What one assigned worker has done (`pallet_inference::SlotState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum SlotState {
	/// Nothing submitted yet.
	Assigned,
	/// Committed.
	Committed([u8; 32]),
	/// Submitted or revealed an output with this hash.
	Revealed([u8; 32]),
	/// Reported a failure.
	Failed(Reason),
	/// Missed its deadline.
	Absent,
}

/// One assigned worker.
#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct Slot {
	/// The worker's account.
	pub worker: [u8; 32],
	/// What it has done.
	pub state: SlotState,
}

/// The fields of a pending request the worker needs (`pallet_inference::Request`).
#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct Request {
	/// The model called.
	pub model: u64,
	/// The model version it runs.
	pub version: u32,
	/// blake2-256 of that version's artifact.
	pub artifact_hash: [u8; 32],
	/// blake2-256 of the input.
	pub input_hash: [u8; 32],
	/// The assigned workers.
	pub slots: Vec<Slot>,
	/// Where it is.
	pub phase: Phase,
	/// When the phase times out.
	pub deadline: u32,
}

impl Request {
	/// The state of `worker`'s slot.
	pub fn slot_of(&self, worker: &[u8; 32]) -> Option<SlotState> {
		self.slots.iter().find(|slot| &slot.worker == worker).map(|slot| slot.state)
	}
}

/// How a request ended (`pallet_inference::Outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum Outcome {
	/// Settled with this output.
	Settled {
		/// Hash of the agreed output.
		output_hash: [u8; 32],
	},
	/// Refunded.
	Refunded {
		/// Why (not decoded further).
		reason: RefundReason,
	},
}

/// Why a request was refunded (`pallet_inference::RefundReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum RefundReason {
	/// Nothing submitted in time.
	Timeout,
	/// Too few commitments.
	NoQuorum,
	/// No strict majority.
	NoMajority,
	/// Every worker failed.
	WorkersFailed,
}

/// An ended request (`pallet_inference::ResultRecord`), the part the worker reads.
#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct ResultRecord {
	/// How it ended.
	pub outcome: Outcome,
}

#[derive(Clone, Copy, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
enum DTypeField {
	F32,
	F64,
	F16,
	I8,
	I16,
	I32,
	I64,
	U8,
	U16,
	U32,
	U64,
	Bool,
}

impl From<DTypeField> for DType {
	fn from(field: DTypeField) -> Self {
		match field {
			DTypeField::F32 => DType::F32,
			DTypeField::F64 => DType::F64,
			DTypeField::F16 => DType::F16,
			DTypeField::I8 => DType::I8,
			DTypeField::I16 => DType::I16,
			DTypeField::I32 => DType::I32,
			DTypeField::I64 => DType::I64,
			DTypeField::U8 => DType::U8,
			DTypeField::U16 => DType::U16,
			DTypeField::U32 => DType::U32,
			DTypeField::U64 => DType::U64,
			DTypeField::Bool => DType::Bool,
		}
	}
}

#[derive(Clone, Copy, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
enum DimField {
	Fixed(u64),
	Dynamic,
}

#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct SpecField {
	name: Vec<u8>,
	dtype: DTypeField,
	shape: Vec<DimField>,
}

#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct SchemaField {
	inputs: Vec<SpecField>,
	outputs: Vec<SpecField>,
}

#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct ArtifactField {
	hash: [u8; 32],
	size: u64,
	uri: Vec<u8>,
}

#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct VersionField {
	artifact: ArtifactField,
	schema: SchemaField,
	output_rounding_bits: u8,
}

/// A model version as the worker uses it.
#[derive(Clone, Debug)]
pub struct ModelVersion {
	/// The artifact to fetch.
	pub artifact: crate::artifacts::ArtifactRef,
	/// Declared inputs and outputs.
	pub schema: IoSchema,
	/// Mantissa bits floats are rounded to.
	pub output_rounding_bits: u8,
}

impl TryFrom<VersionField> for ModelVersion {
	type Error = anyhow::Error;

	fn try_from(field: VersionField) -> Result<Self> {
		let specs = |list: Vec<SpecField>| -> Result<Vec<TensorSpec>> {
			list.into_iter()
				.map(|spec| {
					let shape: Vec<Dim> = spec
						.shape
						.iter()
						.map(|dim| match dim {
							DimField::Fixed(size) => Dim::Fixed(*size),
							DimField::Dynamic => Dim::Dynamic,
						})
						.collect();
					TensorSpec::new(&spec.name, spec.dtype.into(), &shape)
						.ok_or_else(|| anyhow!("a tensor spec exceeds its bounds"))
				})
				.collect()
		};
		let schema = IoSchema {
			inputs: specs(field.schema.inputs)?
				.try_into()
				.map_err(|_| anyhow!("too many inputs"))?,
			outputs: specs(field.schema.outputs)?
				.try_into()
				.map_err(|_| anyhow!("too many outputs"))?,
		};
		Ok(Self {
			artifact: crate::artifacts::ArtifactRef {
				hash: field.artifact.hash,
				size: field.artifact.size,
				uri: String::from_utf8_lossy(&field.artifact.uri).into_owned(),
			},
			schema,
			output_rounding_bits: field.output_rounding_bits,
		})
	}
}

/// Whether a model serves calls (`pallet_model_registry::ModelStatus`).
#[derive(Clone, Copy, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
enum ModelStatusField {
	Active,
	Paused,
	Retired,
	Delisted,
}

/// The part of a model's record the worker reads.
#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct ModelField {
	status: ModelStatusField,
	version: u32,
}

/// The part of a model's epoch usage the worker reads.
#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct EpochUsageField {
	calls: u64,
}

/// A model as the worker's readiness review sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelState {
	/// The model.
	pub id: u64,
	/// Its current version.
	pub version: u32,
	/// Whether it serves calls.
	pub active: bool,
}

/// A registered worker's record, the part the worker reads.
#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct WorkerRecord {
	/// Bond held.
	pub bond: u128,
	/// Registered attestation key.
	pub attestation_key: [u8; 32],
	/// Runtime, capacity and execution profile.
	pub meta: WorkerMeta,
	/// Jobs assigned and not ended.
	pub pending_jobs: u32,
	/// Active or unbonding.
	pub status: WorkerStatusField,
}

/// A worker's record of paid jobs and slashes (`pallet_verification::WorkerStats`).
#[derive(Clone, Debug, Default, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct WorkerStats {
	/// Jobs it was paid for.
	pub jobs: u64,
	/// OPG it earned from settled jobs.
	pub earnings: u128,
	/// Times it was slashed.
	pub slashes: u32,
	/// OPG slashed from its bond.
	pub slashed: u128,
}

/// What a worker declares about itself (`pallet_verification::WorkerMeta`).
#[derive(Clone, Debug, PartialEq, Eq, DecodeAsType, EncodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
#[encode_as_type(crate_path = "scale_encode")]
pub struct WorkerMeta {
	/// The inference runtime it names (UTF-8).
	pub runtime: Vec<u8>,
	/// Most jobs it takes at once.
	pub capacity: u32,
	/// How it runs models.
	pub profile: ExecutionProfile,
}

/// Whether a worker takes jobs.
#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum WorkerStatusField {
	/// Takes jobs.
	Active,
	/// Left the pool.
	Unbonding {
		/// When the bond frees.
		until: u32,
	},
}

/// A connection to a node, signing as one account.
pub struct Chain {
	/// The subxt client.
	pub api: OnlineClient<ChainConfig>,
	rpc: LegacyRpcMethods<RpcConfigFor<ChainConfig>>,
	/// The node's JSON-RPC, for the `modelhub_*` methods.
	client: RpcClient,
	signer: Keypair,
	/// The signing account.
	pub account: [u8; 32],
	/// Which nonce the next transaction takes.
	nonces: tokio::sync::Mutex<Nonces>,
	/// Test only: how many of the next transactions to sign and then drop, as a pool that
	/// accepted them and lost them would.
	pub test_drops: Arc<std::sync::atomic::AtomicU32>,
}

/// How long the node's next nonce may stay behind the nonces this process has used, without
/// moving, before the transactions in between count as dropped: two six-second blocks.
pub const NONCE_GAP_TIMEOUT: Duration = Duration::from_secs(12);

/// Which nonce the next transaction takes.
///
/// The node's next nonce (`system_accountNextIndex`: the account's nonce plus its transactions
/// ready in the pool) can lag a transaction just submitted, so the process counts on from its
/// own last nonce while it is ahead of the node's. A transaction the pool accepted and later
/// dropped leaves a gap that the node's next nonce never passes, and every later transaction
/// would wait behind it in the pool's future queue; so when the node's next nonce has not moved
/// for [`NONCE_GAP_TIMEOUT`] while the process is ahead of it, the process goes back to it and
/// fills the gap, which lets the waiting transactions through.
#[derive(Debug, Default)]
pub struct Nonces {
	/// The nonce after the last one used.
	next: Option<u64>,
	/// The node's next nonce last seen, and since when it has not moved.
	node: Option<(u64, Instant)>,
}

impl Nonces {
	/// The nonce to use now, given the node's next nonce `node_next`.
	pub fn pick(&mut self, node_next: u64, now: Instant) -> u64 {
		let since = match self.node {
			Some((seen, since)) if seen == node_next => since,
			_ => now,
		};
		self.node = Some((node_next, since));
		match self.next {
			Some(local) if local > node_next => {
				if now.saturating_duration_since(since) < NONCE_GAP_TIMEOUT {
					return local;
				}
				tracing::warn!(
					node_next,
					local,
					"transactions from nonce {node_next} were dropped: sending from it again"
				);
				node_next
			},
			_ => node_next,
		}
	}

	/// Records that a transaction with `nonce` entered the pool.
	pub fn used(&mut self, nonce: u64) {
		self.next = Some(nonce.saturating_add(1));
	}

	/// Forgets the local count after a rejected submission: the next one asks the node.
	pub fn reset(&mut self) {
		self.next = None;
	}
}

impl Chain {
	/// Connects to the node at `url` (ws:// or wss://), signing with `signer`.
	pub async fn connect(url: &str, signer: Keypair) -> Result<Self> {
		let client = RpcClient::from_insecure_url(url)
			.await
			.with_context(|| format!("connecting to {url}"))?;
		let api = OnlineClient::<ChainConfig>::from_rpc_client(client.clone())
			.await
			.with_context(|| format!("reading the metadata of {url}"))?;
		let account = signer.public_key().0;
		Ok(Self {
			api,
			rpc: LegacyRpcMethods::new(client.clone()),
			client,
			signer,
			account,
			nonces: tokio::sync::Mutex::new(Nonces::default()),
			test_drops: Default::default(),
		})
	}

	/// The chain's genesis hash.
	pub fn genesis_hash(&self) -> [u8; 32] {
		self.api.genesis_hash().0
	}

	/// The client at the latest finalized block.
	pub async fn finalized(&self) -> Result<AtBlock> {
		Ok(self.api.at_current_block().await?)
	}

	/// A constant of the runtime, decoded as `T`.
	pub fn constant<T: DecodeAsType>(at: &AtBlock, pallet: &str, name: &str) -> Result<T> {
		at.constants()
			.entry(dynamic::constant::<T>(pallet, name))
			.with_context(|| format!("constant {pallet}::{name}"))
	}

	/// This worker's registration, if any.
	pub async fn worker(&self, at: &AtBlock) -> Result<Option<WorkerRecord>> {
		self.worker_of(at, self.account).await
	}

	/// `account`'s registration as a worker, if any.
	pub async fn worker_of(&self, at: &AtBlock, account: [u8; 32]) -> Result<Option<WorkerRecord>> {
		let address = dynamic::storage::<([u8; 32],), WorkerRecord>("Verification", "Workers");
		match at.storage().try_fetch(address, (account,)).await? {
			Some(value) => Ok(Some(value.decode().context("decoding Verification::Workers")?)),
			None => Ok(None),
		}
	}

	/// The requests still assigned to this worker.
	pub async fn assignments(&self, at: &AtBlock) -> Result<Vec<u64>> {
		let address = dynamic::storage::<([u8; 32], u64), ()>("Inference", "Assignments");
		let entry = at.storage().entry(address)?;
		let mut entries = entry.iter((self.account,)).await?;
		let mut ids = Vec::new();
		while let Some(item) = entries.next().await {
			let (_, id) = item?.key()?.decode().context("decoding an Assignments key")?;
			ids.push(id);
		}
		Ok(ids)
	}

	/// A pending request.
	pub async fn request(&self, at: &AtBlock, id: u64) -> Result<Option<Request>> {
		let address = dynamic::storage::<(u64,), Request>("Inference", "Requests");
		match at.storage().try_fetch(address, (id,)).await? {
			Some(value) => Ok(Some(value.decode().context("decoding Inference::Requests")?)),
			None => Ok(None),
		}
	}

	/// The input bytes of a pending request.
	pub async fn input(&self, at: &AtBlock, id: u64) -> Result<Option<Vec<u8>>> {
		let address = dynamic::storage::<(u64,), Vec<u8>>("Inference", "Inputs");
		match at.storage().try_fetch(address, (id,)).await? {
			Some(value) => Ok(Some(value.decode().context("decoding Inference::Inputs")?)),
			None => Ok(None),
		}
	}

	/// How an ended request ended, while its result is kept.
	pub async fn result(&self, at: &AtBlock, id: u64) -> Result<Option<ResultRecord>> {
		let address = dynamic::storage::<(u64,), ResultRecord>("Inference", "Results");
		match at.storage().try_fetch(address, (id,)).await? {
			Some(value) => Ok(Some(value.decode().context("decoding Inference::Results")?)),
			None => Ok(None),
		}
	}

	/// A model version's artifact and interface.
	pub async fn model_version(
		&self,
		at: &AtBlock,
		model: u64,
		version: u32,
	) -> Result<Option<ModelVersion>> {
		let address = dynamic::storage::<(u64, u32), VersionField>("ModelRegistry", "Versions");
		match at.storage().try_fetch(address, (model, version)).await? {
			Some(value) => {
				let field: VersionField =
					value.decode().context("decoding ModelRegistry::Versions")?;
				Ok(Some(field.try_into()?))
			},
			None => Ok(None),
		}
	}

	/// One model's current version and whether it serves calls.
	pub async fn model_state(&self, at: &AtBlock, model: u64) -> Result<Option<ModelState>> {
		let address = dynamic::storage::<(u64,), ModelField>("ModelRegistry", "Models");
		match at.storage().try_fetch(address, (model,)).await? {
			Some(value) => {
				let field: ModelField = value.decode().context("decoding ModelRegistry::Models")?;
				Ok(Some(ModelState {
					id: model,
					version: field.version,
					active: matches!(field.status, ModelStatusField::Active),
				}))
			},
			None => Ok(None),
		}
	}

	/// Every model's current version and whether it serves calls.
	pub async fn models(&self, at: &AtBlock) -> Result<Vec<ModelState>> {
		let address = dynamic::storage::<(u64,), ModelField>("ModelRegistry", "Models");
		let entry = at.storage().entry(address)?;
		let mut entries = entry.iter(()).await?;
		let mut models = Vec::new();
		while let Some(item) = entries.next().await {
			let item = item?;
			let (id,) = item.key()?.decode().context("decoding a Models key")?;
			let field: ModelField =
				item.value().decode().context("decoding ModelRegistry::Models")?;
			models.push(ModelState {
				id,
				version: field.version,
				active: matches!(field.status, ModelStatusField::Active),
			});
		}
		Ok(models)
	}

	/// Settled calls per model in usage epoch `epoch` (models the epoch lists).
	pub async fn epoch_calls(&self, at: &AtBlock, epoch: u32) -> Result<HashMap<u64, u64>> {
		let address =
			dynamic::storage::<(u32, u64), EpochUsageField>("Inference", "EpochModelCalls");
		let entry = at.storage().entry(address)?;
		let mut entries = entry.iter((epoch,)).await?;
		let mut calls = HashMap::new();
		while let Some(item) = entries.next().await {
			let item = item?;
			let (_, model) = item.key()?.decode().context("decoding an EpochModelCalls key")?;
			let usage: EpochUsageField =
				item.value().decode().context("decoding Inference::EpochModelCalls")?;
			calls.insert(model, usage.calls);
		}
		Ok(calls)
	}

	/// This worker's record of paid jobs and slashes (zero if it has none).
	pub async fn stats(&self, at: &AtBlock) -> Result<WorkerStats> {
		let address = dynamic::storage::<([u8; 32],), WorkerStats>("Verification", "WorkerUsage");
		match at.storage().try_fetch(address, (self.account,)).await? {
			Some(value) => Ok(value.decode().context("decoding Verification::WorkerUsage")?),
			None => Ok(WorkerStats::default()),
		}
	}

	/// The model versions this worker has declared ready.
	pub async fn readiness(&self, at: &AtBlock) -> Result<Vec<(u64, u32)>> {
		let address = dynamic::storage::<([u8; 32],), Vec<(u64, u32)>>("Verification", "Readiness");
		match at.storage().try_fetch(address, (self.account,)).await? {
			Some(value) => Ok(value.decode().context("decoding Verification::Readiness")?),
			None => Ok(Vec::new()),
		}
	}

	/// The workers serving fast calls of `model` (`modelhub_fastWorkers`): account and
	/// endpoint of each.
	pub async fn fast_workers(&self, model: u64) -> Result<Vec<([u8; 32], String)>> {
		use sp_core::crypto::Ss58Codec;
		#[derive(serde::Deserialize)]
		struct View {
			account: String,
			endpoint: String,
		}
		let views: Vec<View> = self
			.client
			.request("modelhub_fastWorkers", subxt::rpcs::rpc_params![model])
			.await
			.context("modelhub_fastWorkers")?;
		views
			.into_iter()
			.map(|view| {
				let account = sp_core::crypto::AccountId32::from_ss58check(&view.account)
					.map_err(|error| anyhow!("{}: {error:?}", view.account))?;
				Ok((account.into(), view.endpoint))
			})
			.collect()
	}

	/// The id the next channel gets.
	pub async fn next_channel_id(&self, at: &AtBlock) -> Result<u64> {
		let address = dynamic::storage::<(), u64>("Channels", "NextChannelId");
		match at.storage().try_fetch(address, ()).await? {
			Some(value) => Ok(value.decode().context("decoding Channels::NextChannelId")?),
			None => Ok(0),
		}
	}

	/// A payment channel of the fast path.
	pub async fn channel(&self, at: &AtBlock, id: u64) -> Result<Option<ChannelRecord>> {
		let address = dynamic::storage::<(u64,), ChannelRecord>("Channels", "Channels");
		match at.storage().try_fetch(address, (id,)).await? {
			Some(value) => Ok(Some(value.decode().context("decoding Channels::Channels")?)),
			None => Ok(None),
		}
	}

	/// The endpoint this worker advertises for fast calls, if any.
	pub async fn endpoint(&self, at: &AtBlock) -> Result<Option<Vec<u8>>> {
		let address = dynamic::storage::<([u8; 32],), Vec<u8>>("Channels", "Endpoints");
		match at.storage().try_fetch(address, (self.account,)).await? {
			Some(value) => Ok(Some(value.decode().context("decoding Channels::Endpoints")?)),
			None => Ok(None),
		}
	}

	/// What one call of `model` on `input_len` input bytes pays at redundancy 1, as
	/// `ModelHubApi::quote` gives it: `(royalty, execution fee)`; `None` if the model cannot
	/// be called.
	pub async fn call_fee(
		&self,
		at: &AtBlock,
		model: u64,
		input_len: u32,
	) -> Result<Option<(u128, u128)>> {
		use codec::{Decode, Encode};
		use modelhub_primitives::api::{FeeQuote, RequestError};
		let args = (model, input_len, 1u32).encode();
		let bytes = at.runtime_apis().call_raw("ModelHubApi_quote", Some(&args)).await?;
		let quote = Result::<FeeQuote<u128>, RequestError>::decode(&mut &bytes[..])
			.context("decoding ModelHubApi_quote")?;
		Ok(quote.ok().map(|quote| (quote.royalty, quote.execution)))
	}

	/// Signs `call` with the next nonce and puts it in the node's pool; returns its hash.
	///
	/// Nonces come from the node's view of the pool and a local counter ([`Nonces`]), so
	/// transactions sent in quick succession do not collide, a rejected submission makes the
	/// next one ask again, and one dropped from the pool is sent again rather than holding up
	/// every later one.
	pub async fn submit<Call: Payload>(&self, call: &Call) -> Result<Hash> {
		let mut nonces = self.nonces.lock().await;
		let pool_next = self
			.rpc
			.system_account_next_index(&self.signer.public_key().to_account_id())
			.await
			.context("reading the account nonce")?;
		let nonce = nonces.pick(pool_next, Instant::now());
		let params = DefaultExtrinsicParamsBuilder::<ChainConfig>::new().nonce(nonce).build();
		let mut transactions = self.finalized().await?.transactions();
		let signed = transactions.create_signed(call, &self.signer, params).await?;
		let drop = self.test_drops.fetch_update(
			std::sync::atomic::Ordering::SeqCst,
			std::sync::atomic::Ordering::SeqCst,
			|left| left.checked_sub(1),
		);
		if drop.is_ok() {
			tracing::warn!(nonce, "test mode: dropping a signed transaction");
			nonces.used(nonce);
			return Ok(signed.hash());
		}
		match signed.submit().await {
			Ok(hash) => {
				nonces.used(nonce);
				Ok(hash)
			},
			Err(error) => {
				nonces.reset();
				Err(error.into())
			},
		}
	}

	/// Signs and submits `call`, then waits (up to `within`) until it is finalized and
	/// succeeded; returns the names of the events it emitted.
	pub async fn submit_and_wait<Call: Payload>(
		&self,
		call: &Call,
		within: std::time::Duration,
	) -> Result<Vec<String>> {
		let mut transactions = self.finalized().await?.transactions();
		let watch = async {
			let progress =
				transactions.sign_and_submit_then_watch_default(call, &self.signer).await?;
			let events = progress.wait_for_finalized_success().await?;
			let names = events
				.iter()
				.filter_map(|event| event.ok())
				.map(|event| format!("{}::{}", event.pallet_name(), event.event_name()))
				.collect::<Vec<_>>();
			Ok::<_, anyhow::Error>(names)
		};
		match tokio::time::timeout(within, watch).await {
			Ok(result) => result,
			Err(_) => bail!("the transaction was not finalized within {within:?}"),
		}
	}
}

/// A payment channel (`pallet_channels::Channel`).
#[derive(Clone, Debug, PartialEq, Eq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct ChannelRecord {
	/// Who pays.
	pub payer: [u8; 32],
	/// The worker paid.
	pub worker: [u8; 32],
	/// What is still held for the channel.
	pub deposit: u128,
	/// What settlements paid so far.
	pub paid: u128,
	/// The calls settled so far, by voucher entry.
	pub settled: Vec<EntryField>,
	/// The calls settled so far.
	pub settled_calls: u64,
	/// The block from which no call may be made.
	pub expires_at: u32,
	/// When the payer closed it: the block from which the rest may be claimed.
	pub closing: Option<u32>,
}

/// A voucher entry as the chain stores and takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, DecodeAsType, EncodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
#[encode_as_type(crate_path = "scale_encode")]
pub struct EntryField {
	/// The model.
	pub model: u64,
	/// Royalty per call.
	pub price: u128,
	/// Execution fee per call.
	pub execution: u128,
	/// Calls.
	pub calls: u64,
}

/// A voucher as `Channels::settle` takes it.
#[derive(Clone, Debug, EncodeAsType)]
#[encode_as_type(crate_path = "scale_encode")]
struct VoucherArg {
	channel: u64,
	calls: u64,
	total: u128,
	entries: Vec<EntryField>,
}

/// A payer's signature (`sp_runtime::MultiSignature`).
#[derive(Clone, Debug, EncodeAsType)]
#[encode_as_type(crate_path = "scale_encode")]
enum SignatureArg {
	Ed25519([u8; 64]),
	Sr25519([u8; 64]),
	Ecdsa([u8; 65]),
	Eth([u8; 65]),
}

/// `Channels::settle(channel, voucher, signature)`.
pub fn settle(
	voucher: &modelhub_primitives::channel::Voucher<u128>,
	signature: &sp_runtime::MultiSignature,
) -> impl Payload {
	let arg = VoucherArg {
		channel: voucher.channel,
		calls: voucher.calls,
		total: voucher.total,
		entries: voucher
			.entries
			.iter()
			.map(|entry| EntryField {
				model: entry.model,
				price: entry.price,
				execution: entry.execution,
				calls: entry.calls,
			})
			.collect(),
	};
	let signature = match signature {
		sp_runtime::MultiSignature::Ed25519(s) => SignatureArg::Ed25519(s.0),
		sp_runtime::MultiSignature::Sr25519(s) => SignatureArg::Sr25519(s.0),
		sp_runtime::MultiSignature::Ecdsa(s) => SignatureArg::Ecdsa(s.0),
		sp_runtime::MultiSignature::Eth(s) => SignatureArg::Eth(s.0),
	};
	dynamic::transaction("Channels", "settle", (voucher.channel, arg, signature))
}

/// `Channels::open_channel(worker, deposit, lifetime)`.
pub fn open_channel(worker: [u8; 32], deposit: u128, lifetime: u32) -> impl Payload {
	dynamic::transaction("Channels", "open_channel", (worker, deposit, lifetime))
}

/// `Channels::set_endpoint(endpoint)`.
pub fn set_endpoint(endpoint: Option<Vec<u8>>) -> impl Payload {
	dynamic::transaction("Channels", "set_endpoint", (endpoint,))
}

/// `Inference::submit_result(request, output, signature)`.
pub fn submit_result(request: u64, output: Vec<u8>, signature: [u8; 64]) -> impl Payload {
	dynamic::transaction("Inference", "submit_result", (request, output, signature))
}

/// `Inference::commit_result(request, commitment)`.
pub fn commit_result(request: u64, commitment: [u8; 32]) -> impl Payload {
	dynamic::transaction("Inference", "commit_result", (request, commitment))
}

/// `Inference::reveal_result(request, output, salt, signature)`.
pub fn reveal_result(
	request: u64,
	output: Vec<u8>,
	salt: [u8; 32],
	signature: [u8; 64],
) -> impl Payload {
	dynamic::transaction("Inference", "reveal_result", (request, output, salt, signature))
}

/// `Inference::report_failure(request, reason)`.
pub fn report_failure(request: u64, reason: Reason) -> impl Payload {
	dynamic::transaction(
		"Inference",
		"report_failure",
		(request, Value::unnamed_variant(reason.name(), [])),
	)
}

/// `Verification::register_worker(bond, attestation_key, meta)`.
pub fn register_worker(bond: u128, attestation_key: [u8; 32], meta: WorkerMeta) -> impl Payload {
	dynamic::transaction("Verification", "register_worker", (bond, attestation_key, meta))
}

/// `Verification::update_worker(bond, attestation_key, meta)`; `None` keeps a field.
pub fn update_worker(
	bond: Option<u128>,
	attestation_key: Option<[u8; 32]>,
	meta: Option<WorkerMeta>,
) -> impl Payload {
	dynamic::transaction("Verification", "update_worker", (bond, attestation_key, meta))
}

/// `Verification::declare_ready(model, version)`.
pub fn declare_ready(model: u64, version: u32) -> impl Payload {
	dynamic::transaction("Verification", "declare_ready", (model, version))
}

/// `Verification::withdraw_ready(model, version)`.
pub fn withdraw_ready(model: u64, version: u32) -> impl Payload {
	dynamic::transaction("Verification", "withdraw_ready", (model, version))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn nonces_count_on_while_the_node_lags_and_refill_a_dropped_gap() {
		let start = Instant::now();
		let at = |seconds: u64| start + Duration::from_secs(seconds);
		let mut nonces = Nonces::default();
		// The node's view first; then counting on while the node has not caught up.
		assert_eq!(nonces.pick(5, at(0)), 5);
		nonces.used(5);
		assert_eq!(nonces.pick(5, at(1)), 6);
		nonces.used(6);
		// The node caught up with one of them: still ahead, and the node moved, so no gap.
		assert_eq!(nonces.pick(6, at(10)), 7);
		nonces.used(7);
		assert_eq!(nonces.pick(6, at(21)), 8);
		nonces.used(8);
		// Nonce 6 was dropped: the node's next stays at 6. Once that lasts the timeout, the
		// next transaction takes 6 again.
		assert_eq!(nonces.pick(6, at(22)), 6);
		nonces.used(6);
		// Filling the gap lets 7 and 8 through: the node jumps to 9.
		assert_eq!(nonces.pick(9, at(23)), 9);
		// A rejected submission asks the node again.
		nonces.used(9);
		nonces.reset();
		assert_eq!(nonces.pick(9, at(24)), 9);
		// The node ahead of the local count (another client of the same account): the node's.
		nonces.used(9);
		assert_eq!(nonces.pick(15, at(25)), 15);
	}
}

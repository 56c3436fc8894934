//! `modelhub_*` JSON-RPC methods: models and their usage, fee quotes, requests and results,
//! workers and market statistics, wrapping the runtime's `ModelHubApi` at the best block (or the
//! block `at` names); and `modelhub_submitAndWatchInference`, which checks, submits and follows a
//! signed inference request to its settled output or refund (see [`watch`]).
//!
//! Balances are decimal strings of the smallest unit (10^-18 OPG), so JavaScript clients lose
//! no precision; shares are fractions between 0 and 1; bytes and hashes are `0x`-prefixed hex.

mod watch;

use std::{
	marker::PhantomData,
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
};

use jsonrpsee::{
	core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned, PendingSubscriptionSink,
};
use modelhub_primitives::{
	api::{
		FeeQuote, InferenceResult, MarketStats, ModelHubApi, ModelOrder, ModelState, ModelSummary,
		ModelUsageStats, RequestError, RequestStatus, StatsWindow, WorkerSummary, MAX_PAGE,
	},
	inference::{FailureReason, Outcome, Phase, RefundReason, RequestId, SlotState},
	registry::ModelId,
	worker::ExecutionProfile,
	AccountId, Balance, BlockNumber, Hash,
};
use modelhub_runtime::opaque::Block;
use serde::Serialize;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{bytes::to_hex, crypto::Ss58Codec, Bytes};
use sp_runtime::Perbill;

/// Error codes of the `modelhub_*` methods.
pub mod codes {
	/// The runtime API call failed.
	pub const RUNTIME_ERROR: i32 = 21000;
	/// No model has this id.
	pub const MODEL_NOT_FOUND: i32 = 21001;
	/// The model is paused, retired or delisted.
	pub const MODEL_NOT_ACTIVE: i32 = 21002;
	/// Redundancy is 0 or above the runtime's maximum.
	pub const INVALID_REDUNDANCY: i32 = 21003;
	/// The input is longer than the runtime accepts.
	pub const INPUT_TOO_LARGE: i32 = 21004;
	/// A parameter has a value the method does not know.
	pub const INVALID_PARAMETER: i32 = 21005;
	/// The input is not a canonical tensor set.
	pub const INPUT_NOT_CANONICAL: i32 = 21006;
	/// The input does not fit the model's input schema.
	pub const INPUT_DOES_NOT_FIT_SCHEMA: i32 = 21007;
	/// The fee is above the request's `max_fee`.
	pub const FEE_ABOVE_MAX: i32 = 21008;
	/// The signer cannot pay the fee and the transaction fee.
	pub const INSUFFICIENT_BALANCE: i32 = 21009;
	/// Fewer workers hold the model's current version ready than the redundancy asks for.
	pub const NOT_ENOUGH_WORKERS: i32 = 21010;
	/// The bytes are not a signed `Inference.request_inference` extrinsic of this chain.
	pub const BAD_EXTRINSIC: i32 = 21011;
	/// The transaction pool refused the extrinsic (signature, nonce, transaction fee).
	pub const TRANSACTION_REJECTED: i32 = 21012;
	/// No worker holds the model's current version ready.
	pub const NO_READY_WORKER: i32 = 21013;
	/// Too few of the workers ready for the model are free now (a request waits for them in
	/// the transaction pool; only a check reports this).
	pub const WORKERS_BUSY: i32 = 21014;
	/// The node follows as many inference watches as it allows ([`super::MAX_WATCHES`]).
	pub const TOO_MANY_WATCHES: i32 = 21015;
}

/// Most `modelhub_submitAndWatchInference` subscriptions one node follows at once, across all
/// connections; each connection is also bounded by the node's
/// `--rpc-max-subscriptions-per-connection`.
pub const MAX_WATCHES: usize = 4_096;

/// Largest `modelhub_models` offset served under `--rpc-methods safe` (the default for a node
/// whose RPC is reachable from other hosts): a page costs the node `offset + limit` reads.
pub const MAX_SAFE_OFFSET: u32 = 10_000;

/// One of the node's [`MAX_WATCHES`] watch places, given back when dropped.
struct WatchSlot(Arc<AtomicUsize>);

impl WatchSlot {
	/// A place if fewer than `max` are taken.
	fn take(taken: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
		taken
			.fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
				(count < max).then(|| count.saturating_add(1))
			})
			.ok()
			.map(|_| Self(taken.clone()))
	}
}

impl Drop for WatchSlot {
	fn drop(&mut self) {
		self.0.fetch_sub(1, Ordering::AcqRel);
	}
}

/// The fee of one call and where it goes.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
	/// What the payer's account must hold.
	pub total: String,
	/// The model's price, to its beneficiaries.
	pub royalty: String,
	/// The execution fee for all workers asked for.
	pub execution: String,
	/// The validators' share of the execution fee.
	pub validators: String,
	/// The treasury's share of the execution fee.
	pub treasury: String,
	/// What the agreeing workers share.
	pub workers: String,
	/// The most the chain fee can be; settlement returns what the call did not use.
	pub chain: String,
}

impl From<FeeQuote<Balance>> for Quote {
	fn from(quote: FeeQuote<Balance>) -> Self {
		Self {
			total: quote.total.to_string(),
			royalty: quote.royalty.to_string(),
			execution: quote.execution.to_string(),
			validators: quote.validators.to_string(),
			treasury: quote.treasury.to_string(),
			workers: quote.workers.to_string(),
			chain: quote.chain.to_string(),
		}
	}
}

/// Market statistics over a window of epochs or all time.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
	/// First epoch covered (0 for all time).
	pub first_epoch: u32,
	/// Last epoch covered: the current one.
	pub last_epoch: u32,
	/// Settled calls.
	pub calls: u64,
	/// Models with at least one settled call.
	pub models_called: u32,
	/// Fees paid by settled calls; `null` for all time.
	pub fees: Option<String>,
	/// Royalties paid to model beneficiaries.
	pub royalties: String,
	/// Share of calls that went to the 10 most-called models.
	pub top10_share: f64,
	/// Herfindahl–Hirschman index of call shares (1/models for even demand, 1 for one model).
	pub hhi: f64,
	/// Gini coefficient of call volume across the registry's models.
	pub gini: f64,
	/// Calls beyond the per-epoch model listing bound, not attributed to a model.
	pub unlisted_calls: u64,
}

/// A model with its terms and usage.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Model {
	/// The model's id.
	pub id: ModelId,
	/// Its owner (SS58).
	pub owner: String,
	/// Display name.
	pub name: String,
	/// Price of one call.
	pub price: String,
	/// `active`, `paused`, `retired` or `delisted`.
	pub state: &'static str,
	/// Current version.
	pub version: u32,
	/// The model it derives from.
	pub parent: Option<ModelId>,
	/// Block of publication.
	pub created: BlockNumber,
	/// Settled calls.
	pub calls: u64,
	/// Calls that ended without a result.
	pub failures: u64,
	/// Royalties earned.
	pub revenue: String,
	/// Estimated distinct accounts that paid for a settled call.
	pub payers: u64,
	/// Block of the last settled call.
	pub last_call: Option<BlockNumber>,
}

impl From<ModelSummary<AccountId, Balance, BlockNumber>> for Model {
	fn from(model: ModelSummary<AccountId, Balance, BlockNumber>) -> Self {
		Self {
			id: model.id,
			owner: model.owner.to_ss58check(),
			name: String::from_utf8_lossy(&model.name).into_owned(),
			price: model.price.to_string(),
			state: match model.state {
				ModelState::Active => "active",
				ModelState::Paused => "paused",
				ModelState::Retired => "retired",
				ModelState::Delisted => "delisted",
			},
			version: model.version,
			parent: model.parent,
			created: model.created,
			calls: model.calls,
			failures: model.failures,
			revenue: model.revenue.to_string(),
			payers: model.payers,
			last_call: model.last_call,
		}
	}
}

/// One model's usage over a window.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
	/// The model.
	pub model: ModelId,
	/// First epoch covered (0 for all time).
	pub first_epoch: u32,
	/// Last epoch covered: the current one.
	pub last_epoch: u32,
	/// Settled calls.
	pub calls: u64,
	/// Royalties they paid.
	pub royalties: String,
	/// Share of the hub's settled calls in the window.
	pub share: f64,
	/// Place among models by calls (1 is the most called); 0 without calls.
	pub rank: u32,
}

impl Usage {
	fn new(model: ModelId, usage: ModelUsageStats<Balance>) -> Self {
		Self {
			model,
			first_epoch: usage.first_epoch,
			last_epoch: usage.last_epoch,
			calls: usage.calls,
			royalties: usage.royalties.to_string(),
			share: fraction(usage.share),
			rank: usage.rank,
		}
	}
}

/// `running`, `commit` or `reveal`.
fn phase_name(phase: Phase) -> &'static str {
	match phase {
		Phase::Running => "running",
		Phase::Commit => "commit",
		Phase::Reveal => "reveal",
	}
}

/// A failure reason in camelCase, e.g. `artifactHashMismatch`.
pub(crate) fn failure_name(reason: FailureReason) -> &'static str {
	match reason {
		FailureReason::ModelUnavailable => "modelUnavailable",
		FailureReason::ArtifactHashMismatch => "artifactHashMismatch",
		FailureReason::InvalidModel => "invalidModel",
		FailureReason::InvalidInput => "invalidInput",
		FailureReason::ExecutionError => "executionError",
	}
}

/// A refund reason in camelCase, e.g. `workersFailed`.
pub(crate) fn refund_name(reason: RefundReason) -> &'static str {
	match reason {
		RefundReason::Timeout => "timeout",
		RefundReason::NoQuorum => "noQuorum",
		RefundReason::NoMajority => "noMajority",
		RefundReason::WorkersFailed => "workersFailed",
	}
}

/// One assigned worker and what it has done.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SlotView {
	/// The worker (SS58).
	pub worker: String,
	/// `assigned`, `committed`, `revealed`, `failed` or `absent`.
	pub state: &'static str,
	/// The hash of the output it submitted or revealed.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub output_hash: Option<String>,
	/// Why it failed.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub reason: Option<&'static str>,
}

impl SlotView {
	fn new(worker: AccountId, state: SlotState) -> Self {
		let (state, output_hash, reason) = match state {
			SlotState::Assigned => ("assigned", None, None),
			SlotState::Committed(_) => ("committed", None, None),
			SlotState::Revealed(hash) => ("revealed", Some(to_hex(&hash, false)), None),
			SlotState::Failed(reason) => ("failed", None, Some(failure_name(reason))),
			SlotState::Absent => ("absent", None, None),
		};
		Self { worker: worker.to_ss58check(), state, output_hash, reason }
	}
}

/// A worker that gave a job up.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Replaced {
	/// The worker (SS58).
	pub worker: String,
	/// Why.
	pub reason: &'static str,
}

/// A request: pending with its workers and fee, or ended with its outcome.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
	/// The request.
	pub id: RequestId,
	/// `pending`, `settled` or `refunded`.
	pub status: &'static str,
	/// Who pays (SS58).
	pub requester: String,
	/// The model called.
	pub model: ModelId,
	/// Pending: the model version it runs.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub version: Option<u32>,
	/// Pending: the fee held and its split.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub fee: Option<Quote>,
	/// Pending: workers asked for.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub redundancy: Option<u32>,
	/// Pending: input length in bytes.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub input_len: Option<u32>,
	/// Pending: `running`, `commit` or `reveal`.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub phase: Option<&'static str>,
	/// Pending: the block at which the phase times out.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub deadline: Option<BlockNumber>,
	/// Pending: block of the request.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub created: Option<BlockNumber>,
	/// Pending: the assigned workers.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub slots: Option<Vec<SlotView>>,
	/// Pending: workers that gave the job up.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub replaced: Option<Vec<Replaced>>,
	/// Settled: the hash of the agreed output.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub output_hash: Option<String>,
	/// Refunded: why.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub reason: Option<&'static str>,
	/// Ended: the block it ended in.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub ended_at: Option<BlockNumber>,
}

/// `(status, output hash, refund reason)` of an outcome.
fn outcome_fields(outcome: Outcome) -> (&'static str, Option<String>, Option<&'static str>) {
	match outcome {
		Outcome::Settled { output_hash } => ("settled", Some(to_hex(&output_hash, false)), None),
		Outcome::Refunded { reason } => ("refunded", None, Some(refund_name(reason))),
	}
}

impl RequestView {
	fn new(id: RequestId, status: RequestStatus<AccountId, Balance, BlockNumber>) -> Self {
		match status {
			RequestStatus::Pending(request) => Self {
				id,
				status: "pending",
				requester: request.requester.to_ss58check(),
				model: request.model,
				version: Some(request.version),
				fee: Some(request.fee.into()),
				redundancy: Some(request.redundancy),
				input_len: Some(request.input_len),
				phase: Some(phase_name(request.phase)),
				deadline: Some(request.deadline),
				created: Some(request.created),
				slots: Some(
					request
						.slots
						.into_iter()
						.map(|(worker, state)| SlotView::new(worker, state))
						.collect(),
				),
				replaced: Some(
					request
						.replaced
						.into_iter()
						.map(|(worker, reason)| Replaced {
							worker: worker.to_ss58check(),
							reason: failure_name(reason),
						})
						.collect(),
				),
				output_hash: None,
				reason: None,
				ended_at: None,
			},
			RequestStatus::Ended { requester, model, outcome, ended_at } => {
				let (status, output_hash, reason) = outcome_fields(outcome);
				Self {
					id,
					status,
					requester: requester.to_ss58check(),
					model,
					version: None,
					fee: None,
					redundancy: None,
					input_len: None,
					phase: None,
					deadline: None,
					created: None,
					slots: None,
					replaced: None,
					output_hash,
					reason,
					ended_at: Some(ended_at),
				}
			},
		}
	}
}

/// An ended request with its output.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResultView {
	/// The request.
	pub id: RequestId,
	/// `settled` or `refunded`.
	pub status: &'static str,
	/// Who paid (SS58).
	pub requester: String,
	/// The model called.
	pub model: ModelId,
	/// Settled: the hash of the output.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub output_hash: Option<String>,
	/// Refunded: why.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub reason: Option<&'static str>,
	/// The canonical output tensor set (hex); `0x` when refunded.
	pub output: String,
	/// The block it ended in.
	pub ended_at: BlockNumber,
}

impl ResultView {
	fn new(id: RequestId, result: InferenceResult<AccountId, BlockNumber>) -> Self {
		let (status, output_hash, reason) = outcome_fields(result.outcome);
		Self {
			id,
			status,
			requester: result.requester.to_ss58check(),
			model: result.model,
			output_hash,
			reason,
			output: to_hex(&result.output, false),
			ended_at: result.ended_at,
		}
	}
}

/// A worker's execution profile, in the names its command line uses.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
	/// ONNX Runtime version, `major.minor.patch`.
	pub onnx_runtime: String,
	/// Graph optimization level: `disabled`, `basic`, `extended`, `layout` or `all`.
	pub graph_optimization: &'static str,
	/// Execution provider, e.g. `cpu`.
	pub execution_provider: &'static str,
	/// Whether deterministic compute is on.
	pub deterministic_compute: bool,
	/// Intra-op threads per execution.
	pub intra_op_threads: u16,
	/// CPU instruction-set class, e.g. `x86-64-avx2`.
	pub cpu_class: &'static str,
}

impl ProfileView {
	fn new(profile: &ExecutionProfile) -> Self {
		Self {
			onnx_runtime: profile.onnx_runtime.to_string(),
			graph_optimization: profile.graph_optimization.as_str(),
			execution_provider: profile.execution_provider.as_str(),
			deterministic_compute: profile.deterministic_compute,
			intra_op_threads: profile.intra_op_threads,
			cpu_class: profile.cpu_class.as_str(),
		}
	}
}

/// A worker serving fast calls of a model.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FastWorkerView {
	/// The worker (SS58).
	pub account: String,
	/// Where it serves fast calls.
	pub endpoint: String,
	/// OPG on hold as its bond.
	pub bond: String,
	/// Jobs it takes at once.
	pub capacity: u32,
}

/// A worker: its bond and terms while registered, and its record.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WorkerView {
	/// The worker (SS58).
	pub account: String,
	/// Whether it is registered (active or unbonding).
	pub registered: bool,
	/// OPG on hold as its bond.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub bond: Option<String>,
	/// Its attestation key (hex).
	#[serde(skip_serializing_if = "Option::is_none")]
	pub attestation_key: Option<String>,
	/// The inference runtime it declares.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub runtime: Option<String>,
	/// Most jobs it takes at once.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub capacity: Option<u32>,
	/// How it runs models.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub profile: Option<ProfileView>,
	/// Jobs assigned and not ended.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub pending_jobs: Option<u32>,
	/// Block of registration.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub registered_at: Option<BlockNumber>,
	/// When leaving: the block from which its bond can be withdrawn.
	#[serde(skip_serializing_if = "Option::is_none")]
	pub unbonding_until: Option<BlockNumber>,
	/// Jobs it was paid for.
	pub jobs: u64,
	/// OPG it earned.
	pub earnings: String,
	/// Times it was slashed.
	pub slashes: u32,
	/// OPG slashed from its bond.
	pub slashed: String,
}

impl WorkerView {
	fn new(account: &AccountId, worker: WorkerSummary<Balance, BlockNumber>) -> Self {
		let registration = worker.registration;
		Self {
			account: account.to_ss58check(),
			registered: registration.is_some(),
			bond: registration.as_ref().map(|r| r.bond.to_string()),
			attestation_key: registration.as_ref().map(|r| to_hex(&r.attestation_key, false)),
			runtime: registration
				.as_ref()
				.map(|r| String::from_utf8_lossy(&r.runtime).into_owned()),
			capacity: registration.as_ref().map(|r| r.capacity),
			profile: registration.as_ref().map(|r| ProfileView::new(&r.profile)),
			pending_jobs: registration.as_ref().map(|r| r.pending_jobs),
			registered_at: registration.as_ref().map(|r| r.registered_at),
			unbonding_until: registration.as_ref().and_then(|r| r.unbonding_until),
			jobs: worker.jobs,
			earnings: worker.earnings.to_string(),
			slashes: worker.slashes,
			slashed: worker.slashed.to_string(),
		}
	}
}

fn fraction(share: Perbill) -> f64 {
	f64::from(share.deconstruct()) / 1e9
}

impl From<MarketStats<Balance>> for Stats {
	fn from(stats: MarketStats<Balance>) -> Self {
		let concentration = stats.concentration;
		Self {
			first_epoch: stats.first_epoch,
			last_epoch: stats.last_epoch,
			calls: concentration.calls,
			models_called: concentration.models_called,
			fees: stats.fees.map(|fees| fees.to_string()),
			royalties: stats.royalties.to_string(),
			top10_share: fraction(concentration.top_share),
			hhi: fraction(concentration.hhi),
			gini: fraction(concentration.gini),
			unlisted_calls: stats.unlisted_calls,
		}
	}
}

/// The `modelhub_*` methods.
#[rpc(server, namespace = "modelhub")]
pub trait ModelHubRpc<BlockHash> {
	/// One model with its usage; `null` if no model has this id.
	#[method(name = "model")]
	fn model(&self, model: ModelId, at: Option<BlockHash>) -> RpcResult<Option<Model>>;

	/// A page of models ordered by `order`: `calls` (default), `revenue` or `newest`; up to
	/// `limit` (default and most 100) from `offset` (default 0). A page reads `offset + limit`
	/// index entries, so offsets past [`MAX_SAFE_OFFSET`] need `--rpc-methods unsafe`.
	#[method(name = "models", with_extensions)]
	fn models(
		&self,
		order: Option<String>,
		offset: Option<u32>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Vec<Model>>;

	/// The fee of calling `model` on `inputLen` input bytes with `redundancy` workers
	/// (default 1), broken down the way settlement pays it.
	#[method(name = "quote")]
	fn quote(
		&self,
		model: ModelId,
		input_len: u32,
		redundancy: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Quote>;

	/// Calls, fees, royalties and the concentration of demand across models (top-10 share,
	/// HHI, Gini) over the `epochs` most recent epochs (the current one included), or over
	/// all time when `epochs` is null.
	#[method(name = "marketStats")]
	fn market_stats(&self, epochs: Option<u32>, at: Option<BlockHash>) -> RpcResult<Stats>;

	/// `model`'s settled calls, royalties, share of all calls and rank over the `epochs` most
	/// recent epochs, or all time when `epochs` is null; `null` if no model has this id.
	#[method(name = "modelUsage")]
	fn model_usage(
		&self,
		model: ModelId,
		epochs: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Usage>>;

	/// A request: pending with its phase, workers and fee, or ended with its outcome; `null`
	/// if it never existed or its result was pruned.
	#[method(name = "request")]
	fn request(&self, request: RequestId, at: Option<BlockHash>) -> RpcResult<Option<RequestView>>;

	/// An ended request's outcome and output; `null` while pending, or if unknown or pruned.
	#[method(name = "result")]
	fn result(&self, request: RequestId, at: Option<BlockHash>) -> RpcResult<Option<ResultView>>;

	/// A worker's bond, terms, jobs, earnings and slashes; `null` if it never registered.
	#[method(name = "worker")]
	fn worker(&self, account: String, at: Option<BlockHash>) -> RpcResult<Option<WorkerView>>;

	/// The workers that serve fast calls of `model` (`docs/fast-path.md`): active, holding its
	/// current version ready, with the endpoint each advertises; empty if none does or the
	/// model is not active.
	#[method(name = "fastWorkers")]
	fn fast_workers(&self, model: ModelId, at: Option<BlockHash>)
		-> RpcResult<Vec<FastWorkerView>>;

	/// Checks a signed `Inference.request_inference` extrinsic (hex) as the runtime will, so a
	/// request that would fail is refused with a JSON-RPC error before anything is paid;
	/// submits it and streams its life: `ready`, `inBlock`, `assigned`, then `settled` with
	/// the output or `refunded` with the reason.
	#[subscription(
		name = "submitAndWatchInference" => "inferenceStatus",
		unsubscribe = "unwatchInference",
		item = watch::InferenceUpdate,
	)]
	fn submit_and_watch_inference(&self, extrinsic: Bytes);
}

/// Serves the `modelhub_*` methods from a client, submitting requests to a transaction pool.
pub struct ModelHub<C, P, B> {
	client: Arc<C>,
	pool: Arc<P>,
	executor: Arc<dyn sp_core::traits::SpawnNamed>,
	/// Watches being followed.
	watches: Arc<AtomicUsize>,
	/// The one follower of blocks for every watch.
	follower: watch::Follower,
	_backend: PhantomData<B>,
}

impl<C: HeaderBackend<Block>, P, B> ModelHub<C, P, B> {
	/// The block `at` names, or the best block.
	fn block(&self, at: Option<Hash>) -> Hash {
		at.unwrap_or_else(|| self.client.info().best_hash)
	}
}

impl<C, P, B> ModelHub<C, P, B> {
	/// Methods backed by `client` and `pool`; subscriptions run on `executor`.
	pub fn new(
		client: Arc<C>,
		pool: Arc<P>,
		executor: Arc<dyn sp_core::traits::SpawnNamed>,
	) -> Self {
		Self {
			client,
			pool,
			executor,
			watches: Default::default(),
			follower: Default::default(),
			_backend: PhantomData,
		}
	}
}

fn runtime_error(error: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(
		codes::RUNTIME_ERROR,
		format!("runtime API call failed: {error}"),
		None::<()>,
	)
}

/// The JSON-RPC error for a request `model` would refuse.
fn request_error(model: ModelId, error: RequestError) -> ErrorObjectOwned {
	let (code, message) = match error {
		RequestError::ModelNotFound => {
			(codes::MODEL_NOT_FOUND, format!("model {model} does not exist"))
		},
		RequestError::ModelNotActive => {
			(codes::MODEL_NOT_ACTIVE, format!("model {model} is paused, retired or delisted"))
		},
		RequestError::InvalidRedundancy => (
			codes::INVALID_REDUNDANCY,
			"redundancy must be between 1 and the runtime's maximum".into(),
		),
		RequestError::InputTooLarge => {
			(codes::INPUT_TOO_LARGE, "the input is longer than the runtime accepts".into())
		},
		RequestError::InputNotCanonical => (
			codes::INPUT_NOT_CANONICAL,
			"the input is not a canonical tensor set (see docs/protocol.md)".into(),
		),
		RequestError::InputDoesNotFitSchema => (
			codes::INPUT_DOES_NOT_FIT_SCHEMA,
			format!("the input does not fit model {model}'s input schema"),
		),
		RequestError::FeeAboveMax => {
			(codes::FEE_ABOVE_MAX, "the fee of this call is above the request's max_fee".into())
		},
		RequestError::InsufficientBalance => (
			codes::INSUFFICIENT_BALANCE,
			"the signer's free balance cannot cover the fee and the transaction fee".into(),
		),
		RequestError::NotEnoughWorkers => (
			codes::NOT_ENOUGH_WORKERS,
			format!("fewer workers hold model {model} ready than the redundancy asks for"),
		),
		RequestError::WorkersBusy => (
			codes::WORKERS_BUSY,
			format!("too few of the workers ready for model {model} are free now"),
		),
		RequestError::NoReadyWorker => (
			codes::NO_READY_WORKER,
			format!("no worker holds model {model}'s current version ready; try again later"),
		),
	};
	ErrorObjectOwned::owned(code, message, None::<()>)
}

impl<C, P, B> ModelHubRpcServer<Hash> for ModelHub<C, P, B>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ sc_client_api::BlockchainEvents<Block>
		+ sc_client_api::StorageProvider<Block, B>
		+ Send
		+ Sync
		+ 'static,
	C::Api: ModelHubApi<Block, AccountId, Balance, BlockNumber>
		+ pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ sp_api::Metadata<Block>,
	P: sc_transaction_pool_api::TransactionPool<Block = Block> + 'static,
	B: sc_client_api::Backend<Block> + Send + Sync + 'static,
{
	fn model(&self, model: ModelId, at: Option<Hash>) -> RpcResult<Option<Model>> {
		let at = self.block(at);
		let model = self.client.runtime_api().model(at, model).map_err(runtime_error)?;
		Ok(model.map(Into::into))
	}

	fn models(
		&self,
		ext: &jsonrpsee::Extensions,
		order: Option<String>,
		offset: Option<u32>,
		limit: Option<u32>,
		at: Option<Hash>,
	) -> RpcResult<Vec<Model>> {
		if offset.unwrap_or(0) > MAX_SAFE_OFFSET {
			sc_rpc_api::check_if_safe(ext)?;
		}
		let order = match order.as_deref().unwrap_or("calls") {
			"calls" => ModelOrder::Calls,
			"revenue" => ModelOrder::Revenue,
			"newest" => ModelOrder::Newest,
			other => {
				return Err(ErrorObjectOwned::owned(
					codes::INVALID_PARAMETER,
					format!("unknown order {other:?}: use calls, revenue or newest"),
					None::<()>,
				))
			},
		};
		let at = self.block(at);
		let page = self
			.client
			.runtime_api()
			.models(at, order, offset.unwrap_or(0), limit.unwrap_or(MAX_PAGE))
			.map_err(runtime_error)?;
		Ok(page.into_iter().map(Into::into).collect())
	}

	fn quote(
		&self,
		model: ModelId,
		input_len: u32,
		redundancy: Option<u32>,
		at: Option<Hash>,
	) -> RpcResult<Quote> {
		let at = self.block(at);
		let quote = self
			.client
			.runtime_api()
			.quote(at, model, input_len, redundancy.unwrap_or(1))
			.map_err(runtime_error)?
			.map_err(|error| request_error(model, error))?;
		Ok(quote.into())
	}

	fn market_stats(&self, epochs: Option<u32>, at: Option<Hash>) -> RpcResult<Stats> {
		let at = self.block(at);
		let window = epochs.map_or(StatsWindow::AllTime, StatsWindow::Epochs);
		let stats = self.client.runtime_api().market_stats(at, window).map_err(runtime_error)?;
		Ok(stats.into())
	}

	fn model_usage(
		&self,
		model: ModelId,
		epochs: Option<u32>,
		at: Option<Hash>,
	) -> RpcResult<Option<Usage>> {
		let at = self.block(at);
		let window = epochs.map_or(StatsWindow::AllTime, StatsWindow::Epochs);
		let usage =
			self.client.runtime_api().model_usage(at, model, window).map_err(runtime_error)?;
		Ok(usage.map(|usage| Usage::new(model, usage)))
	}

	fn request(&self, request: RequestId, at: Option<Hash>) -> RpcResult<Option<RequestView>> {
		let at = self.block(at);
		let status = self.client.runtime_api().request(at, request).map_err(runtime_error)?;
		Ok(status.map(|status| RequestView::new(request, status)))
	}

	fn result(&self, request: RequestId, at: Option<Hash>) -> RpcResult<Option<ResultView>> {
		let at = self.block(at);
		let result = self.client.runtime_api().result(at, request).map_err(runtime_error)?;
		Ok(result.map(|result| ResultView::new(request, result)))
	}

	fn worker(&self, account: String, at: Option<Hash>) -> RpcResult<Option<WorkerView>> {
		let who = AccountId::from_ss58check(&account).map_err(|error| {
			ErrorObjectOwned::owned(
				codes::INVALID_PARAMETER,
				format!("{account:?} is not an SS58 address: {error:?}"),
				None::<()>,
			)
		})?;
		let at = self.block(at);
		let worker = self.client.runtime_api().worker(at, who.clone()).map_err(runtime_error)?;
		Ok(worker.map(|worker| WorkerView::new(&who, worker)))
	}

	fn fast_workers(&self, model: ModelId, at: Option<Hash>) -> RpcResult<Vec<FastWorkerView>> {
		let at = self.block(at);
		let workers = self.client.runtime_api().fast_workers(at, model).map_err(runtime_error)?;
		Ok(workers
			.into_iter()
			.map(|fast| FastWorkerView {
				account: fast.worker.to_ss58check(),
				endpoint: String::from_utf8_lossy(&fast.endpoint).into_owned(),
				bond: fast.bond.to_string(),
				capacity: fast.capacity,
			})
			.collect())
	}

	fn submit_and_watch_inference(&self, pending: PendingSubscriptionSink, extrinsic: Bytes) {
		let Some(slot) = WatchSlot::take(&self.watches, MAX_WATCHES) else {
			let error = ErrorObjectOwned::owned(
				codes::TOO_MANY_WATCHES,
				format!("this node follows {MAX_WATCHES} inference watches already: try later"),
				None::<()>,
			);
			self.executor.spawn(
				"modelhub-rpc-watch-refused",
				Some("rpc"),
				Box::pin(async move { pending.reject(error).await }),
			);
			return;
		};
		self.follower.start(self.client.clone(), &self.executor);
		let watch = watch::Watch {
			client: self.client.clone(),
			pool: self.pool.clone(),
			follower: self.follower.clone(),
		};
		self.executor.spawn(
			"modelhub-rpc-watch-inference",
			Some("rpc"),
			Box::pin(async move {
				watch.run(pending, extrinsic.0).await;
				drop(slot);
			}),
		);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn watch_places_are_bounded_and_given_back() {
		let taken = Arc::new(AtomicUsize::new(0));
		let first = WatchSlot::take(&taken, 2);
		let second = WatchSlot::take(&taken, 2);
		assert!(first.is_some() && second.is_some());
		assert!(WatchSlot::take(&taken, 2).is_none());
		drop(first);
		assert_eq!(taken.load(Ordering::Acquire), 1);
		let third = WatchSlot::take(&taken, 2);
		assert!(third.is_some());
		drop((second, third));
		assert_eq!(taken.load(Ordering::Acquire), 0);
	}
}

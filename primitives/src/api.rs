//! `ModelHubApi`: the runtime API behind the node's `modelhub_*` JSON-RPC methods.
//!
//! It answers what plain storage reads cannot: whether a request would be accepted and what it
//! would cost, broken down the way settlement will pay it; where a request is, with its workers
//! and outcome; what a worker has bonded, earned and lost; and how concentrated demand is across
//! the hub over a window of epochs or over all time.

// `decl_runtime_apis!` repeats the trait's bounds on the methods of the client side it writes.
#![allow(clippy::multiple_bound_locations)]

use codec::{Codec, Decode, Encode};
use scale_info::TypeInfo;

use alloc::vec::Vec;

use sp_runtime::{DispatchError, Perbill};

use crate::{
	inference::{FailureReason, Outcome, Phase, RequestId, SlotState},
	registry::{ModelId, ModelVersion},
	stats::Concentration,
};

/// The fee of one call and where it goes when the call settles.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub struct FeeQuote<Balance> {
	/// What the payer's account must hold: `royalty + execution + chain`.
	pub total: Balance,
	/// The model's price, paid to its beneficiaries (and up its lineage).
	pub royalty: Balance,
	/// The execution fee for all the workers asked for.
	pub execution: Balance,
	/// The validators' share of the execution fee.
	pub validators: Balance,
	/// The treasury's share of the execution fee.
	pub treasury: Balance,
	/// What the agreeing workers share.
	pub workers: Balance,
	/// The most the chain fee can be: what the workers' result transactions and the settlement
	/// would cost at the transaction fee's rates, for outputs of the longest length. Settlement
	/// charges the chain fee of the output it stores and returns the rest.
	pub chain: Balance,
}

/// Why a request would be refused: the conditions `request_inference` checks before it holds
/// anything.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum RequestError {
	/// No model has this id.
	ModelNotFound,
	/// The model is paused, retired or delisted.
	ModelNotActive,
	/// Redundancy is 0 or above the runtime's maximum.
	InvalidRedundancy,
	/// The input is longer than the runtime accepts.
	InputTooLarge,
	/// The input is not a canonical tensor set.
	InputNotCanonical,
	/// The input does not fit the model's input schema.
	InputDoesNotFitSchema,
	/// The fee is above the caller's `max_fee`.
	FeeAboveMax,
	/// The requester cannot pay the fee (and the transaction fee) from its free balance.
	InsufficientBalance,
	/// Fewer workers hold the model's current version ready than the redundancy asks for.
	NotEnoughWorkers,
	/// No worker holds the model's current version ready.
	NoReadyWorker,
	/// Enough workers hold the model ready, but too few of them are free now. The transaction
	/// pool keeps such a request until they are (block authors leave it for a later block);
	/// only a call dispatched without the pool's check fails with it.
	WorkersBusy,
}

impl RequestError {
	/// The error's index, as `InvalidTransaction::Custom` carries it when the transaction
	/// pool refuses a request.
	pub const fn code(self) -> u8 {
		self as u8
	}
}

/// Which settled calls market statistics cover.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum StatsWindow {
	/// The given number of most recent epochs, the current (unfinished) one included; at most
	/// the epochs the runtime keeps.
	Epochs(u32),
	/// Every settled call since genesis.
	AllTime,
}

/// Market statistics over a window.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub struct MarketStats<Balance> {
	/// First epoch covered (0 for all time).
	pub first_epoch: u32,
	/// Last epoch covered: the current one.
	pub last_epoch: u32,
	/// Fees paid by settled calls (royalties and execution); `None` for all time, since
	/// execution fees are kept per epoch only.
	pub fees: Option<Balance>,
	/// Royalties paid to model beneficiaries.
	pub royalties: Balance,
	/// Calls, models called, top-10 share, HHI and Gini of call volume across the models in
	/// the registry (those without calls in the window count for the Gini coefficient).
	pub concentration: Concentration,
	/// Calls to models beyond the per-epoch listing bound: counted in `concentration.calls`
	/// but not attributed to a model.
	pub unlisted_calls: u64,
}

/// Where a model is in its life.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ModelState {
	/// Serves calls.
	Active,
	/// Paused by its owner.
	Paused,
	/// Retired by its owner (final).
	Retired,
	/// Delisted by moderation.
	Delisted,
}

/// A model as clients list it: its terms and its usage.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct ModelSummary<AccountId, Balance, BlockNumber> {
	/// The model's id.
	pub id: ModelId,
	/// Who may change it.
	pub owner: AccountId,
	/// Display name (UTF-8).
	pub name: Vec<u8>,
	/// Price of one call.
	pub price: Balance,
	/// Life-cycle state.
	pub state: ModelState,
	/// Current version.
	pub version: ModelVersion,
	/// The model it derives from, if any.
	pub parent: Option<ModelId>,
	/// Block of publication.
	pub created: BlockNumber,
	/// Settled calls.
	pub calls: u64,
	/// Calls that ended without a result.
	pub failures: u64,
	/// Royalties earned.
	pub revenue: Balance,
	/// Estimated distinct accounts that paid for a settled call.
	pub payers: u64,
	/// Block of the last settled call.
	pub last_call: Option<BlockNumber>,
}

/// How a page of models is ordered.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ModelOrder {
	/// Most settled calls first.
	Calls,
	/// Most royalties earned first.
	Revenue,
	/// Most recently published first.
	Newest,
}

/// A request that has not ended.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct PendingRequest<AccountId, Balance, BlockNumber> {
	/// Who pays.
	pub requester: AccountId,
	/// The model called.
	pub model: ModelId,
	/// The model version it runs.
	pub version: ModelVersion,
	/// The fee held in escrow and how settlement will split it.
	pub fee: FeeQuote<Balance>,
	/// Workers asked for.
	pub redundancy: u32,
	/// Length of the input in bytes.
	pub input_len: u32,
	/// Where it is.
	pub phase: Phase,
	/// The block at which the current phase times out.
	pub deadline: BlockNumber,
	/// Block of the request.
	pub created: BlockNumber,
	/// The assigned workers and what each has done.
	pub slots: Vec<(AccountId, SlotState)>,
	/// Workers that gave the job up, with their reasons.
	pub replaced: Vec<(AccountId, FailureReason)>,
}

/// Where a request is.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub enum RequestStatus<AccountId, Balance, BlockNumber> {
	/// Paid for; workers are running it.
	Pending(PendingRequest<AccountId, Balance, BlockNumber>),
	/// Ended; the result is kept for the runtime's retention period.
	Ended {
		/// Who paid.
		requester: AccountId,
		/// The model called.
		model: ModelId,
		/// Settled or refunded.
		outcome: Outcome,
		/// Block at which it ended.
		ended_at: BlockNumber,
	},
}

/// An ended request with its output.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct InferenceResult<AccountId, BlockNumber> {
	/// Who paid.
	pub requester: AccountId,
	/// The model called.
	pub model: ModelId,
	/// Settled or refunded.
	pub outcome: Outcome,
	/// The canonical output tensor set; empty when refunded.
	pub output: Vec<u8>,
	/// Block at which it ended.
	pub ended_at: BlockNumber,
}

/// A registered worker's bond and terms.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct WorkerRegistration<Balance, BlockNumber> {
	/// OPG on hold as its bond.
	pub bond: Balance,
	/// sr25519 key that signs its attestations.
	pub attestation_key: [u8; 32],
	/// The inference runtime it declares (UTF-8).
	pub runtime: Vec<u8>,
	/// Most jobs it takes at once.
	pub capacity: u32,
	/// How it runs models.
	pub profile: crate::worker::ExecutionProfile,
	/// Jobs assigned and not ended.
	pub pending_jobs: u32,
	/// Block of registration.
	pub registered_at: BlockNumber,
	/// `Some(block)` when it is leaving: its bond can be withdrawn from that block.
	pub unbonding_until: Option<BlockNumber>,
}

/// A worker: its registration, if any, and its record, kept after it leaves.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct WorkerSummary<Balance, BlockNumber> {
	/// Bond and terms while registered.
	pub registration: Option<WorkerRegistration<Balance, BlockNumber>>,
	/// Jobs it was paid for.
	pub jobs: u64,
	/// OPG it earned.
	pub earnings: Balance,
	/// Times it was slashed.
	pub slashes: u32,
	/// OPG slashed from its bond.
	pub slashed: Balance,
}

/// One model's usage over a window.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub struct ModelUsageStats<Balance> {
	/// First epoch covered (0 for all time).
	pub first_epoch: u32,
	/// Last epoch covered: the current one.
	pub last_epoch: u32,
	/// Settled calls of the model.
	pub calls: u64,
	/// Royalties they paid.
	pub royalties: Balance,
	/// Its share of the hub's settled calls in the window.
	pub share: Perbill,
	/// Its place among models by calls in the window: one more than the number of models
	/// with more calls (models with equal calls share a place); 0 without calls. All time,
	/// every model ever published counts, removed ones included.
	pub rank: u32,
}

/// Most models one page holds.
pub const MAX_PAGE: u32 = 100;

/// A signed `Inference.request_inference` extrinsic, read by the runtime, and whether its
/// request would be accepted now.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct RequestCheck<Balance> {
	/// The model called.
	pub model: ModelId,
	/// Length of the input in bytes.
	pub input_len: u32,
	/// Workers asked for.
	pub redundancy: u32,
	/// The most the signer pays.
	pub max_fee: Balance,
	/// The transaction fee the signer pays first (with the tip).
	pub tx_fee: Balance,
	/// The request's fee if it would be accepted now; otherwise why not.
	pub verdict: Result<FeeQuote<Balance>, RequestError>,
}

/// Why bytes are not a signed request extrinsic of this chain.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExtrinsicError {
	/// They do not decode as an extrinsic of this runtime.
	Undecodable,
	/// The extrinsic is not signed by an account id.
	NotSigned,
	/// The extrinsic does not call `Inference.request_inference`.
	NotARequest,
}

/// What an extrinsic did in the block that included it.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub enum ExtrinsicOutcome<AccountId, BlockNumber> {
	/// It made a request: the fee is held and workers are assigned.
	Requested {
		/// The request id.
		request: RequestId,
		/// The model called.
		model: ModelId,
		/// The workers assigned.
		workers: Vec<AccountId>,
		/// The block at which the first phase times out.
		deadline: BlockNumber,
	},
	/// It failed with this error; the transaction fee was paid.
	Failed(DispatchError),
	/// It succeeded without making a request.
	Succeeded,
}

/// How a request ended, as the block that ended it records it.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct RequestEnd<AccountId, Balance> {
	/// Settled or refunded.
	pub outcome: Outcome,
	/// The canonical output tensor set; empty when refunded.
	pub output: Vec<u8>,
	/// The workers that agreed on the output; empty when refunded.
	pub workers: Vec<AccountId>,
	/// Every payment made from the fee; empty when refunded.
	pub payouts: Vec<(AccountId, Balance)>,
	/// The amount returned; zero when settled.
	pub refunded: Balance,
}

/// A worker that serves fast calls of a model: it holds the model's current version ready and
/// advertises an endpoint (`docs/fast-path.md`).
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct FastWorker<AccountId, Balance> {
	/// The worker.
	pub worker: AccountId,
	/// Where it serves fast calls (a URL, UTF-8).
	pub endpoint: Vec<u8>,
	/// Its bond: what a dispute can take from it.
	pub bond: Balance,
	/// Jobs it takes at once.
	pub capacity: u32,
}

sp_api::decl_runtime_apis! {
	/// Requests, fee quotes, models, workers and market statistics of the OPG Model Hub.
	// The client side that the macro writes adds parameters to every method.
	#[allow(clippy::too_many_arguments)]
	#[api_version(3)]
	pub trait ModelHubApi<AccountId: Codec, Balance: Codec, BlockNumber: Codec> {
		/// One model with its usage.
		fn model(model: ModelId) -> Option<ModelSummary<AccountId, Balance, BlockNumber>>;
		/// Up to `limit` (at most [`MAX_PAGE`]) models from `offset` in `order`; ties go to the
		/// lower id.
		fn models(order: ModelOrder, offset: u32, limit: u32) -> Vec<ModelSummary<AccountId, Balance, BlockNumber>>;
		/// `model`'s settled calls, royalties, share and rank over `window`; `None` if no model
		/// has this id.
		fn model_usage(model: ModelId, window: StatsWindow) -> Option<ModelUsageStats<Balance>>;
		/// The fee of calling `model` on `input_len` input bytes with `redundancy` workers.
		fn quote(model: ModelId, input_len: u32, redundancy: u32) -> Result<FeeQuote<Balance>, RequestError>;
		/// Whether `request_inference(model, input, max_fee, redundancy)` signed by `who` would
		/// be accepted now, with `tx_fee` paid first from the same account; its fee if so.
		fn check_request(
			who: AccountId,
			model: ModelId,
			input: Vec<u8>,
			max_fee: Balance,
			redundancy: u32,
			tx_fee: Balance,
		) -> Result<FeeQuote<Balance>, RequestError>;
		/// A request that has not ended, or one whose result is still kept.
		fn request(request: RequestId) -> Option<RequestStatus<AccountId, Balance, BlockNumber>>;
		/// An ended request's outcome and output, while kept.
		fn result(request: RequestId) -> Option<InferenceResult<AccountId, BlockNumber>>;
		/// A worker's registration and record; `None` if it never registered.
		fn worker(worker: AccountId) -> Option<WorkerSummary<Balance, BlockNumber>>;
		/// Calls, fees and concentration of demand across models over `window`.
		fn market_stats(window: StatsWindow) -> MarketStats<Balance>;
		/// Reads `extrinsic` as a signed `Inference.request_inference` and checks its request
		/// as [`check_request`](Self::check_request) does, with the transaction fee (and tip)
		/// it pays.
		fn check_request_extrinsic(extrinsic: Vec<u8>) -> Result<RequestCheck<Balance>, ExtrinsicError>;
		/// At a block: what its extrinsic at `index` did; `None` if it has no such extrinsic.
		fn extrinsic_outcome(index: u32) -> Option<ExtrinsicOutcome<AccountId, BlockNumber>>;
		/// At a block: the requests that ended in it.
		fn requests_ended() -> Vec<RequestId>;
		/// At the block `request` ended in: how it ended; `None` if it did not end there.
		fn request_end(request: RequestId) -> Option<RequestEnd<AccountId, Balance>>;

		/// The workers that serve fast calls of `model`: active, holding its current version
		/// ready, with an endpoint; empty if the model is not active.
		#[api_version(3)]
		fn fast_workers(model: ModelId) -> Vec<FastWorker<AccountId, Balance>>;
	}
}

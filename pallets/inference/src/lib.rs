//! # Inference pallet
//!
//! Paid inference on the OPG Model Hub: a developer pays per call, bonded workers run the
//! model, and the fee is settled in OPG or refunded in full.
//!
//! ## Life of a request
//!
//! 1. [`Pallet::request_inference`] checks that the model is active and that the input is a
//!    canonical tensor set fitting the model's input schema, quotes the fee (the model's price;
//!    [`Config::BaseExecutionFee`] and [`Config::ExecutionFeePerByte`] per input byte, times the
//!    redundancy; and the most the chain fee can be, [`Pallet::max_chain_fee`]), holds it from
//!    the requester under
//!    [`HoldReason::Escrow`], and has [`Config::Verifier`] draw `redundancy` distinct workers
//!    by bond, among those that declared the model's current version ready, from a seed of
//!    the parent block hash and the request id. A model no ready worker serves is refused
//!    ([`Error::NoReadyWorker`]) before anything is held.
//! 2. With redundancy 1 the worker calls [`Pallet::submit_result`] with the canonical output
//!    and its attestation (an sr25519 signature over
//!    [`modelhub_primitives::inference::Attestation`]) before [`Config::ResultTimeout`].
//! 3. With redundancy above 1 every worker first calls [`Pallet::commit_result`] with
//!    [`modelhub_primitives::inference::result_commitment`] before [`Config::CommitTimeout`],
//!    then [`Pallet::reveal_result`] with the output, salt and attestation before
//!    [`Config::RevealTimeout`]. When every committed worker has revealed, or at the reveal
//!    deadline, a strict majority of the redundancy settles the request: on one output hash
//!    (the fast path), or else on the output most workers are within the model's tolerance of
//!    ([`modelhub_primitives::agreement::verdict`]). Without a majority, more workers are
//!    drawn (up to [`Config::MaxRedundancy`]) so that one can form and the minority pays
//!    ([`Event::DisagreementEscalated`]).
//! 4. A worker that cannot run the job calls [`Pallet::report_failure`]; the job goes to
//!    another worker up to [`Config::MaxReassignments`] times per request, otherwise the slot
//!    fails (and with redundancy 1 the request is refunded).
//!    A signed request that would fail is refused earlier still, by the transaction
//!    extension [`CheckInferenceRequest`]: the pool does not admit it and no block includes
//!    it, so it costs nothing, not even a transaction fee.
//! 5. Missed deadlines are handled in `on_initialize`, oldest first, within
//!    [`Config::DeadlineWeight`] per block (the rest wait for the next block): absent workers
//!    are slashed, and the request is refunded in full unless a majority can still form.
//!    Scheduling a deadline never fails: any number of requests may share a block.
//!
//! ## Settlement
//!
//! [`Config::Verifier`] splits the fee: the royalty across the model's lineage, the execution
//! fee between the validators' pot, the treasury and the workers whose outputs agreed with the
//! settled one. Workers send their results free, so the requester pays the chain fee instead:
//! what those transactions and the settlement would cost at the transaction fee's rates
//! ([`Pallet::chain_fee`]: their weight, and [`Config::OutputFeePerByte`] per output byte), paid
//! to [`Config::ChainFeeBeneficiary`]; the part of the held chain fee the call did not use
//! returns to the requester. Each part moves straight from the requester's held balance to
//! its recipient, so the sum paid out is exactly the fee and total issuance never changes. A part that cannot be paid (a new account below
//! the existential deposit) returns to the requester. Workers that revealed an output beyond the
//! model's fraud margin are slashed; so are workers that reported a failure when a verified
//! majority (at least two workers agreeing) settled the request, never on one unchecked
//! worker's word; an output between the tolerance and the fraud margin earns nothing but costs
//! no bond ([`Event::WorkerUnpaid`]). A slash takes at least the request's fee, within the
//! worker's bond.
//!
//! The ended request's [`ResultRecord`] is kept at least [`Config::ResultRetention`] blocks,
//! then pruned in `on_idle`. Settled calls are counted per model in the registry and per
//! epoch here ([`Epochs`], [`EpochModelCalls`]), for the concentration statistics in
//! [`modelhub_primitives::stats`].
//!
//! Invariant (checked by `try_state`): each account's balance on hold for
//! [`HoldReason::Escrow`] equals the fees of its requests that have not ended, and every such
//! request has its input, its assignments and a deadline entry.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod extension;
mod lifecycle;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use extension::CheckInferenceRequest;
pub use types::*;
pub use weights::WeightInfo;

/// What the benchmarks need from the runtime: a model to call and workers to run it.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Balance> {
	/// Publishes a model with input `x` and output `y` (both `f32`, one dynamic dimension)
	/// whose royalty payout reaches `recipients` accounts across its lineage (at most
	/// `ModelRegistry::max_royalty_recipients`).
	fn publish_model(owner: &AccountId, recipients: u32) -> modelhub_primitives::registry::ModelId;
	/// Registers `pool` funded workers (at least `count`) with attestation keys the helper can
	/// sign with, all ready for `model`, and returns `count` of them.
	fn register_workers(
		model: modelhub_primitives::registry::ModelId,
		count: u32,
		pool: u32,
	) -> alloc::vec::Vec<AccountId>;
	/// `worker`'s attestation signature over `message`.
	fn sign(worker: &AccountId, message: &[u8]) -> [u8; 64];
	/// Funds `who` with `amount`.
	fn fund(who: &AccountId, amount: Balance);
}

// The code `frame_support::pallet` writes for the pallet's struct, storage and errors calls
// `expect` on values it builds itself; `scripts/lint.sh` keeps `expect` out of this file. The
// functions it writes for each call take the call's arguments as they are: `dispute` has eight.
#[frame_support::pallet]
#[allow(clippy::expect_used, clippy::too_many_arguments)]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		dispatch::PostDispatchInfo,
		pallet_prelude::*,
		traits::fungible::{Inspect, Mutate, MutateHold},
		weights::WeightToFee,
	};
	use frame_system::pallet_prelude::*;
	use modelhub_primitives::{
		channel::FastAttestation,
		inference::{FailureReason, RequestId, Verifier},
		registry::{ModelId, ModelRegistry},
	};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the inference pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The native token; fees are held through it.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// The model registry: call terms, usage counters.
		type Registry: ModelRegistry<Self::AccountId, BalanceOf<Self>>;

		/// The verification pallet: workers, attestations, slashing, fee splits.
		type Verifier: Verifier<Self::AccountId, BalanceOf<Self>>;

		/// Execution fee per worker, before the per-byte part.
		type BaseExecutionFee: Get<BalanceOf<Self>>;

		/// Execution fee per worker per input byte.
		type ExecutionFeePerByte: Get<BalanceOf<Self>>;

		/// Converts the weight of a call's result transactions and settlement into the chain
		/// fee the requester pays for them (the transaction fee's own conversion).
		type WeightToFee: WeightToFee<Balance = BalanceOf<Self>>;

		/// Chain fee per output byte a worker submits (the transaction fee's per-byte rate).
		type OutputFeePerByte: Get<BalanceOf<Self>>;

		/// Who receives the chain fee: those who carry the chain's work (the validators' pot).
		type ChainFeeBeneficiary: Get<Self::AccountId>;

		/// Most workers one request may ask for.
		#[pallet::constant]
		type MaxRedundancy: Get<u32>;

		/// Longest request input, in bytes.
		#[pallet::constant]
		type MaxInputLen: Get<u32>;

		/// Longest output, in bytes.
		#[pallet::constant]
		type MaxOutputLen: Get<u32>;

		/// Most elements a revealed output may have to be compared with others under its
		/// model's tolerance; larger outputs are agreed on by their hash alone.
		#[pallet::constant]
		type MaxComparedElements: Get<u32>;

		/// Most times one request's jobs are handed to another worker.
		#[pallet::constant]
		type MaxReassignments: Get<u32>;

		/// Blocks a worker has to submit a result (redundancy 1).
		#[pallet::constant]
		type ResultTimeout: Get<BlockNumberFor<Self>>;

		/// Blocks workers have to commit (redundancy above 1).
		#[pallet::constant]
		type CommitTimeout: Get<BlockNumberFor<Self>>;

		/// Blocks committed workers have to reveal.
		#[pallet::constant]
		type RevealTimeout: Get<BlockNumberFor<Self>>;

		/// Blocks an ended request's result is kept at least.
		#[pallet::constant]
		type ResultRetention: Get<BlockNumberFor<Self>>;

		/// Most weight `on_initialize` spends on missed deadlines in one block; deadlines beyond
		/// it are handled in the next blocks, oldest first. Must fit at least one at its
		/// costliest ([`Pallet::deadline_weight_for`]).
		#[pallet::constant]
		type DeadlineWeight: Get<Weight>;

		/// Blocks per usage epoch.
		#[pallet::constant]
		type EpochLength: Get<BlockNumberFor<Self>>;

		/// Epochs of per-model usage kept.
		#[pallet::constant]
		type EpochsKept: Get<u32>;

		/// Blocks after a fast-path receipt's block during which it may be disputed
		/// ([`Pallet::dispute`]).
		#[pallet::constant]
		type DisputeWindow: Get<BlockNumberFor<Self>>;

		/// Most models listed per epoch; when the list is full, a call to another model replaces
		/// the listed model that stands lowest ([`EpochModelUsage::standing`]).
		#[pallet::constant]
		type MaxModelsPerEpoch: Get<u32>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;

		/// Sets up models and workers for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId, BalanceOf<Self>>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The fee of a request that has not ended.
		#[codec(index = 0)]
		Escrow,
	}

	/// The id the next request gets.
	#[pallet::storage]
	pub type NextRequestId<T> = StorageValue<_, RequestId, ValueQuery>;

	/// Requests that have not ended.
	#[pallet::storage]
	pub type Requests<T: Config> = StorageMap<_, Twox64Concat, RequestId, RequestOf<T>>;

	/// The input of each request that has not ended.
	#[pallet::storage]
	pub type Inputs<T: Config> = StorageMap<_, Twox64Concat, RequestId, InputOf<T>>;

	/// The first revealed output for each output hash of a request that has not ended.
	#[pallet::storage]
	pub type RevealedOutputs<T: Config> =
		StorageDoubleMap<_, Twox64Concat, RequestId, Identity, [u8; 32], OutputOf<T>>;

	/// The jobs each worker still has to do: (worker, request).
	#[pallet::storage]
	pub type Assignments<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, RequestId, ()>;

	/// The block at which each running request's current phase times out: (block, request).
	/// Any number of requests may share a block; there is one entry per running request.
	#[pallet::storage]
	pub type Deadlines<T: Config> =
		StorageDoubleMap<_, Twox64Concat, BlockNumberFor<T>, Twox64Concat, RequestId, ()>;

	/// The earliest block whose deadlines may not all have been handled.
	#[pallet::storage]
	pub type DeadlineCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// Ended requests: outcome and output.
	#[pallet::storage]
	pub type Results<T: Config> = StorageMap<_, Twox64Concat, RequestId, ResultOf<T>>;

	/// The lowest request id whose result may not have been pruned.
	#[pallet::storage]
	pub type PruneCursor<T> = StorageValue<_, RequestId, ValueQuery>;

	/// Totals of each kept epoch.
	#[pallet::storage]
	pub type Epochs<T: Config> =
		StorageMap<_, Twox64Concat, EpochIndex, EpochTotals<BalanceOf<T>>, ValueQuery>;

	/// Settled calls per model per kept epoch.
	#[pallet::storage]
	pub type EpochModelCalls<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		EpochIndex,
		Twox64Concat,
		ModelId,
		EpochModelUsage<BalanceOf<T>>,
		ValueQuery,
	>;

	/// The listed models of each kept epoch by standing: (epoch, standing, model). The list's
	/// lowest is found here when a newcomer replaces it.
	#[pallet::storage]
	pub type EpochStandings<T: Config> = StorageNMap<
		_,
		(
			NMapKey<Twox64Concat, EpochIndex>,
			NMapKey<Twox64Concat, u64>,
			NMapKey<Twox64Concat, ModelId>,
		),
		(),
	>;

	/// The court request of each dispute that has not ended: the accused worker and its
	/// attested output's hash, and what the disputed call paid.
	#[pallet::storage]
	pub type Disputes<T: Config> =
		StorageMap<_, Twox64Concat, RequestId, Dispute<T::AccountId, BalanceOf<T>>>;

	/// The receipts disputed, by the last block of their dispute window: a receipt is disputed
	/// at most once. Entries are pruned once their window has passed.
	#[pallet::storage]
	pub type Disputed<T: Config> =
		StorageDoubleMap<_, Twox64Concat, BlockNumberFor<T>, Identity, [u8; 32], ()>;

	/// The earliest window end whose disputed receipts may not have been pruned.
	#[pallet::storage]
	pub type DisputeCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// Events of the inference pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A request was paid for and assigned.
		InferenceRequested {
			/// The request.
			request: RequestId,
			/// The model called.
			model: ModelId,
			/// Who pays.
			requester: T::AccountId,
			/// The fee held.
			fee: BalanceOf<T>,
			/// The workers assigned.
			workers: Vec<T::AccountId>,
			/// When the first phase times out.
			deadline: BlockNumberFor<T>,
		},
		/// A worker committed to an output.
		ResultCommitted {
			/// The request.
			request: RequestId,
			/// The worker.
			worker: T::AccountId,
		},
		/// Every worker has committed (or dropped out); reveals are open.
		RevealStarted {
			/// The request.
			request: RequestId,
			/// When reveals time out.
			deadline: BlockNumberFor<T>,
		},
		/// A worker submitted or revealed an attested output.
		ResultSubmitted {
			/// The request.
			request: RequestId,
			/// The worker.
			worker: T::AccountId,
			/// Hash of its canonical output.
			output_hash: [u8; 32],
		},
		/// A worker reported that it could not run the job.
		FailureReported {
			/// The request.
			request: RequestId,
			/// The worker.
			worker: T::AccountId,
			/// Why.
			reason: FailureReason,
		},
		/// A job moved to another worker.
		JobReassigned {
			/// The request.
			request: RequestId,
			/// The worker that gave it up.
			from: T::AccountId,
			/// The worker that has it now.
			to: T::AccountId,
			/// When the phase now times out.
			deadline: BlockNumberFor<T>,
		},
		/// The request settled: the fee was paid out and the output stored.
		InferenceSettled {
			/// The request.
			request: RequestId,
			/// Hash of the agreed output.
			output_hash: [u8; 32],
			/// The workers that agreed on it and were paid.
			workers: Vec<T::AccountId>,
			/// Every payment made from the fee.
			payouts: Vec<(T::AccountId, BalanceOf<T>)>,
		},
		/// No output had a majority: more workers were drawn, and the request takes commitments
		/// from them (the outputs already revealed stand).
		DisagreementEscalated {
			/// The request.
			request: RequestId,
			/// The workers added.
			workers: Vec<T::AccountId>,
			/// The redundancy now: a strict majority of it settles the request.
			redundancy: u32,
			/// When the new workers' commitments time out.
			deadline: BlockNumberFor<T>,
		},
		/// A worker revealed an output beyond the model's tolerance of the settled one but within
		/// its fraud margin: it is not paid and keeps its bond.
		WorkerUnpaid {
			/// The request.
			request: RequestId,
			/// The worker.
			worker: T::AccountId,
			/// Hash of its output.
			output_hash: [u8; 32],
		},
		/// A fast-path receipt was disputed: `request` re-runs the call with other workers, the
		/// accused's attested output standing as one of its revealed outputs.
		ReceiptDisputed {
			/// The court request.
			request: RequestId,
			/// The worker whose receipt is disputed.
			worker: T::AccountId,
			/// The channel that paid for the disputed call.
			channel: u64,
			/// The call's number on that channel.
			call: u64,
		},
		/// The court found the accused's output beyond the model's fraud margin of the
		/// majority's: it was slashed and the disputer compensated from the slash.
		DisputeUpheld {
			/// The court request.
			request: RequestId,
			/// The worker slashed.
			worker: T::AccountId,
			/// The amount slashed.
			slashed: BalanceOf<T>,
			/// The part of it paid to the disputer.
			compensation: BalanceOf<T>,
		},
		/// The court found the accused's output within the model's fraud margin of the
		/// majority's: the disputer paid for the court request like any request.
		DisputeDismissed {
			/// The court request.
			request: RequestId,
			/// The worker whose receipt was disputed.
			worker: T::AccountId,
		},
		/// The request was refunded in full.
		InferenceRefunded {
			/// The request.
			request: RequestId,
			/// The amount returned.
			amount: BalanceOf<T>,
			/// Why.
			reason: RefundReason,
		},
		/// Settled calls were counted in the model's usage: on chain one per settled request,
		/// through a payment channel one per model a settled voucher names. Indexers build the
		/// hub's history from these.
		CallsSettled {
			/// The model called.
			model: ModelId,
			/// Who paid.
			payer: T::AccountId,
			/// Calls settled.
			calls: u64,
			/// What they paid in all: royalties and execution.
			fee: BalanceOf<T>,
			/// The part of `fee` paid to the model's beneficiaries.
			royalty: BalanceOf<T>,
		},
	}

	/// Errors of the inference pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// No model has this id.
		ModelNotFound,
		/// The model is paused, retired or delisted.
		ModelNotActive,
		/// Redundancy is 0 or above [`Config::MaxRedundancy`].
		InvalidRedundancy,
		/// The input is longer than [`Config::MaxInputLen`].
		InputTooLarge,
		/// The input is not a canonical tensor set.
		InputNotCanonical,
		/// The input does not fit the model's input schema.
		InputDoesNotFitSchema,
		/// The fee is above the caller's `max_fee`.
		FeeAboveMax,
		/// The requester cannot put the fee on hold.
		InsufficientBalance,
		/// Fewer workers hold the model's current version ready than the redundancy asks for.
		NotEnoughWorkers,
		/// No request with this id is pending.
		RequestNotFound,
		/// The caller has no open job in this request.
		NotAssigned,
		/// Redundancy above 1 needs `commit_result` and `reveal_result`.
		CommitRevealRequired,
		/// Redundancy 1 needs `submit_result`.
		SubmitResultRequired,
		/// The request is not taking commitments.
		NotInCommitPhase,
		/// The request is not taking reveals.
		NotInRevealPhase,
		/// The caller already committed.
		AlreadyCommitted,
		/// The caller has no commitment to reveal.
		NotCommitted,
		/// The output is longer than [`Config::MaxOutputLen`].
		OutputTooLarge,
		/// The output is not a canonical tensor set, or its floats are not rounded to the
		/// model's output rounding bits.
		OutputNotCanonical,
		/// The output does not fit the model's output schema.
		OutputDoesNotFitSchema,
		/// The revealed output and salt do not match the commitment.
		CommitmentMismatch,
		/// The attestation signature does not verify under the worker's key.
		InvalidAttestation,
		/// The fee could not be split (no agreeing worker, or the model is gone).
		SettlementFailed,
		/// No worker holds the model's current version ready; nothing was charged.
		NoReadyWorker,
		/// Too few of the workers ready for the model are free now. The transaction pool keeps
		/// a signed request until they are; this is the call's error without that check.
		WorkersBusy,
		/// The receipt names another chain's genesis.
		ReceiptNotOfThisChain,
		/// The receipt's block is in the future, or its dispute window has passed.
		DisputeWindowPassed,
		/// The input or the output given does not hash to what the receipt names.
		ReceiptMismatch,
		/// The receipt names an artifact that is not the model's current version.
		ReceiptVersionNotCurrent,
		/// The receipt was disputed already.
		ReceiptAlreadyDisputed,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::process_deadlines(now).saturating_add(Self::prune_epoch(now))
		}

		fn on_idle(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
			let used = Self::prune_results(now, remaining);
			used.saturating_add(Self::prune_disputed(now, remaining.saturating_sub(used)))
		}

		fn integrity_test() {
			use sp_runtime::traits::Zero;
			assert!(T::MaxRedundancy::get() >= 1, "MaxRedundancy must be at least 1");
			assert!(
				T::DeadlineWeight::get().all_gte(Pallet::<T>::deadline_weight_for(1)),
				"DeadlineWeight must fit one missed deadline"
			);
			assert!(!T::ResultTimeout::get().is_zero(), "ResultTimeout must be positive");
			assert!(!T::CommitTimeout::get().is_zero(), "CommitTimeout must be positive");
			assert!(!T::RevealTimeout::get().is_zero(), "RevealTimeout must be positive");
			assert!(!T::EpochLength::get().is_zero(), "EpochLength must be positive");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Pays for one inference of `model` on `input` (a canonical tensor set), run by
		/// `redundancy` workers.
		///
		/// Fails before anything is held if the model is not active, the input does not fit
		/// its schema, the fee is above `max_fee`, or too few workers are eligible. Holds the
		/// fee and emits [`Event::InferenceRequested`] naming the workers. Charged for drawing
		/// from a full pool, and refunded down to the workers that hold the model ready.
		#[pallet::call_index(0)]
		#[pallet::weight(Pallet::<T>::request_weight(input.len() as u32, *redundancy, None))]
		pub fn request_inference(
			origin: OriginFor<T>,
			model: ModelId,
			input: Vec<u8>,
			max_fee: BalanceOf<T>,
			redundancy: u32,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let length = input.len() as u32;
			let (_, ready) = Self::do_request(who, model, input, max_fee, redundancy)?;
			Ok(Some(Self::request_weight(length, redundancy, Some(ready))).into())
		}

		/// Submits the attested output of a redundancy-1 job and settles the request.
		///
		/// `output` is the canonical output tensor set; `signature` is the worker's sr25519
		/// attestation over [`modelhub_primitives::inference::Attestation`]. Free when
		/// accepted, and charged for the payouts it made rather than the most a settlement can
		/// make. Emits [`Event::ResultSubmitted`] and [`Event::InferenceSettled`].
		#[pallet::call_index(1)]
		#[pallet::weight(
			T::WeightInfo::submit_result(output.len() as u32)
				.saturating_add(Pallet::<T>::settle_weight(Pallet::<T>::max_payouts()))
		)]
		pub fn submit_result(
			origin: OriginFor<T>,
			request: RequestId,
			output: Vec<u8>,
			signature: [u8; 64],
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let length = output.len() as u32;
			let payouts = Self::do_submit(who, request, output, signature)?;
			let used =
				T::WeightInfo::submit_result(length).saturating_add(Self::settle_weight(payouts));
			Ok(PostDispatchInfo { actual_weight: Some(used), pays_fee: Pays::No })
		}

		/// Commits to an output of a redundant job without showing it: `commitment` is
		/// [`modelhub_primitives::inference::result_commitment`] of the output hash, a secret
		/// salt and the worker. Free when accepted. Emits [`Event::ResultCommitted`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::commit_result())]
		pub fn commit_result(
			origin: OriginFor<T>,
			request: RequestId,
			commitment: [u8; 32],
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_commit(who, request, commitment)?;
			Ok(Pays::No.into())
		}

		/// Reveals the committed output of a redundant job, with its salt and attestation.
		///
		/// When every committed worker has revealed, the request settles with the output a
		/// strict majority agrees on, exactly or within the model's tolerance, or is refunded
		/// (`docs/protocol.md`). Free when accepted. Emits [`Event::ResultSubmitted`].
		#[pallet::call_index(3)]
		#[pallet::weight(
			T::WeightInfo::reveal_result(output.len() as u32, T::MaxRedundancy::get())
				.saturating_add(Pallet::<T>::max_conclusion_weight())
		)]
		pub fn reveal_result(
			origin: OriginFor<T>,
			request: RequestId,
			output: Vec<u8>,
			salt: [u8; 32],
			signature: [u8; 64],
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let length = output.len() as u32;
			let ended = Self::do_reveal(who, request, output, salt, signature)?;
			let mut used = T::WeightInfo::reveal_result(length, T::MaxRedundancy::get())
				.saturating_add(Self::settle_weight(ended.payouts))
				.saturating_add(Self::comparison_weight(ended.compared));
			if ended.escalated {
				used.saturating_accrue(Self::escalation_weight());
			}
			Ok(PostDispatchInfo { actual_weight: Some(used), pays_fee: Pays::No })
		}

		/// Reports that the caller cannot run its job in `request`, for `reason`.
		///
		/// The job moves to another worker while the request has reassignments left;
		/// otherwise the slot fails, and a request that can no longer settle is refunded. A
		/// report that a succeeding majority contradicts is slashed at settlement. A worker
		/// that cannot get or load the model is no longer drawn for its version until it
		/// declares it ready again. Free when accepted. Emits [`Event::FailureReported`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::report_failure(T::MaxRedundancy::get()))]
		pub fn report_failure(
			origin: OriginFor<T>,
			request: RequestId,
			reason: FailureReason,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_report_failure(who, request, reason)?;
			Ok(Pays::No.into())
		}

		/// Disputes a fast-path receipt (`docs/fast-path.md`): `receipt`, signed by its worker's
		/// attestation key (`signature`), says that the worker ran `model`'s current version
		/// on `input` and got `output`.
		///
		/// Within [`Config::DisputeWindow`] blocks of the receipt's block, once per receipt,
		/// the caller pays for a court request: the call run on the commit–reveal path by
		/// `redundancy` workers drawn without the accused, the accused's output standing as one
		/// more revealed output (the fee is that of a request at `redundancy + 1`, at most
		/// `max_fee`). When it settles, an accused output beyond the model's fraud margin of
		/// the majority's is slashed as a liar's (at least the court fee plus the disputed
		/// call's price and execution fee, within the bond) and the disputer is paid that much
		/// from the slash ([`Event::DisputeUpheld`]); otherwise the disputer has paid for the
		/// court request ([`Event::DisputeDismissed`]). A court request that cannot settle is
		/// refunded in full. Emits [`Event::InferenceRequested`] and
		/// [`Event::ReceiptDisputed`].
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::dispute(
			input.len() as u32,
			output.len() as u32,
			redundancy.saturating_add(1),
			T::Verifier::max_workers(),
		))]
		pub fn dispute(
			origin: OriginFor<T>,
			model: ModelId,
			receipt: FastAttestation<T::AccountId>,
			signature: [u8; 64],
			input: Vec<u8>,
			output: Vec<u8>,
			max_fee: BalanceOf<T>,
			redundancy: u32,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let (input_len, output_len) = (input.len() as u32, output.len() as u32);
			let ready = Self::do_dispute(
				who, model, receipt, signature, input, output, max_fee, redundancy,
			)?;
			let total = redundancy.saturating_add(1);
			Ok(Some(T::WeightInfo::dispute(input_len, output_len, total, ready.max(total))).into())
		}
	}
}

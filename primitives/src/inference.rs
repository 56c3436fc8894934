//! What the inference pallet, the verification pallet, the node's RPC and the worker agree on:
//! request ids, phases and outcomes, failure reasons, the attestation a worker signs, the
//! commitment of commit–reveal, and the trait through which the inference pallet uses the
//! verification pallet.

use crate::registry::{ModelId, ModelVersion};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Identifies an inference request; assigned in increasing order from 0.
pub type RequestId = u64;

/// Domain tag that starts every attestation message.
pub const ATTESTATION_CONTEXT: &[u8] = b"opg:attestation:v1";

/// Domain tag that starts every result commitment preimage.
pub const COMMITMENT_CONTEXT: &[u8] = b"opg:commitment:v1";

/// Why a worker could not produce a result (a closed set).
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum FailureReason {
	/// The artifact could not be fetched from its URI.
	ModelUnavailable,
	/// The fetched artifact's size or blake2-256 differs from the registry's.
	ArtifactHashMismatch,
	/// ONNX Runtime could not load the artifact.
	InvalidModel,
	/// ONNX Runtime rejected the input.
	InvalidInput,
	/// The model failed while running.
	ExecutionError,
}

/// Where a request is in its life.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum Phase {
	/// Redundancy 1: waiting for the worker's `submit_result`.
	Running,
	/// Redundancy above 1: waiting for every worker's `commit_result`.
	Commit,
	/// Redundancy above 1: waiting for the committed workers' `reveal_result`.
	Reveal,
}

/// What one assigned worker has done.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum SlotState {
	/// Assigned; nothing submitted yet.
	Assigned,
	/// Committed to an output (the commitment).
	Committed([u8; 32]),
	/// Submitted or revealed an output (its hash).
	Revealed([u8; 32]),
	/// Reported a failure and was not replaced.
	Failed(FailureReason),
	/// Missed its deadline (and was slashed).
	Absent,
}

/// Why a request was refunded.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum RefundReason {
	/// The worker submitted nothing before the deadline.
	Timeout,
	/// Too few workers committed or stayed to form a majority.
	NoQuorum,
	/// The revealed outputs had no strict majority.
	NoMajority,
	/// Every worker reported a failure and no replacement was left.
	WorkersFailed,
}

/// How a request ended.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum Outcome {
	/// Settled with the output whose blake2-256 is `output_hash`.
	Settled {
		/// Hash of the canonical output.
		output_hash: [u8; 32],
	},
	/// Refunded in full.
	Refunded {
		/// Why.
		reason: RefundReason,
	},
}

/// What a worker attests to: it ran `artifact_hash` on `input_hash` for `request` on the chain
/// whose genesis is `genesis_hash`, and got the canonical output `output_hash`.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Attestation<AccountId> {
	/// Hash of the chain's genesis block, so an attestation cannot be replayed on another chain.
	pub genesis_hash: [u8; 32],
	/// The request.
	pub request: RequestId,
	/// blake2-256 of the ONNX artifact that ran.
	pub artifact_hash: [u8; 32],
	/// blake2-256 of the canonical input.
	pub input_hash: [u8; 32],
	/// blake2-256 of the canonical output.
	pub output_hash: [u8; 32],
	/// The worker's account.
	pub worker: AccountId,
}

impl<AccountId: Encode> Attestation<AccountId> {
	/// The bytes the worker signs with its sr25519 attestation key:
	/// [`ATTESTATION_CONTEXT`] followed by the SCALE encoding of the attestation.
	pub fn message(&self) -> Vec<u8> {
		let mut message = ATTESTATION_CONTEXT.to_vec();
		self.encode_to(&mut message);
		message
	}
}

/// The commitment a worker publishes before revealing its output:
/// `blake2_256(COMMITMENT_CONTEXT ++ SCALE((request, output_hash, salt, worker)))`.
pub fn result_commitment<AccountId: Encode>(
	request: RequestId,
	output_hash: &[u8; 32],
	salt: &[u8; 32],
	worker: &AccountId,
) -> [u8; 32] {
	let mut preimage = COMMITMENT_CONTEXT.to_vec();
	(request, output_hash, salt, worker).encode_to(&mut preimage);
	sp_crypto_hashing::blake2_256(&preimage)
}

/// The verification pallet as the inference pallet sees it: the bonded workers, their
/// attestation keys, slashing, and the split of a settled fee.
pub trait Verifier<AccountId, Balance> {
	/// Picks up to `count` distinct workers ready for `version` of `model` that may take a job,
	/// each pick weighted by bond, leaving out `exclude`. Deterministic in `seed`. Returns the
	/// picks, fewer when too few are eligible, and how many workers hold the version ready
	/// (busy, excluded or not): the draw reads each of them.
	fn select_workers(
		seed: &[u8; 32],
		count: u32,
		exclude: &[AccountId],
		model: ModelId,
		version: ModelVersion,
	) -> (Vec<AccountId>, u32);

	/// The most workers that may hold one model version ready: what one draw scans at most.
	fn max_workers() -> u32;

	/// Records that `worker` does not hold `version` of `model` ready (it said it cannot get
	/// it), so it is not drawn for it again until it declares it anew.
	fn not_ready(worker: &AccountId, model: ModelId, version: ModelVersion);

	/// Records that `worker` took a job; a worker with jobs cannot unregister.
	fn job_assigned(worker: &AccountId);

	/// Records that a job of `worker` ended.
	fn job_ended(worker: &AccountId);

	/// Whether `signature` is `worker`'s attestation signature over `message`.
	fn verify_attestation(worker: &AccountId, message: &[u8], signature: &[u8; 64]) -> bool;

	/// Slashes `worker`'s bond for misbehaving in `request`, whose fee was `at_stake`: the
	/// larger of the slash fraction of the bond and `at_stake`, within the bond. The slashed
	/// amount goes to the treasury. Returns the amount slashed.
	fn slash(worker: &AccountId, request: RequestId, at_stake: Balance) -> Balance;

	/// Slashes `worker` as [`Verifier::slash`] does, and pays `victim` up to `compensation`
	/// of the slashed amount; the rest goes to the treasury. Returns the amount slashed and
	/// the amount paid to `victim`.
	fn slash_compensating(
		worker: &AccountId,
		request: RequestId,
		at_stake: Balance,
		victim: &AccountId,
		compensation: Balance,
	) -> (Balance, Balance);

	/// Whether `worker` is bonded and active: it may take jobs and channels.
	fn is_active(worker: &AccountId) -> bool;

	/// Splits the fee of `calls` settled calls that each paid `royalty` and `execution`: each
	/// call's `royalty` across `model`'s lineage, its `execution` between the validators' pot,
	/// the treasury and `workers` (those that agreed), exactly as one call's, times `calls`;
	/// and records what each worker earned. The amounts sum to exactly
	/// `calls × (royalty + execution)`; no amount is zero. `None` if `model` does not exist,
	/// `workers` is empty or an amount overflows.
	fn settlement(
		model: ModelId,
		royalty: Balance,
		execution: Balance,
		workers: &[AccountId],
		calls: u64,
	) -> Option<Vec<(AccountId, Balance)>>;
}

/// Where settled calls are counted: the usage statistics of the registry and of the epochs.
pub trait CallLedger<AccountId, Balance> {
	/// Counts `calls` settled calls of `model` by `payer`, which paid `fees` in all, `royalty`
	/// of it in royalties.
	fn note_settled_calls(
		model: ModelId,
		payer: &AccountId,
		calls: u64,
		fees: Balance,
		royalty: Balance,
	);
}

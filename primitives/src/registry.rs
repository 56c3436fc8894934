//! What other pallets may ask of the model registry, without depending on it.
//!
//! The registry implements [`ModelRegistry`]; the inference pallet takes any implementation
//! through its `Config`, so the registry knows nothing of requests or workers.

use crate::{agreement::Agreement, schema::IoSchema};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::traits::{Saturating, Zero};

/// Identifies a model; assigned in increasing order from 0.
pub type ModelId = u64;

/// A model's version number; the first published version is 1.
pub type ModelVersion = u32;

/// What an inference request needs to know about a model.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct CallTerms<Balance> {
	/// Price of one call in OPG (the royalty part of the fee).
	pub price: Balance,
	/// Current version.
	pub version: ModelVersion,
	/// blake2-256 of the current ONNX artifact.
	pub artifact_hash: [u8; 32],
	/// Size of the artifact in bytes.
	pub artifact_size: u64,
	/// Declared inputs and outputs.
	pub schema: IoSchema,
	/// Significant mantissa bits floats are rounded to before output hashing.
	pub output_rounding_bits: u8,
	/// When redundant workers' differing outputs still agree.
	pub agreement: Agreement,
}

/// Why a model cannot serve a call.
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
pub enum Unavailable {
	/// No model has this id.
	NotFound,
	/// The owner paused it.
	Paused,
	/// The owner retired it.
	Retired,
	/// Moderation delisted it.
	Delisted,
}

/// The registry as other pallets see it.
pub trait ModelRegistry<AccountId, Balance> {
	/// The terms of a call to `model`, if it is active.
	fn call_terms(model: ModelId) -> Result<CallTerms<Balance>, Unavailable>;

	/// The terms of `version` of `model` whatever the model's status now, so a request can
	/// finish after its model is paused; `None` if there is no such version.
	fn version_terms(model: ModelId, version: ModelVersion) -> Option<CallTerms<Balance>>;

	/// Splits `amount` between the beneficiaries of `model` and of its ancestors.
	///
	/// The amounts sum to exactly `amount`; each account appears at most once; no amount is
	/// zero. `None` if the model does not exist.
	fn royalty_payout(model: ModelId, amount: Balance) -> Option<Vec<(AccountId, Balance)>>;

	/// The most accounts one royalty payout can name: the beneficiaries of a model and of
	/// every ancestor its lineage may have.
	fn max_royalty_recipients() -> u32;

	/// The least a call to `model` may pay in royalties when it is settled now: its price, or,
	/// within the registry's price grace period after a price change, the lowest price it had
	/// in that time (calls accepted off chain at the old price settle later). `None` if the
	/// model does not exist.
	fn price_floor(model: ModelId) -> Option<Balance>;

	/// Records `calls` settled calls of `model` by `payer` that paid `royalty` in royalties
	/// together.
	fn note_calls(model: ModelId, payer: &AccountId, calls: u64, royalty: Balance);

	/// Records a call that ended without a result.
	fn note_failure(model: ModelId);
}

/// Adds `amount` to `who`'s entry in a payout list, creating the entry if needed; a zero
/// amount adds nothing. Payouts built this way name each account once.
pub fn credit<AccountId: PartialEq + Clone, Balance: Saturating + Zero + Copy>(
	payout: &mut Vec<(AccountId, Balance)>,
	who: &AccountId,
	amount: Balance,
) {
	if amount.is_zero() {
		return;
	}
	match payout.iter_mut().find(|(account, _)| account == who) {
		Some((_, total)) => *total = total.saturating_add(amount),
		None => payout.push((who.clone(), amount)),
	}
}

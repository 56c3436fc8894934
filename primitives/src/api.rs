//! `ModelHubApi`: the runtime API behind the node's `modelhub_*` JSON-RPC methods.
//!
//! It answers what plain storage reads cannot: the fee of a call before it is made, broken down
//! the way settlement will pay it, and how concentrated demand is across the hub over a window
//! of epochs or over all time.

use codec::{Codec, Decode, Encode};
use scale_info::TypeInfo;

use crate::{registry::ModelId, stats::Concentration};

/// The fee of one call and where it goes when the call settles.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub struct FeeQuote<Balance> {
	/// What the payer's account must hold: `royalty + execution`.
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
}

/// Why no quote can be given: the same conditions `request_inference` rejects.
#[derive(Encode, Decode, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum QuoteError {
	/// No model has this id.
	ModelNotFound,
	/// The model is paused, retired or delisted.
	ModelNotActive,
	/// Redundancy is 0 or above the runtime's maximum.
	InvalidRedundancy,
	/// The input is longer than the runtime accepts.
	InputTooLarge,
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

sp_api::decl_runtime_apis! {
	/// Fee quotes and market statistics of the OPG Model Hub.
	pub trait ModelHubApi<Balance: Codec> {
		/// The fee of calling `model` on `input_len` input bytes with `redundancy` workers.
		fn quote(model: ModelId, input_len: u32, redundancy: u32) -> Result<FeeQuote<Balance>, QuoteError>;
		/// Calls, fees and concentration of demand across models over `window`.
		fn market_stats(window: StatsWindow) -> MarketStats<Balance>;
	}
}

//! `ModelHubApi`: the runtime API behind the node's `modelhub_*` JSON-RPC methods.
//!
//! It answers what plain storage reads cannot: the fee of a call before it is made, broken down
//! the way settlement will pay it, and how concentrated demand is across the hub over a window
//! of epochs or over all time.

use codec::{Codec, Decode, Encode};
use scale_info::TypeInfo;

use alloc::vec::Vec;

use crate::{
	registry::{ModelId, ModelVersion},
	stats::Concentration,
};

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

/// Most models one page holds.
pub const MAX_PAGE: u32 = 100;

sp_api::decl_runtime_apis! {
	/// Fee quotes, models and market statistics of the OPG Model Hub.
	pub trait ModelHubApi<AccountId: Codec, Balance: Codec, BlockNumber: Codec> {
		/// One model with its usage.
		fn model(model: ModelId) -> Option<ModelSummary<AccountId, Balance, BlockNumber>>;
		/// Up to `limit` (at most [`MAX_PAGE`]) models from `offset` in `order`; ties go to the
		/// lower id.
		fn models(order: ModelOrder, offset: u32, limit: u32) -> Vec<ModelSummary<AccountId, Balance, BlockNumber>>;
		/// The fee of calling `model` on `input_len` input bytes with `redundancy` workers.
		fn quote(model: ModelId, input_len: u32, redundancy: u32) -> Result<FeeQuote<Balance>, QuoteError>;
		/// Calls, fees and concentration of demand across models over `window`.
		fn market_stats(window: StatsWindow) -> MarketStats<Balance>;
	}
}

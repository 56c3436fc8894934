//! `modelhub_*` JSON-RPC methods: models, fee quotes and market statistics, wrapping the runtime's
//! `ModelHubApi` at the best block (or the block `at` names).
//!
//! Balances are decimal strings of the smallest unit (10^-18 OPG), so JavaScript clients lose
//! no precision; shares are fractions between 0 and 1.

use std::{marker::PhantomData, sync::Arc};

use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use modelhub_primitives::{
	api::{
		FeeQuote, MarketStats, ModelHubApi, ModelOrder, ModelState, ModelSummary, QuoteError,
		StatsWindow, MAX_PAGE,
	},
	registry::ModelId,
	AccountId, Balance, BlockNumber,
};
use serde::Serialize;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::crypto::Ss58Codec;
use sp_runtime::{traits::Block as BlockT, Perbill};

/// Error codes of the `modelhub_*` methods.
pub mod codes {
	/// The runtime API call failed.
	pub const RUNTIME_ERROR: i32 = 1000;
	/// No model has this id.
	pub const MODEL_NOT_FOUND: i32 = 1001;
	/// The model is paused, retired or delisted.
	pub const MODEL_NOT_ACTIVE: i32 = 1002;
	/// Redundancy is 0 or above the runtime's maximum.
	pub const INVALID_REDUNDANCY: i32 = 1003;
	/// The input is longer than the runtime accepts.
	pub const INPUT_TOO_LARGE: i32 = 1004;
	/// A parameter has a value the method does not know.
	pub const INVALID_PARAMETER: i32 = 1005;
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
	/// `limit` (default and most 100) from `offset` (default 0).
	#[method(name = "models")]
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
}

/// Serves the `modelhub_*` methods from a client.
pub struct ModelHub<C, Block> {
	client: Arc<C>,
	_block: PhantomData<Block>,
}

impl<C, Block> ModelHub<C, Block> {
	/// Methods backed by `client`.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _block: PhantomData }
	}
}

fn runtime_error(error: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(
		codes::RUNTIME_ERROR,
		format!("runtime API call failed: {error}"),
		None::<()>,
	)
}

fn quote_error(model: ModelId, error: QuoteError) -> ErrorObjectOwned {
	let (code, message) = match error {
		QuoteError::ModelNotFound => {
			(codes::MODEL_NOT_FOUND, format!("model {model} does not exist"))
		},
		QuoteError::ModelNotActive => {
			(codes::MODEL_NOT_ACTIVE, format!("model {model} is paused, retired or delisted"))
		},
		QuoteError::InvalidRedundancy => (
			codes::INVALID_REDUNDANCY,
			"redundancy must be between 1 and the runtime's maximum".into(),
		),
		QuoteError::InputTooLarge => {
			(codes::INPUT_TOO_LARGE, "the input is longer than the runtime accepts".into())
		},
	};
	ErrorObjectOwned::owned(code, message, None::<()>)
}

impl<C, Block> ModelHubRpcServer<<Block as BlockT>::Hash> for ModelHub<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: ModelHubApi<Block, AccountId, Balance, BlockNumber>,
{
	fn model(&self, model: ModelId, at: Option<Block::Hash>) -> RpcResult<Option<Model>> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let model = self.client.runtime_api().model(at, model).map_err(runtime_error)?;
		Ok(model.map(Into::into))
	}

	fn models(
		&self,
		order: Option<String>,
		offset: Option<u32>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Vec<Model>> {
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
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
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
		at: Option<Block::Hash>,
	) -> RpcResult<Quote> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let quote = self
			.client
			.runtime_api()
			.quote(at, model, input_len, redundancy.unwrap_or(1))
			.map_err(runtime_error)?
			.map_err(|error| quote_error(model, error))?;
		Ok(quote.into())
	}

	fn market_stats(&self, epochs: Option<u32>, at: Option<Block::Hash>) -> RpcResult<Stats> {
		let at = at.unwrap_or_else(|| self.client.info().best_hash);
		let window = epochs.map_or(StatsWindow::AllTime, StatsWindow::Epochs);
		let stats = self.client.runtime_api().market_stats(at, window).map_err(runtime_error)?;
		Ok(stats.into())
	}
}

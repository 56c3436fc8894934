//! The hub's history, indexed: what the explorer and the `hubindex_*` JSON-RPC methods read.
//!
//! The chain keeps what settlement and governance need: each model's running totals and the
//! usage of the last epochs. How demand moved over months, model by model, payer by payer and
//! day by day, is history, and lives here: an embedded SQLite database that a node fills from
//! the hub's events block by block ([`Index::apply`]) and answers windowed queries from
//! ([`Index::models`], [`Index::model`], [`Index::uploader`], [`Index::worker`],
//! [`Index::market`]).
//!
//! The index knows nothing of the runtime: a block is given as an [`IndexedBlock`] of
//! [`HubEvent`]s, which the node reads from the chain's events and storage.
//!
//! Balances are `u128`; they are stored as 16-byte big-endian blobs (so that SQL orders them)
//! and summed by the SQL functions `add128` and `sum128` this crate registers.

mod amount;
mod date;
mod query;
mod store;
#[cfg(test)]
mod tests;

pub use amount::Amount;
pub use date::{day_of, format_day, parse_day};
pub use query::{
	Bound, CatalogOrder, CatalogPage, DailyMarket, DailyUsage, DailyWorker, MarketFigures,
	MarketView, ModelDetail, ModelPage, ModelRow, ModelTotals, PayerRow, ReadyWorker, SplitShare,
	Status, UploaderModel, UploaderTotals, UploaderView, VersionRow, Window, WindowSpan,
	WorkerTotals, WorkerView, MAX_PAGE, MAX_POINTS,
};
pub use store::Index;

use modelhub_primitives::{
	registry::{ModelId, ModelVersion},
	Balance, BlockNumber,
};

/// An account id: 32 bytes, shown as an SS58 address (prefix 42).
pub type Account = [u8; 32];

/// Where a model is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelState {
	/// Serves calls.
	Active,
	/// Paused by its owner.
	Paused,
	/// Retired by its owner.
	Retired,
	/// Delisted by moderation.
	Delisted,
}

impl ModelState {
	/// The name the index stores and the RPC shows.
	pub fn name(self) -> &'static str {
		match self {
			Self::Active => "active",
			Self::Paused => "paused",
			Self::Retired => "retired",
			Self::Delisted => "delisted",
		}
	}
}

/// A model's terms as the chain holds them after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelTerms {
	/// The model.
	pub id: ModelId,
	/// Who may change it.
	pub owner: Account,
	/// Display name.
	pub name: String,
	/// Description.
	pub description: String,
	/// Price of one call.
	pub price: Balance,
	/// Life-cycle state.
	pub state: ModelState,
	/// Current version.
	pub version: ModelVersion,
	/// The model it derives from.
	pub parent: Option<ModelId>,
	/// Block of publication.
	pub created: BlockNumber,
	/// Who earns its royalties, in parts per billion.
	pub split: Vec<(Account, u32)>,
}

/// What the index records of a block's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubEvent {
	/// A model was published or its terms changed: its terms after the change.
	ModelChanged(ModelTerms),
	/// A version of a model was published (version 1 with the model).
	VersionPublished {
		/// The model.
		model: ModelId,
		/// The version.
		version: ModelVersion,
		/// Its artifact's hash.
		artifact_hash: [u8; 32],
	},
	/// A model was removed from the registry.
	ModelRemoved {
		/// The model.
		model: ModelId,
	},
	/// Settled calls were counted in a model's usage.
	CallsSettled {
		/// The model called.
		model: ModelId,
		/// Who paid.
		payer: Account,
		/// Calls settled.
		calls: u64,
		/// What they paid in all.
		fee: Balance,
		/// The part of `fee` paid to the model's beneficiaries.
		royalty: Balance,
	},
	/// A worker registered or changed its bond.
	WorkerBonded {
		/// The worker.
		worker: Account,
		/// Its bond now.
		bond: Balance,
		/// Whether it registered just now.
		registered: bool,
	},
	/// A worker declared a model version ready.
	WorkerReady {
		/// The worker.
		worker: Account,
		/// The model.
		model: ModelId,
		/// The version.
		version: ModelVersion,
	},
	/// A worker withdrew its readiness for a model.
	ReadinessWithdrawn {
		/// The worker.
		worker: Account,
		/// The model.
		model: ModelId,
	},
	/// An on-chain request settled: each agreeing worker did one job.
	RequestSettled {
		/// The workers paid for the result.
		workers: Vec<Account>,
		/// Who got what.
		payouts: Vec<(Account, Balance)>,
	},
	/// A payment channel opened.
	ChannelOpened {
		/// The channel.
		channel: u64,
		/// Who pays.
		payer: Account,
		/// The worker it pays.
		worker: Account,
	},
	/// A worker settled calls of a channel.
	ChannelSettled {
		/// The channel.
		channel: u64,
		/// Calls this settlement paid.
		calls: u64,
		/// Who got what.
		payouts: Vec<(Account, Balance)>,
	},
	/// A worker lost bond.
	WorkerSlashed {
		/// The worker.
		worker: Account,
		/// The amount taken.
		amount: Balance,
	},
}

/// A finalized block as the index records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedBlock {
	/// Its number.
	pub number: BlockNumber,
	/// Its hash.
	pub hash: [u8; 32],
	/// Its timestamp, in milliseconds since the Unix epoch.
	pub timestamp: u64,
	/// The hub's events in it, in order.
	pub events: Vec<HubEvent>,
}

/// What can go wrong with the index.
#[derive(Debug)]
pub enum Error {
	/// The database refused an operation.
	Sql(rusqlite::Error),
	/// A block was given out of order: the index holds blocks up to `indexed`.
	NotNextBlock {
		/// The last block indexed.
		indexed: BlockNumber,
		/// The block given.
		given: BlockNumber,
	},
	/// An account is not a valid SS58 address.
	InvalidAccount(String),
	/// A date is not `YYYY-MM-DD`.
	InvalidDate(String),
	/// A window ends before it starts.
	EmptyWindow,
	/// A query's parameter is out of its range.
	InvalidParameter(&'static str),
}

impl std::fmt::Display for Error {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Sql(error) => write!(f, "index database: {error}"),
			Self::NotNextBlock { indexed, given } => {
				write!(f, "block {given} given after block {indexed}")
			},
			Self::InvalidAccount(text) => write!(f, "not an SS58 account: {text}"),
			Self::InvalidDate(text) => write!(f, "not a date (YYYY-MM-DD): {text}"),
			Self::EmptyWindow => write!(f, "the window ends before it starts"),
			Self::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
		}
	}
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
	fn from(error: rusqlite::Error) -> Self {
		Self::Sql(error)
	}
}

/// The index's results.
pub type Result<T> = std::result::Result<T, Error>;

/// The SS58 address of `account` (prefix 42).
pub fn ss58(account: &Account) -> String {
	use sp_core::crypto::Ss58Codec;
	sp_runtime::AccountId32::new(*account)
		.to_ss58check_with_version(sp_core::crypto::Ss58AddressFormat::custom(42))
}

/// The account of an SS58 address.
pub fn parse_ss58(text: &str) -> Result<Account> {
	use sp_core::crypto::Ss58Codec;
	sp_runtime::AccountId32::from_ss58check(text)
		.map(Into::into)
		.map_err(|_| Error::InvalidAccount(text.to_string()))
}

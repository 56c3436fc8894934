//! The database and how blocks are written to it.

use std::{collections::HashMap, path::Path};

use modelhub_primitives::BlockNumber;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::{
	amount::{self, Amount},
	date::day_of,
	Account, Error, HubEvent, IndexedBlock, ModelTerms, Result,
};

/// The schema's version; an index written by another version is rebuilt from the chain.
const SCHEMA_VERSION: i64 = 1;

/// The tables. Balances are 16-byte big-endian blobs ([`Amount`]); accounts are interned in
/// `accounts`; `usage` holds every settlement of calls, `model_day` the same summed per model
/// and UTC day, which windowed market queries read.
const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE accounts (id INTEGER PRIMARY KEY, account BLOB NOT NULL UNIQUE);
CREATE TABLE days (day INTEGER PRIMARY KEY, first_block INTEGER NOT NULL, last_block INTEGER NOT NULL);
CREATE TABLE models (
	id INTEGER PRIMARY KEY,
	owner INTEGER NOT NULL,
	name TEXT NOT NULL,
	description TEXT NOT NULL,
	price BLOB NOT NULL,
	state TEXT NOT NULL,
	version INTEGER NOT NULL,
	parent INTEGER,
	created INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	created_day INTEGER NOT NULL,
	removed INTEGER,
	removed_day INTEGER,
	split TEXT NOT NULL,
	calls INTEGER NOT NULL DEFAULT 0,
	fees BLOB NOT NULL,
	royalties BLOB NOT NULL,
	payers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX models_by_calls ON models (calls DESC, id);
CREATE INDEX models_by_royalties ON models (royalties DESC, id);
CREATE INDEX models_by_price ON models (price, id);
CREATE INDEX models_by_created ON models (created DESC, id);
CREATE INDEX models_by_owner ON models (owner, id);
CREATE INDEX models_by_parent ON models (parent);
CREATE TABLE versions (
	model INTEGER NOT NULL,
	version INTEGER NOT NULL,
	block INTEGER NOT NULL,
	artifact_hash BLOB NOT NULL,
	PRIMARY KEY (model, version)
) WITHOUT ROWID;
CREATE TABLE usage (
	block INTEGER NOT NULL,
	day INTEGER NOT NULL,
	model INTEGER NOT NULL,
	payer INTEGER NOT NULL,
	calls INTEGER NOT NULL,
	fee BLOB NOT NULL,
	royalty BLOB NOT NULL
);
CREATE INDEX usage_by_model ON usage (model, block);
CREATE INDEX usage_by_block ON usage (block);
CREATE TABLE model_day (
	day INTEGER NOT NULL,
	model INTEGER NOT NULL,
	calls INTEGER NOT NULL,
	fees BLOB NOT NULL,
	royalties BLOB NOT NULL,
	PRIMARY KEY (day, model)
) WITHOUT ROWID;
CREATE INDEX model_day_by_model ON model_day (model, day);
CREATE TABLE model_payers (model INTEGER NOT NULL, payer INTEGER NOT NULL, PRIMARY KEY (model, payer)) WITHOUT ROWID;
CREATE TABLE workers (worker INTEGER PRIMARY KEY, registered INTEGER, bond BLOB NOT NULL);
CREATE TABLE worker_activity (
	block INTEGER NOT NULL,
	day INTEGER NOT NULL,
	worker INTEGER NOT NULL,
	jobs INTEGER NOT NULL,
	calls INTEGER NOT NULL,
	earnings BLOB NOT NULL,
	slashes INTEGER NOT NULL,
	slashed BLOB NOT NULL
);
CREATE INDEX worker_activity_by_worker ON worker_activity (worker, block);
CREATE TABLE ready (worker INTEGER NOT NULL, model INTEGER NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (worker, model)) WITHOUT ROWID;
CREATE INDEX ready_by_model ON ready (model);
CREATE TABLE channels (channel INTEGER PRIMARY KEY, payer INTEGER NOT NULL, worker INTEGER NOT NULL);
";

/// The hub's history in an SQLite database.
pub struct Index {
	pub(crate) db: Connection,
	/// Interned accounts: account → row id.
	accounts: HashMap<Account, i64>,
}

impl Index {
	/// Opens (or creates) the index at `path`. An index of another schema version is emptied,
	/// to be filled again from the chain.
	pub fn open(path: &Path) -> Result<Self> {
		Self::with(Connection::open(path)?)
	}

	/// An index in memory.
	pub fn open_in_memory() -> Result<Self> {
		Self::with(Connection::open_in_memory()?)
	}

	fn with(db: Connection) -> Result<Self> {
		db.pragma_update(None, "journal_mode", "WAL")?;
		db.pragma_update(None, "synchronous", "NORMAL")?;
		db.pragma_update(None, "cache_size", -65_536)?;
		db.busy_timeout(std::time::Duration::from_secs(10))?;
		amount::register(&db)?;
		let mut index = Self { db, accounts: HashMap::new() };
		let version: i64 = index.db.pragma_query_value(None, "user_version", |row| row.get(0))?;
		if version != SCHEMA_VERSION {
			index.clear()?;
		}
		Ok(index)
	}

	/// Empties the index, to be filled again from block 1.
	pub fn clear(&mut self) -> Result<()> {
		let tables: Vec<String> = self
			.db
			.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
			.query_map([], |row| row.get(0))?
			.collect::<rusqlite::Result<_>>()?;
		let tx = self.db.transaction()?;
		for table in tables {
			tx.execute_batch(&format!("DROP TABLE IF EXISTS \"{table}\""))?;
		}
		tx.execute_batch(SCHEMA)?;
		tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
		tx.commit()?;
		self.accounts.clear();
		Ok(())
	}

	/// The last block indexed and its hash.
	pub fn indexed(&self) -> Result<Option<(BlockNumber, [u8; 32])>> {
		let number: Option<BlockNumber> = self.meta("block")?;
		let hash: Option<Vec<u8>> = self.meta("hash")?;
		Ok(match (number, hash.and_then(|hash| <[u8; 32]>::try_from(hash).ok())) {
			(Some(number), Some(hash)) => Some((number, hash)),
			_ => None,
		})
	}

	fn meta<T: rusqlite::types::FromSql>(&self, key: &str) -> Result<Option<T>> {
		Ok(self
			.db
			.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0))
			.optional()?)
	}

	/// Records `blocks`, which follow the last block indexed, in one transaction: all of them
	/// or, on an error, none.
	pub fn apply(&mut self, blocks: &[IndexedBlock]) -> Result<()> {
		let mut indexed = self.indexed()?.map(|(number, _)| number);
		let tx = self.db.transaction()?;
		let mut writer = Writer { tx: &tx, accounts: &mut self.accounts, added: Vec::new() };
		let written = (|| {
			for block in blocks {
				if let Some(last) = indexed {
					if Some(block.number) != last.checked_add(1) {
						return Err(Error::NotNextBlock { indexed: last, given: block.number });
					}
				}
				writer.block(block)?;
				indexed = Some(block.number);
			}
			Ok(())
		})();
		let added = std::mem::take(&mut writer.added);
		match written.and_then(|()| tx.commit().map_err(Error::from)) {
			Ok(()) => Ok(()),
			Err(error) => {
				for account in added {
					self.accounts.remove(&account);
				}
				Err(error)
			},
		}
	}
}

/// Writes blocks in a transaction.
struct Writer<'a, 'c> {
	tx: &'a Transaction<'c>,
	accounts: &'a mut HashMap<Account, i64>,
	/// Accounts interned in this transaction, forgotten if it fails.
	added: Vec<Account>,
}

impl Writer<'_, '_> {
	/// The row id of `account`, added if new.
	fn account(&mut self, account: &Account) -> Result<i64> {
		if let Some(id) = self.accounts.get(account) {
			return Ok(*id);
		}
		let found: Option<i64> = self
			.tx
			.prepare_cached("SELECT id FROM accounts WHERE account = ?1")?
			.query_row([&account[..]], |row| row.get(0))
			.optional()?;
		let id = match found {
			Some(id) => id,
			None => {
				self.tx
					.prepare_cached("INSERT INTO accounts (account) VALUES (?1)")?
					.execute([&account[..]])?;
				self.added.push(*account);
				self.tx.last_insert_rowid()
			},
		};
		self.accounts.insert(*account, id);
		Ok(id)
	}

	fn block(&mut self, block: &IndexedBlock) -> Result<()> {
		let day = day_of(block.timestamp);
		let number = block.number;
		self.tx
			.prepare_cached(
				"INSERT INTO days (day, first_block, last_block) VALUES (?1, ?2, ?2)
				 ON CONFLICT (day) DO UPDATE SET last_block = excluded.last_block",
			)?
			.execute(params![day, number])?;
		for event in &block.events {
			self.event(block, day, event)?;
		}
		let mut meta = self.tx.prepare_cached("REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
		meta.execute(params!["block", number])?;
		meta.execute(params!["hash", &block.hash[..]])?;
		Ok(())
	}

	fn event(&mut self, block: &IndexedBlock, day: i64, event: &HubEvent) -> Result<()> {
		let number = block.number;
		match event {
			HubEvent::ModelChanged(terms) => self.model(block, day, terms)?,
			HubEvent::VersionPublished { model, version, artifact_hash } => {
				self.tx
					.prepare_cached(
						"REPLACE INTO versions (model, version, block, artifact_hash)
						 VALUES (?1, ?2, ?3, ?4)",
					)?
					.execute(params![model, version, number, &artifact_hash[..]])?;
			},
			HubEvent::ModelRemoved { model } => {
				self.tx
					.prepare_cached(
						"UPDATE models SET state = 'removed', removed = ?2, removed_day = ?3
						 WHERE id = ?1",
					)?
					.execute(params![model, number, day])?;
				self.tx.prepare_cached("DELETE FROM ready WHERE model = ?1")?.execute([model])?;
			},
			HubEvent::CallsSettled { model, payer, calls, fee, royalty } => {
				let payer = self.account(payer)?;
				let (fee, royalty) = (Amount(*fee), Amount(*royalty));
				self.tx
					.prepare_cached(
						"INSERT INTO usage (block, day, model, payer, calls, fee, royalty)
						 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
					)?
					.execute(params![number, day, model, payer, calls, fee, royalty])?;
				self.tx
					.prepare_cached(
						"INSERT INTO model_day (day, model, calls, fees, royalties)
						 VALUES (?1, ?2, ?3, ?4, ?5)
						 ON CONFLICT (day, model) DO UPDATE SET
							calls = calls + excluded.calls,
							fees = add128(fees, excluded.fees),
							royalties = add128(royalties, excluded.royalties)",
					)?
					.execute(params![day, model, calls, fee, royalty])?;
				let new_payer = self
					.tx
					.prepare_cached(
						"INSERT OR IGNORE INTO model_payers (model, payer) VALUES (?1, ?2)",
					)?
					.execute(params![model, payer])?;
				self.tx
					.prepare_cached(
						"UPDATE models SET calls = calls + ?2, fees = add128(fees, ?3),
							royalties = add128(royalties, ?4), payers = payers + ?5
						 WHERE id = ?1",
					)?
					.execute(params![model, calls, fee, royalty, new_payer])?;
			},
			HubEvent::WorkerBonded { worker, bond, registered } => {
				let worker = self.account(worker)?;
				let registered = registered.then_some(number);
				self.tx
					.prepare_cached(
						"INSERT INTO workers (worker, registered, bond) VALUES (?1, ?2, ?3)
						 ON CONFLICT (worker) DO UPDATE SET bond = excluded.bond,
							registered = coalesce(excluded.registered, registered)",
					)?
					.execute(params![worker, registered, Amount(*bond)])?;
			},
			HubEvent::WorkerReady { worker, model, version } => {
				let worker = self.account(worker)?;
				self.tx
					.prepare_cached(
						"REPLACE INTO ready (worker, model, version) VALUES (?1, ?2, ?3)",
					)?
					.execute(params![worker, model, version])?;
			},
			HubEvent::ReadinessWithdrawn { worker, model } => {
				let worker = self.account(worker)?;
				self.tx
					.prepare_cached("DELETE FROM ready WHERE worker = ?1 AND model = ?2")?
					.execute(params![worker, model])?;
			},
			HubEvent::RequestSettled { workers, payouts } => {
				for worker in workers {
					let earned = earned_by(worker, payouts);
					self.activity(number, day, worker, 1, earned, None)?;
				}
			},
			HubEvent::ChannelOpened { channel, payer, worker } => {
				let (payer, worker) = (self.account(payer)?, self.account(worker)?);
				self.tx
					.prepare_cached(
						"REPLACE INTO channels (channel, payer, worker) VALUES (?1, ?2, ?3)",
					)?
					.execute(params![channel, payer, worker])?;
			},
			HubEvent::ChannelSettled { channel, calls, payouts } => {
				let worker: Option<Vec<u8>> = self
					.tx
					.prepare_cached(
						"SELECT account FROM channels JOIN accounts ON accounts.id = channels.worker
						 WHERE channel = ?1",
					)?
					.query_row([channel], |row| row.get(0))
					.optional()?;
				if let Some(worker) = worker.and_then(|worker| Account::try_from(worker).ok()) {
					let earned = earned_by(&worker, payouts);
					self.activity(number, day, &worker, *calls, earned, None)?;
				}
			},
			HubEvent::WorkerSlashed { worker, amount } => {
				self.activity(number, day, worker, 0, Amount(0), Some(Amount(*amount)))?
			},
		}
		Ok(())
	}

	/// A worker's job (of `calls` calls, `calls` 0 for none) or slash.
	fn activity(
		&mut self,
		number: BlockNumber,
		day: i64,
		worker: &Account,
		calls: u64,
		earned: Amount,
		slashed: Option<Amount>,
	) -> Result<()> {
		let worker = self.account(worker)?;
		let jobs = i64::from(slashed.is_none());
		let slashes = i64::from(slashed.is_some());
		self.tx
			.prepare_cached(
				"INSERT INTO worker_activity
					(block, day, worker, jobs, calls, earnings, slashes, slashed)
				 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			)?
			.execute(params![
				number,
				day,
				worker,
				jobs,
				calls,
				earned,
				slashes,
				slashed.unwrap_or_default()
			])?;
		Ok(())
	}

	fn model(&mut self, block: &IndexedBlock, day: i64, terms: &ModelTerms) -> Result<()> {
		let owner = self.account(&terms.owner)?;
		let split: Vec<(String, u32)> =
			terms.split.iter().map(|(account, parts)| (crate::ss58(account), *parts)).collect();
		let split = serde_json::to_string(&split).unwrap_or_else(|_| "[]".into());
		self.tx
			.prepare_cached(
				"INSERT INTO models (id, owner, name, description, price, state, version, parent,
					created, created_at, created_day, split, fees, royalties)
				 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
				 ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, name = excluded.name,
					description = excluded.description, price = excluded.price,
					state = excluded.state, version = excluded.version,
					parent = excluded.parent, split = excluded.split",
			)?
			.execute(params![
				terms.id,
				owner,
				terms.name,
				terms.description,
				Amount(terms.price),
				terms.state.name(),
				terms.version,
				terms.parent,
				terms.created,
				block.timestamp,
				day,
				split,
				Amount(0),
			])?;
		Ok(())
	}
}

/// What `worker` got from `payouts`.
fn earned_by(worker: &Account, payouts: &[(Account, u128)]) -> Amount {
	let mut earned = Amount(0);
	for (account, amount) in payouts {
		if account == worker {
			earned += Amount(*amount);
		}
	}
	earned
}

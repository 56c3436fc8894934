//! What the explorer asks: the catalog, a model, an uploader, a worker, the market, each over a
//! window of blocks or dates.

use std::collections::{BTreeMap, HashMap};

use modelhub_primitives::{
	registry::ModelId,
	stats::{self, VolumeSums},
	BlockNumber,
};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sp_runtime::Perbill;

use crate::{
	amount::Amount,
	date::{format_day, parse_day},
	parse_ss58, ss58, Account, Error, Index, Result,
};

/// The most rows a page of the catalog holds.
pub const MAX_PAGE: u32 = 100;
/// The most points a Lorenz curve is drawn with.
pub const MAX_POINTS: u32 = 200;
/// Payers a model page lists.
const TOP_PAYERS: usize = 20;

/// One end of a window: a block number or a UTC date (`YYYY-MM-DD`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Bound {
	/// A block number.
	Block(BlockNumber),
	/// A UTC date, the whole day included.
	Date(String),
}

/// A window of history: `from` and `to` included; an end not given is the first or the last
/// block indexed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Window {
	/// Where it starts.
	#[serde(default)]
	pub from: Option<Bound>,
	/// Where it ends.
	#[serde(default)]
	pub to: Option<Bound>,
}

/// The blocks and days a window covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowSpan {
	/// First block.
	pub from_block: BlockNumber,
	/// Last block.
	pub to_block: BlockNumber,
	/// Day of the first block indexed in the window.
	pub from_date: Option<String>,
	/// Day of the last block indexed in the window.
	pub to_date: Option<String>,
}

/// A window resolved against the days indexed: whole days are read from the daily sums, the
/// blocks of days it covers in part from the settlements themselves.
struct Resolved {
	span: WindowSpan,
	/// Whole days covered, first and last.
	days: Option<(i64, i64)>,
	/// Block ranges of days covered in part.
	edges: Vec<(BlockNumber, BlockNumber)>,
}

/// The index's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
	/// The last block indexed.
	pub indexed_block: Option<BlockNumber>,
	/// Its hash (hex).
	pub indexed_hash: Option<String>,
	/// Models published (removed ones included).
	pub models: u64,
	/// Settled calls.
	pub calls: u64,
}

/// How the catalog is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogOrder {
	/// Most calls first.
	Calls,
	/// Most royalties first.
	Revenue,
	/// Cheapest first.
	Price,
	/// Most recently published first.
	Newest,
}

impl CatalogOrder {
	/// The order named `name` (`calls`, `revenue`, `price`, `newest`).
	pub fn parse(name: &str) -> Result<Self> {
		Ok(match name {
			"calls" => Self::Calls,
			"revenue" => Self::Revenue,
			"price" => Self::Price,
			"newest" => Self::Newest,
			_ => return Err(Error::InvalidParameter("order: calls, revenue, price or newest")),
		})
	}
}

/// A model with its all-time figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRow {
	/// The model.
	pub id: ModelId,
	/// Display name.
	pub name: String,
	/// Description.
	pub description: String,
	/// Owner.
	pub owner: String,
	/// Price of one call.
	pub price: Amount,
	/// `active`, `paused`, `retired`, `delisted` or `removed`.
	pub state: String,
	/// Current version.
	pub version: u32,
	/// The model it derives from.
	pub parent: Option<ModelId>,
	/// Block of publication.
	pub created: BlockNumber,
	/// Time of publication, in milliseconds since the Unix epoch.
	pub created_at: u64,
	/// Settled calls.
	pub calls: u64,
	/// Fees those calls paid.
	pub fees: Amount,
	/// Royalties those calls paid.
	pub royalties: Amount,
	/// Distinct payers.
	pub payers: u64,
}

/// A page of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogPage {
	/// Models matching the search.
	pub total: u64,
	/// This page of them.
	pub models: Vec<ModelRow>,
}

/// One beneficiary's share of a model's royalties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SplitShare {
	/// Who.
	pub account: String,
	/// Parts per billion.
	pub perbill: u32,
}

/// A published version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRow {
	/// The version.
	pub version: u32,
	/// Block of publication.
	pub block: BlockNumber,
	/// Artifact hash (hex).
	pub artifact_hash: String,
}

/// A model's terms, versions and family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelDetail {
	/// Terms and all-time figures.
	#[serde(flatten)]
	pub row: ModelRow,
	/// Royalty split.
	pub split: Vec<SplitShare>,
	/// Versions, first first.
	pub versions: Vec<VersionRow>,
	/// Ancestors, root first.
	pub lineage: Vec<ModelId>,
	/// Models derived from it.
	pub children: Vec<ModelId>,
}

/// Calls and what they paid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ModelTotals {
	/// Settled calls.
	pub calls: u64,
	/// Fees paid.
	pub fees: Amount,
	/// Royalties paid.
	pub royalties: Amount,
	/// Distinct payers.
	pub payers: u64,
}

/// One day of a model's or an uploader's usage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DailyUsage {
	/// The day.
	pub date: String,
	/// Settled calls.
	pub calls: u64,
	/// Fees paid.
	pub fees: Amount,
	/// Royalties paid.
	pub royalties: Amount,
	/// Distinct payers (model pages only).
	#[serde(skip_serializing_if = "Option::is_none")]
	pub payers: Option<u64>,
}

/// A payer of a model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayerRow {
	/// Who.
	pub account: String,
	/// Calls paid for.
	pub calls: u64,
	/// Fees paid.
	pub fees: Amount,
}

/// A worker that declared a model ready.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReadyWorker {
	/// The worker.
	pub account: String,
	/// The version it holds ready.
	pub version: u32,
}

/// A model page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelPage {
	/// Terms, versions, family and all-time figures.
	pub model: ModelDetail,
	/// The window.
	pub window: WindowSpan,
	/// Figures over the window.
	pub totals: ModelTotals,
	/// Each day of the window with calls.
	pub daily: Vec<DailyUsage>,
	/// The payers with most calls in the window.
	pub payers: Vec<PayerRow>,
	/// Workers holding it ready now.
	pub workers: Vec<ReadyWorker>,
}

/// A model of an uploader, with its figures over the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UploaderModel {
	/// The model.
	pub id: ModelId,
	/// Its name.
	pub name: String,
	/// Settled calls.
	pub calls: u64,
	/// Fees paid.
	pub fees: Amount,
	/// Royalties paid.
	pub royalties: Amount,
}

/// What an uploader's models earned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UploaderView {
	/// The uploader.
	pub account: String,
	/// The window.
	pub window: WindowSpan,
	/// Sums over the models.
	pub totals: UploaderTotals,
	/// The models it owns, most calls first.
	pub models: Vec<UploaderModel>,
	/// Each day with calls.
	pub daily: Vec<DailyUsage>,
}

/// Sums over an uploader's models.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UploaderTotals {
	/// Models owned.
	pub models: u64,
	/// Settled calls.
	pub calls: u64,
	/// Fees paid.
	pub fees: Amount,
	/// Royalties paid.
	pub royalties: Amount,
}

/// A worker's jobs, earnings and slashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WorkerTotals {
	/// Settlements it was paid in: requests and channel settlements.
	pub jobs: u64,
	/// Calls those served.
	pub calls: u64,
	/// What it was paid.
	pub earnings: Amount,
	/// Times it lost bond.
	pub slashes: u64,
	/// Bond it lost.
	pub slashed: Amount,
}

/// One day of a worker's activity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DailyWorker {
	/// The day.
	pub date: String,
	/// Settlements it was paid in.
	pub jobs: u64,
	/// Calls those served.
	pub calls: u64,
	/// What it was paid.
	pub earnings: Amount,
	/// Bond it lost.
	pub slashed: Amount,
}

/// A worker page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkerView {
	/// The worker.
	pub account: String,
	/// The window.
	pub window: WindowSpan,
	/// Block of registration, if it registered.
	pub registered: Option<BlockNumber>,
	/// Its bond now.
	pub bond: Amount,
	/// Models it holds ready now.
	pub ready: Vec<ModelId>,
	/// Sums over the window.
	pub totals: WorkerTotals,
	/// Each day with activity.
	pub daily: Vec<DailyWorker>,
}

/// Calls, what they paid, and how concentrated they were across models.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketFigures {
	/// Settled calls.
	pub calls: u64,
	/// Fees paid.
	pub fees: Amount,
	/// Royalties paid.
	pub royalties: Amount,
	/// Models with calls.
	pub models_called: u64,
	/// Share of calls of the ten most-called models.
	pub top10_share: f64,
	/// Herfindahl–Hirschman index of calls.
	pub hhi: f64,
	/// Gini coefficient of calls across the models in the registry (those without calls
	/// included).
	pub gini: f64,
}

impl MarketFigures {
	fn of(sums: Sums, volumes: &[u64], idle: u64) -> Self {
		let concentration = VolumeSums::with_idle(volumes, idle).concentration();
		Self {
			calls: sums.calls,
			fees: sums.fees,
			royalties: sums.royalties,
			models_called: u64::from(concentration.models_called),
			top10_share: share(concentration.top_share),
			hhi: share(concentration.hhi),
			gini: share(concentration.gini),
		}
	}
}

/// One day of the market.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DailyMarket {
	/// The day.
	pub date: String,
	/// Its figures, over the models in the registry at its end.
	#[serde(flatten)]
	pub figures: MarketFigures,
}

/// How concentrated demand was over a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketView {
	/// The window.
	pub window: WindowSpan,
	/// Models in the registry at the window's end (and removed ones called in it).
	pub models: u64,
	/// The window's figures.
	#[serde(flatten)]
	pub figures: MarketFigures,
	/// Lorenz curve of calls: (share of models, share of calls), the least-called first.
	pub lorenz: Vec<(f64, f64)>,
	/// Lorenz curve of royalties.
	pub royalty_lorenz: Vec<(f64, f64)>,
	/// Share of royalties earned by the half of models that earned least.
	pub bottom50_royalty_share: f64,
	/// Share of royalties earned by the 80% of models that earned least.
	pub bottom80_royalty_share: f64,
	/// Each day of the window with calls.
	pub daily: Vec<DailyMarket>,
}

fn share(value: Perbill) -> f64 {
	f64::from(value.deconstruct()) / 1e9
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

/// Sums of calls and what they paid.
#[derive(Clone, Copy, Debug, Default)]
struct Sums {
	calls: u64,
	fees: Amount,
	royalties: Amount,
}

impl Sums {
	fn add(&mut self, calls: u64, fees: Amount, royalties: Amount) {
		self.calls = self.calls.saturating_add(calls);
		self.fees += fees;
		self.royalties += royalties;
	}
}

const MODEL_COLUMNS: &str = "models.id, models.name, models.description, accounts.account,
	models.price, models.state, models.version, models.parent, models.created,
	models.created_at, models.calls, models.fees, models.royalties, models.payers";

fn model_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ModelRow> {
	let owner: Vec<u8> = row.get(3)?;
	Ok(ModelRow {
		id: row.get(0)?,
		name: row.get(1)?,
		description: row.get(2)?,
		owner: Account::try_from(owner).map(|owner| ss58(&owner)).unwrap_or_default(),
		price: row.get(4)?,
		state: row.get(5)?,
		version: row.get(6)?,
		parent: row.get(7)?,
		created: row.get(8)?,
		created_at: row.get(9)?,
		calls: row.get(10)?,
		fees: row.get(11)?,
		royalties: row.get(12)?,
		payers: row.get(13)?,
	})
}

impl Index {
	/// The last block indexed and the counts of models and calls.
	pub fn status(&self) -> Result<Status> {
		let indexed = self.indexed()?;
		let (models, calls): (u64, Option<u64>) =
			self.db.query_row("SELECT COUNT(*), SUM(calls) FROM models", [], |row| {
				Ok((row.get(0)?, row.get(1)?))
			})?;
		Ok(Status {
			indexed_block: indexed.map(|(number, _)| number),
			indexed_hash: indexed.map(|(_, hash)| hex(&hash)),
			models,
			calls: calls.unwrap_or(0),
		})
	}

	/// A page of the models in the registry whose name or description contains `search`
	/// (ASCII case ignored), in `order`.
	pub fn models(
		&self,
		search: Option<&str>,
		order: CatalogOrder,
		offset: u32,
		limit: u32,
	) -> Result<CatalogPage> {
		if limit > MAX_PAGE {
			return Err(Error::InvalidParameter("limit: at most 100"));
		}
		let pattern = search.filter(|text| !text.trim().is_empty()).map(|text| {
			let escaped = text.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
			format!("%{escaped}%")
		});
		let filter = "models.state != 'removed' AND (?1 IS NULL
			OR models.name LIKE ?1 ESCAPE '\\' OR models.description LIKE ?1 ESCAPE '\\')";
		let total: u64 = self.db.query_row(
			&format!("SELECT COUNT(*) FROM models WHERE {filter}"),
			[&pattern],
			|row| row.get(0),
		)?;
		let order_by = match order {
			CatalogOrder::Calls => "models.calls DESC, models.id",
			CatalogOrder::Revenue => "models.royalties DESC, models.id",
			CatalogOrder::Price => "models.price, models.id",
			CatalogOrder::Newest => "models.created DESC, models.id",
		};
		let models = self
			.db
			.prepare_cached(&format!(
				"SELECT {MODEL_COLUMNS} FROM models JOIN accounts ON accounts.id = models.owner
				 WHERE {filter} ORDER BY {order_by} LIMIT ?2 OFFSET ?3"
			))?
			.query_map(params![pattern, limit, offset], model_row)?
			.collect::<rusqlite::Result<_>>()?;
		Ok(CatalogPage { total, models })
	}

	fn model_row(&self, model: ModelId) -> Result<Option<ModelRow>> {
		Ok(self
			.db
			.prepare_cached(&format!(
				"SELECT {MODEL_COLUMNS} FROM models JOIN accounts ON accounts.id = models.owner
				 WHERE models.id = ?1"
			))?
			.query_row([model], model_row)
			.optional()?)
	}

	/// A model's page: terms, family, figures over `window`, its daily series, top payers
	/// and the workers holding it ready; `None` for a model never published.
	pub fn model(&self, model: ModelId, window: &Window) -> Result<Option<ModelPage>> {
		let Some(row) = self.model_row(model)? else { return Ok(None) };
		let split: String =
			self.db
				.query_row("SELECT split FROM models WHERE id = ?1", [model], |row| row.get(0))?;
		let split: Vec<(String, u32)> = serde_json::from_str(&split).unwrap_or_default();
		let split =
			split.into_iter().map(|(account, perbill)| SplitShare { account, perbill }).collect();
		let versions = self
			.db
			.prepare_cached(
				"SELECT version, block, artifact_hash FROM versions WHERE model = ?1 ORDER BY version",
			)?
			.query_map([model], |row| {
				let hash: Vec<u8> = row.get(2)?;
				Ok(VersionRow { version: row.get(0)?, block: row.get(1)?, artifact_hash: hex(&hash) })
			})?
			.collect::<rusqlite::Result<_>>()?;
		let mut lineage = Vec::new();
		let mut parent = row.parent;
		// Lineage is bounded on chain; the bound here only guards against a cycle.
		while let Some(id) = parent.filter(|_| lineage.len() < 64) {
			lineage.push(id);
			parent = self
				.db
				.query_row("SELECT parent FROM models WHERE id = ?1", [id], |row| row.get(0))
				.optional()?
				.flatten();
		}
		lineage.reverse();
		let children = self
			.db
			.prepare_cached("SELECT id FROM models WHERE parent = ?1 ORDER BY id")?
			.query_map([model], |row| row.get(0))?
			.collect::<rusqlite::Result<_>>()?;
		let workers = self
			.db
			.prepare_cached(
				"SELECT accounts.account, ready.version FROM ready
				 JOIN accounts ON accounts.id = ready.worker WHERE ready.model = ?1",
			)?
			.query_map([model], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get(1)?)))?
			.collect::<rusqlite::Result<Vec<_>>>()?
			.into_iter()
			.filter_map(|(account, version)| {
				Some(ReadyWorker { account: ss58(&Account::try_from(account).ok()?), version })
			})
			.collect();

		let resolved = self.resolve(window)?;
		let mut days: BTreeMap<i64, (Sums, std::collections::HashSet<i64>)> = BTreeMap::new();
		let mut payers: HashMap<i64, (u64, Amount)> = HashMap::new();
		let mut totals = Sums::default();
		{
			let mut rows = self.db.prepare_cached(
				"SELECT day, payer, calls, fee, royalty FROM usage
				 WHERE model = ?1 AND block BETWEEN ?2 AND ?3",
			)?;
			let mut rows =
				rows.query(params![model, resolved.span.from_block, resolved.span.to_block])?;
			while let Some(row) = rows.next()? {
				let (day, payer, calls, fee, royalty): (i64, i64, u64, Amount, Amount) =
					(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
				let entry = days.entry(day).or_default();
				entry.0.add(calls, fee, royalty);
				entry.1.insert(payer);
				let paid = payers.entry(payer).or_default();
				paid.0 = paid.0.saturating_add(calls);
				paid.1 += fee;
				totals.add(calls, fee, royalty);
			}
		}
		let daily = days
			.into_iter()
			.map(|(day, (sums, payers))| DailyUsage {
				date: format_day(day),
				calls: sums.calls,
				fees: sums.fees,
				royalties: sums.royalties,
				payers: Some(payers.len() as u64),
			})
			.collect();
		let distinct = payers.len() as u64;
		let mut top: Vec<(i64, (u64, Amount))> = payers.into_iter().collect();
		top.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
		top.truncate(TOP_PAYERS);
		let payers = top
			.into_iter()
			.map(|(id, (calls, fees))| Ok(PayerRow { account: self.account_of(id)?, calls, fees }))
			.collect::<Result<_>>()?;
		Ok(Some(ModelPage {
			model: ModelDetail { row, split, versions, lineage, children },
			window: resolved.span,
			totals: ModelTotals {
				calls: totals.calls,
				fees: totals.fees,
				royalties: totals.royalties,
				payers: distinct,
			},
			daily,
			payers,
			workers,
		}))
	}

	fn account_of(&self, id: i64) -> Result<String> {
		let account: Vec<u8> = self
			.db
			.prepare_cached("SELECT account FROM accounts WHERE id = ?1")?
			.query_row([id], |row| row.get(0))?;
		Ok(Account::try_from(account).map(|account| ss58(&account)).unwrap_or_default())
	}

	fn account_id(&self, account: &str) -> Result<Option<i64>> {
		let account = parse_ss58(account)?;
		Ok(self
			.db
			.prepare_cached("SELECT id FROM accounts WHERE account = ?1")?
			.query_row([&account[..]], |row| row.get(0))
			.optional()?)
	}

	/// What the models `account` owns earned over `window`, model by model and day by day.
	pub fn uploader(&self, account: &str, window: &Window) -> Result<UploaderView> {
		let resolved = self.resolve(window)?;
		let id = self.account_id(account)?;
		let owned: Vec<(ModelId, String)> = self
			.db
			.prepare_cached("SELECT id, name FROM models WHERE owner = ?1 ORDER BY id")?
			.query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
			.collect::<rusqlite::Result<_>>()?;
		let mut days: BTreeMap<i64, Sums> = BTreeMap::new();
		let mut models = Vec::with_capacity(owned.len());
		let mut totals = UploaderTotals { models: owned.len() as u64, ..Default::default() };
		for (model, name) in owned {
			let mut sums = Sums::default();
			self.model_days(&resolved, model, |day, calls, fees, royalties| {
				sums.add(calls, fees, royalties);
				days.entry(day).or_default().add(calls, fees, royalties);
			})?;
			totals.calls = totals.calls.saturating_add(sums.calls);
			totals.fees += sums.fees;
			totals.royalties += sums.royalties;
			models.push(UploaderModel {
				id: model,
				name,
				calls: sums.calls,
				fees: sums.fees,
				royalties: sums.royalties,
			});
		}
		models.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.id.cmp(&b.id)));
		Ok(UploaderView {
			account: account.to_string(),
			window: resolved.span,
			totals,
			models,
			daily: days.into_iter().map(|(day, sums)| daily_usage(day, sums)).collect(),
		})
	}

	/// Calls `each(day, calls, fees, royalties)` for `model`'s usage in the window: per day
	/// for whole days, per settlement for the others.
	fn model_days(
		&self,
		resolved: &Resolved,
		model: ModelId,
		mut each: impl FnMut(i64, u64, Amount, Amount),
	) -> Result<()> {
		if let Some((first, last)) = resolved.days {
			let mut rows = self.db.prepare_cached(
				"SELECT day, calls, fees, royalties FROM model_day
				 WHERE model = ?1 AND day BETWEEN ?2 AND ?3",
			)?;
			let mut rows = rows.query(params![model, first, last])?;
			while let Some(row) = rows.next()? {
				each(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
			}
		}
		for (from, to) in &resolved.edges {
			let mut rows = self.db.prepare_cached(
				"SELECT day, calls, fee, royalty FROM usage
				 WHERE model = ?1 AND block BETWEEN ?2 AND ?3",
			)?;
			let mut rows = rows.query(params![model, from, to])?;
			while let Some(row) = rows.next()? {
				each(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
			}
		}
		Ok(())
	}

	/// A worker's bond, readiness, and jobs, earnings and slashes over `window`.
	pub fn worker(&self, account: &str, window: &Window) -> Result<WorkerView> {
		let resolved = self.resolve(window)?;
		let id = self.account_id(account)?;
		let (registered, bond) = self
			.db
			.query_row("SELECT registered, bond FROM workers WHERE worker = ?1", [id], |row| {
				Ok((row.get(0)?, row.get(1)?))
			})
			.optional()?
			.unwrap_or((None, Amount(0)));
		let ready = self
			.db
			.prepare_cached("SELECT model FROM ready WHERE worker = ?1 ORDER BY model")?
			.query_map([id], |row| row.get(0))?
			.collect::<rusqlite::Result<_>>()?;
		let mut totals = WorkerTotals::default();
		let mut days: BTreeMap<i64, DailyWorker> = BTreeMap::new();
		{
			let mut rows = self.db.prepare_cached(
				"SELECT day, jobs, calls, earnings, slashes, slashed FROM worker_activity
				 WHERE worker = ?1 AND block BETWEEN ?2 AND ?3",
			)?;
			let mut rows =
				rows.query(params![id, resolved.span.from_block, resolved.span.to_block])?;
			while let Some(row) = rows.next()? {
				let (day, jobs, calls, earnings, slashes, slashed): (
					i64,
					u64,
					u64,
					Amount,
					u64,
					Amount,
				) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?);
				totals.jobs = totals.jobs.saturating_add(jobs);
				totals.calls = totals.calls.saturating_add(calls);
				totals.earnings += earnings;
				totals.slashes = totals.slashes.saturating_add(slashes);
				totals.slashed += slashed;
				let entry = days
					.entry(day)
					.or_insert_with(|| DailyWorker { date: format_day(day), ..Default::default() });
				entry.jobs = entry.jobs.saturating_add(jobs);
				entry.calls = entry.calls.saturating_add(calls);
				entry.earnings += earnings;
				entry.slashed += slashed;
			}
		}
		Ok(WorkerView {
			account: account.to_string(),
			window: resolved.span,
			registered,
			bond,
			ready,
			totals,
			daily: days.into_values().collect(),
		})
	}

	/// How concentrated demand was over `window`: calls, fees and royalties, top-10 share, HHI
	/// and Gini of calls across the models in the registry at its end, Lorenz curves of calls
	/// and royalties drawn with `points` segments, the royalties' bottom 50% and 80% shares,
	/// and the same figures day by day.
	pub fn market(&self, window: &Window, points: u32) -> Result<MarketView> {
		if points == 0 || points > MAX_POINTS {
			return Err(Error::InvalidParameter("points: 1 to 200"));
		}
		let resolved = self.resolve(window)?;
		let to = resolved.span.to_block;
		// Per model and per day: (calls, royalties) and the fees of the day.
		let mut per_model: HashMap<ModelId, (u64, u128)> = HashMap::new();
		let mut per_day: BTreeMap<i64, (Sums, Vec<u64>)> = BTreeMap::new();
		let mut fees = Amount(0);
		let mut take = |day: i64, model: ModelId, calls: u64, fee: Amount, royalty: Amount| {
			let entry = per_model.entry(model).or_default();
			entry.0 = entry.0.saturating_add(calls);
			entry.1 = entry.1.saturating_add(royalty.0);
			fees += fee;
			let (sums, volumes) = per_day.entry(day).or_default();
			sums.add(calls, fee, royalty);
			volumes.push(calls);
		};
		if let Some((first, last)) = resolved.days {
			let mut rows = self.db.prepare_cached(
				"SELECT day, model, calls, fees, royalties FROM model_day WHERE day BETWEEN ?1 AND ?2",
			)?;
			let mut rows = rows.query(params![first, last])?;
			while let Some(row) = rows.next()? {
				take(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
			}
		}
		// A day covered in part: a model's settlements there are summed before they count as
		// one volume of the day.
		let mut partial: BTreeMap<(i64, ModelId), Sums> = BTreeMap::new();
		for (from, to) in &resolved.edges {
			let mut rows = self.db.prepare_cached(
				"SELECT day, model, calls, fee, royalty FROM usage WHERE block BETWEEN ?1 AND ?2",
			)?;
			let mut rows = rows.query(params![from, to])?;
			while let Some(row) = rows.next()? {
				partial.entry((row.get(0)?, row.get(1)?)).or_default().add(
					row.get(2)?,
					row.get(3)?,
					row.get(4)?,
				);
			}
		}
		for ((day, model), sums) in partial {
			take(day, model, sums.calls, sums.fees, sums.royalties);
		}

		// The models in the registry at the end of the window and at the end of each day.
		let mut created: Vec<i64> = Vec::new();
		let mut removed: Vec<i64> = Vec::new();
		let mut listed: u64 = 0;
		{
			let mut rows = self.db.prepare_cached(
				"SELECT id, created, created_day, removed, removed_day FROM models",
			)?;
			let mut rows = rows.query([])?;
			while let Some(row) = rows.next()? {
				let (id, created_at, created_day, removed_at, removed_day): (
					ModelId,
					BlockNumber,
					i64,
					Option<BlockNumber>,
					Option<i64>,
				) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
				created.push(created_day);
				if let Some(day) = removed_day {
					removed.push(day);
				}
				let present = created_at <= to && removed_at.is_none_or(|at| at > to);
				if present || per_model.contains_key(&id) {
					listed = listed.saturating_add(1);
				}
			}
		}
		created.sort_unstable();
		removed.sort_unstable();
		let present_on = |day: i64| -> u64 {
			let made = created.partition_point(|d| *d <= day);
			let gone = removed.partition_point(|d| *d <= day);
			made.saturating_sub(gone) as u64
		};

		let called = per_model.len() as u64;
		let idle = listed.saturating_sub(called);
		let volumes: Vec<u64> = per_model.values().map(|(calls, _)| *calls).collect();
		let mut call_amounts: Vec<u128> = volumes.iter().map(|calls| u128::from(*calls)).collect();
		let mut royalties: Vec<u128> = per_model.values().map(|(_, royalty)| *royalty).collect();
		let zeros = usize::try_from(idle).unwrap_or(usize::MAX);
		call_amounts.resize(call_amounts.len().saturating_add(zeros), 0);
		royalties.resize(royalties.len().saturating_add(zeros), 0);
		let curve = |amounts: &[u128]| -> Vec<(f64, f64)> {
			stats::lorenz(amounts, points).into_iter().map(|(x, y)| (share(x), share(y))).collect()
		};
		let total = Sums {
			calls: volumes.iter().fold(0u64, |sum, calls| sum.saturating_add(*calls)),
			fees,
			royalties: Amount(royalties.iter().fold(0u128, |sum, r| sum.saturating_add(*r))),
		};

		let daily = per_day
			.into_iter()
			.map(|(day, (sums, volumes))| {
				let idle = present_on(day).saturating_sub(volumes.len() as u64);
				DailyMarket {
					date: format_day(day),
					figures: MarketFigures::of(sums, &volumes, idle),
				}
			})
			.collect();
		Ok(MarketView {
			window: resolved.span,
			models: listed,
			figures: MarketFigures::of(total, &volumes, idle),
			lorenz: curve(&call_amounts),
			royalty_lorenz: curve(&royalties),
			bottom50_royalty_share: share(stats::bottom_share(
				&royalties,
				Perbill::from_percent(50),
			)),
			bottom80_royalty_share: share(stats::bottom_share(
				&royalties,
				Perbill::from_percent(80),
			)),
			daily,
		})
	}

	/// Resolves `window` against the days indexed.
	fn resolve(&self, window: &Window) -> Result<Resolved> {
		let tip = self.indexed()?.map(|(number, _)| number).unwrap_or(0);
		let from = match &window.from {
			None => 0,
			Some(Bound::Block(block)) => *block,
			Some(Bound::Date(date)) => {
				let day = parse_day(date)?;
				self.db
					.query_row(
						"SELECT first_block FROM days WHERE day >= ?1 ORDER BY day LIMIT 1",
						[day],
						|row| row.get(0),
					)
					.optional()?
					.unwrap_or_else(|| tip.saturating_add(1))
			},
		};
		let to = match &window.to {
			None => tip,
			Some(Bound::Block(block)) => (*block).min(tip),
			Some(Bound::Date(date)) => {
				let day = parse_day(date)?;
				self.db
					.query_row(
						"SELECT last_block FROM days WHERE day <= ?1 ORDER BY day DESC LIMIT 1",
						[day],
						|row| row.get(0),
					)
					.optional()?
					.unwrap_or(0)
			},
		};
		if let (Some(Bound::Block(a)), Some(Bound::Block(b))) = (&window.from, &window.to) {
			if a > b {
				return Err(Error::EmptyWindow);
			}
		}
		if let (Some(Bound::Date(a)), Some(Bound::Date(b))) = (&window.from, &window.to) {
			if parse_day(a)? > parse_day(b)? {
				return Err(Error::EmptyWindow);
			}
		}
		let mut resolved = Resolved {
			span: WindowSpan { from_block: from, to_block: to, from_date: None, to_date: None },
			days: None,
			edges: Vec::new(),
		};
		if from > to {
			return Ok(resolved);
		}
		let days: Vec<(i64, BlockNumber, BlockNumber)> = self
			.db
			.prepare_cached(
				"SELECT day, first_block, last_block FROM days
				 WHERE last_block >= ?1 AND first_block <= ?2 ORDER BY day",
			)?
			.query_map(params![from, to], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
			.collect::<rusqlite::Result<_>>()?;
		resolved.span.from_date = days.first().map(|(day, _, _)| format_day(*day));
		resolved.span.to_date = days.last().map(|(day, _, _)| format_day(*day));
		for (day, first, last) in days {
			if first >= from && last <= to {
				resolved.days = Some(match resolved.days {
					None => (day, day),
					Some((start, _)) => (start, day),
				});
			} else {
				resolved.edges.push((first.max(from), last.min(to)));
			}
		}
		Ok(resolved)
	}
}

fn daily_usage(day: i64, sums: Sums) -> DailyUsage {
	DailyUsage {
		date: format_day(day),
		calls: sums.calls,
		fees: sums.fees,
		royalties: sums.royalties,
		payers: None,
	}
}

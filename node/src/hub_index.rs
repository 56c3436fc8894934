//! The hub index service (`--hub-index`): follows finalized blocks, records the hub's events
//! in an SQLite database beside the chain's ([`modelhub_index`]), and serves them through the
//! `hubindex_*` JSON-RPC methods.
//!
//! It reads each block's events and the terms of the models they name from the block's state,
//! so a chain it starts on late is backfilled from block 1 while that state is kept: on a chain
//! older than the state pruning window, start the node with `--state-pruning archive`.

use std::{
	path::Path,
	sync::{Arc, Mutex},
	time::Duration,
};

use codec::Decode;
use futures::StreamExt;
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::error::ErrorObjectOwned};
use modelhub_index::{
	CatalogOrder, CatalogPage, HubEvent, Index, IndexedBlock, MarketView, ModelPage, ModelState,
	ModelTerms, UploaderView, Window, WorkerView,
};
use modelhub_runtime::{opaque::Block, Runtime, RuntimeEvent};
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_blockchain::HeaderBackend;
use sp_core::{storage::StorageKey, H256};
use sp_crypto_hashing::twox_128;

/// Blocks recorded in one database transaction while catching up.
const BATCH: u32 = 512;

/// What a block's state is read through.
pub trait ChainState:
	HeaderBackend<Block> + StorageProvider<Block, crate::service::FullBackend> + BlockchainEvents<Block>
{
}

impl<C> ChainState for C where
	C: HeaderBackend<Block>
		+ StorageProvider<Block, crate::service::FullBackend>
		+ BlockchainEvents<Block>
{
}

/// Opens the index at `path` and starts following finalized blocks; returns the index's
/// reader for the RPC methods.
pub fn start<C: ChainState + Send + Sync + 'static>(
	client: Arc<C>,
	path: &Path,
	spawner: &sc_service::SpawnTaskHandle,
) -> Result<HubIndexRpc, String> {
	if let Some(folder) = path.parent() {
		std::fs::create_dir_all(folder)
			.map_err(|error| format!("{}: {error}", folder.display()))?;
	}
	let mut writer = Index::open(path).map_err(|error| format!("{}: {error}", path.display()))?;
	if let Some((number, hash)) = writer.indexed().map_err(|error| error.to_string())? {
		let chain_hash = client.hash(number).ok().flatten();
		if chain_hash != Some(H256(hash)) {
			log::warn!(
				target: "hub-index",
				"{} was built from another chain (block {number} differs); rebuilding it",
				path.display()
			);
			writer.clear().map_err(|error| error.to_string())?;
		}
	}
	let reader = Index::open(path).map_err(|error| format!("{}: {error}", path.display()))?;
	log::info!(target: "hub-index", "indexing the hub's history in {}", path.display());
	let follower_client = client.clone();
	spawner.spawn_blocking("hub-index", None, async move {
		follow(follower_client, writer).await;
	});
	let finalized = Arc::new(move || client.info().finalized_number);
	Ok(HubIndexRpc { index: Arc::new(Mutex::new(reader)), finalized })
}

/// Records finalized blocks as they come.
async fn follow<C: ChainState>(client: Arc<C>, mut index: Index) {
	let mut finality = client.finality_notification_stream();
	loop {
		if let Err(error) = catch_up(&*client, &mut index) {
			log::error!(target: "hub-index", "indexing stopped: {error}");
			// The block's state may come later (a warp-synced node); try again on the next
			// finalized block, or after a while.
		}
		let next = finality.next();
		let timeout = tokio::time::sleep(Duration::from_secs(30));
		futures::pin_mut!(next, timeout);
		if let futures::future::Either::Left((None, _)) =
			futures::future::select(next, timeout).await
		{
			return;
		}
	}
}

/// Records the finalized blocks not yet indexed.
fn catch_up<C: ChainState>(client: &C, index: &mut Index) -> Result<(), String> {
	let finalized = client.info().finalized_number;
	let mut next = index.indexed().map_err(|e| e.to_string())?.map_or(1, |(number, _)| number + 1);
	while next <= finalized {
		let last = finalized.min(next.saturating_add(BATCH - 1));
		let blocks = (next..=last)
			.map(|number| read_block(client, number))
			.collect::<Result<Vec<_>, _>>()?;
		index.apply(&blocks).map_err(|error| error.to_string())?;
		if last < finalized {
			log::info!(target: "hub-index", "indexed blocks up to #{last} of #{finalized}");
		}
		next = last + 1;
	}
	Ok(())
}

fn storage_key(pallet: &str, item: &str) -> Vec<u8> {
	[twox_128(pallet.as_bytes()), twox_128(item.as_bytes())].concat()
}

fn read<C: ChainState, T: Decode>(
	client: &C,
	hash: H256,
	key: Vec<u8>,
) -> Result<Option<T>, String> {
	let Some(data) = client
		.storage(hash, &StorageKey(key))
		.map_err(|error| format!("state of block {hash:?}: {error}"))?
	else {
		return Ok(None);
	};
	T::decode(&mut &data.0[..]).map(Some).map_err(|error| format!("decoding state: {error}"))
}

/// The hub's events in block `number`, and the terms of the models they change.
fn read_block<C: ChainState>(client: &C, number: u32) -> Result<IndexedBlock, String> {
	let hash = client
		.hash(number)
		.map_err(|error| error.to_string())?
		.ok_or_else(|| format!("block #{number} is not in the database"))?;
	let timestamp: u64 = read(client, hash, storage_key("Timestamp", "Now"))?.unwrap_or(0);
	let records: Vec<frame_system::EventRecord<RuntimeEvent, H256>> =
		read(client, hash, storage_key("System", "Events"))?.unwrap_or_default();
	let mut events = Vec::new();
	let mut changed = std::collections::BTreeSet::new();
	for record in records {
		hub_events(client, hash, record.event, &mut changed, &mut events)?;
	}
	Ok(IndexedBlock { number, hash: hash.0, timestamp, events })
}

fn account(id: modelhub_runtime::AccountId) -> [u8; 32] {
	id.into()
}

fn payouts(list: Vec<(modelhub_runtime::AccountId, u128)>) -> Vec<([u8; 32], u128)> {
	list.into_iter().map(|(who, amount)| (account(who), amount)).collect()
}

/// Turns one runtime event into what the index records; a change to a model records its
/// terms at the block's end, once per block.
fn hub_events<C: ChainState>(
	client: &C,
	hash: H256,
	event: RuntimeEvent,
	changed: &mut std::collections::BTreeSet<u64>,
	out: &mut Vec<HubEvent>,
) -> Result<(), String> {
	use pallet_model_registry::Event as Registry;
	let mut model_changed = |model: u64, out: &mut Vec<HubEvent>| -> Result<(), String> {
		if changed.insert(model) {
			if let Some(terms) = model_terms(client, hash, model)? {
				out.push(HubEvent::ModelChanged(terms));
			}
		}
		Ok(())
	};
	match event {
		RuntimeEvent::ModelRegistry(event) => match event {
			Registry::ModelPublished { model, artifact_hash, .. } => {
				model_changed(model, out)?;
				out.push(HubEvent::VersionPublished { model, version: 1, artifact_hash });
			},
			Registry::VersionPublished { model, version, artifact_hash } => {
				model_changed(model, out)?;
				out.push(HubEvent::VersionPublished { model, version, artifact_hash });
			},
			Registry::PriceSet { model, .. }
			| Registry::RoyaltiesSet { model, .. }
			| Registry::StatusChanged { model, .. }
			| Registry::OwnershipTransferred { model, .. }
			| Registry::ModelDelisted { model } => model_changed(model, out)?,
			Registry::ModelRemoved { model, .. } => out.push(HubEvent::ModelRemoved { model }),
			_ => {},
		},
		RuntimeEvent::Inference(event) => match event {
			pallet_inference::Event::CallsSettled { model, payer, calls, fee, royalty } => out
				.push(HubEvent::CallsSettled { model, payer: account(payer), calls, fee, royalty }),
			pallet_inference::Event::InferenceSettled { workers, payouts: paid, .. } => {
				out.push(HubEvent::RequestSettled {
					workers: workers.into_iter().map(account).collect(),
					payouts: payouts(paid),
				})
			},
			_ => {},
		},
		RuntimeEvent::Verification(event) => match event {
			pallet_verification::Event::WorkerRegistered { worker, bond, .. } => {
				out.push(HubEvent::WorkerBonded { worker: account(worker), bond, registered: true })
			},
			pallet_verification::Event::WorkerUpdated { worker, bond } => out
				.push(HubEvent::WorkerBonded { worker: account(worker), bond, registered: false }),
			pallet_verification::Event::BondWithdrawn { worker, .. } => {
				out.push(HubEvent::WorkerBonded {
					worker: account(worker),
					bond: 0,
					registered: false,
				})
			},
			pallet_verification::Event::WorkerReady { worker, model, version } => {
				out.push(HubEvent::WorkerReady { worker: account(worker), model, version })
			},
			pallet_verification::Event::ReadinessWithdrawn { worker, model, .. } => {
				out.push(HubEvent::ReadinessWithdrawn { worker: account(worker), model })
			},
			pallet_verification::Event::WorkerSlashed { worker, amount, .. } => {
				out.push(HubEvent::WorkerSlashed { worker: account(worker), amount })
			},
			_ => {},
		},
		RuntimeEvent::Channels(event) => match event {
			pallet_channels::Event::ChannelOpened { channel, payer, worker, .. } => {
				out.push(HubEvent::ChannelOpened {
					channel,
					payer: account(payer),
					worker: account(worker),
				})
			},
			pallet_channels::Event::ChannelSettled { channel, calls, payouts: paid, .. } => {
				out.push(HubEvent::ChannelSettled { channel, calls, payouts: payouts(paid) })
			},
			_ => {},
		},
		_ => {},
	}
	Ok(())
}

/// A model's terms in the state of block `hash`; `None` once removed.
fn model_terms<C: ChainState>(
	client: &C,
	hash: H256,
	model: u64,
) -> Result<Option<ModelTerms>, String> {
	use pallet_model_registry::types::ModelStatus;
	let key = pallet_model_registry::Models::<Runtime>::hashed_key_for(model);
	let Some(stored) =
		read::<_, pallet_model_registry::types::ModelOf<Runtime>>(client, hash, key)?
	else {
		return Ok(None);
	};
	Ok(Some(ModelTerms {
		id: model,
		owner: account(stored.owner),
		name: String::from_utf8_lossy(&stored.name).into_owned(),
		description: String::from_utf8_lossy(&stored.description).into_owned(),
		price: stored.price,
		state: match stored.status {
			ModelStatus::Active => ModelState::Active,
			ModelStatus::Paused => ModelState::Paused,
			ModelStatus::Retired => ModelState::Retired,
			ModelStatus::Delisted => ModelState::Delisted,
		},
		version: stored.version,
		parent: stored.parent.map(|link| link.model),
		created: stored.created,
		split: stored
			.royalties
			.into_iter()
			.map(|(who, share)| (account(who), share.deconstruct().saturating_mul(1_000)))
			.collect(),
	}))
}

/// The `hubindex_*` methods: the hub's history over any window of blocks or dates.
#[rpc(server, namespace = "hubindex")]
pub trait HubIndexApi {
	/// The last block indexed, the last finalized, and the counts of models and calls.
	#[method(name = "status", blocking)]
	fn status(&self) -> RpcResult<serde_json::Value>;

	/// A page of the catalog: models whose name or description contains `search`, ordered by
	/// `order` (`calls`, `revenue`, `price`, `newest`), `limit` (at most 100) from `offset`.
	#[method(name = "models", blocking)]
	fn models(
		&self,
		search: Option<String>,
		order: Option<String>,
		offset: Option<u32>,
		limit: Option<u32>,
	) -> RpcResult<CatalogPage>;

	/// A model's terms, versions, family, figures and daily series over `window`, top payers
	/// and ready workers; `null` for a model never published.
	#[method(name = "model", blocking)]
	fn model(&self, model: u64, window: Option<Window>) -> RpcResult<Option<ModelPage>>;

	/// What the models `account` owns earned over `window`.
	#[method(name = "uploader", blocking)]
	fn uploader(&self, account: String, window: Option<Window>) -> RpcResult<UploaderView>;

	/// A worker's bond, readiness, jobs, earnings and slashes over `window`.
	#[method(name = "worker", blocking)]
	fn worker(&self, account: String, window: Option<Window>) -> RpcResult<WorkerView>;

	/// The market over `window`: calls, fees, royalties, concentration (top-10 share, HHI,
	/// Gini), Lorenz curves of `points` segments (default 20), the royalties' bottom 50% and
	/// 80% shares, and the same day by day.
	#[method(name = "market", blocking)]
	fn market(&self, window: Option<Window>, points: Option<u32>) -> RpcResult<MarketView>;
}

/// Serves the `hubindex_*` methods from the index.
#[derive(Clone)]
pub struct HubIndexRpc {
	index: Arc<Mutex<Index>>,
	finalized: Arc<dyn Fn() -> u32 + Send + Sync>,
}

/// A parameter has a value the method does not know (the hub's code for it, as `modelhub_*`).
const INVALID_PARAMETER: i32 = 21005;
/// The index's database failed.
const INDEX_FAILED: i32 = 21016;

fn rpc_error(error: modelhub_index::Error) -> ErrorObjectOwned {
	use modelhub_index::Error;
	let code = match error {
		Error::Sql(_) | Error::NotNextBlock { .. } => INDEX_FAILED,
		Error::InvalidAccount(_)
		| Error::InvalidDate(_)
		| Error::EmptyWindow
		| Error::InvalidParameter(_) => INVALID_PARAMETER,
	};
	ErrorObjectOwned::owned(code, error.to_string(), None::<()>)
}

impl HubIndexRpc {
	fn with<T>(&self, query: impl FnOnce(&Index) -> modelhub_index::Result<T>) -> RpcResult<T> {
		let index = self.index.lock().map_err(|_| {
			ErrorObjectOwned::owned(INDEX_FAILED, "the hub index is unavailable", None::<()>)
		})?;
		query(&index).map_err(rpc_error)
	}
}

impl HubIndexApiServer for HubIndexRpc {
	fn status(&self) -> RpcResult<serde_json::Value> {
		let status = self.with(|index| index.status())?;
		let mut value = serde_json::to_value(status).unwrap_or_default();
		if let Some(object) = value.as_object_mut() {
			object.insert("finalizedBlock".into(), (self.finalized)().into());
		}
		Ok(value)
	}

	fn models(
		&self,
		search: Option<String>,
		order: Option<String>,
		offset: Option<u32>,
		limit: Option<u32>,
	) -> RpcResult<CatalogPage> {
		let order = CatalogOrder::parse(order.as_deref().unwrap_or("calls")).map_err(rpc_error)?;
		self.with(|index| {
			index.models(search.as_deref(), order, offset.unwrap_or(0), limit.unwrap_or(20))
		})
	}

	fn model(&self, model: u64, window: Option<Window>) -> RpcResult<Option<ModelPage>> {
		self.with(|index| index.model(model, &window.unwrap_or_default()))
	}

	fn uploader(&self, account: String, window: Option<Window>) -> RpcResult<UploaderView> {
		self.with(|index| index.uploader(&account, &window.unwrap_or_default()))
	}

	fn worker(&self, account: String, window: Option<Window>) -> RpcResult<WorkerView> {
		self.with(|index| index.worker(&account, &window.unwrap_or_default()))
	}

	fn market(&self, window: Option<Window>, points: Option<u32>) -> RpcResult<MarketView> {
		self.with(|index| index.market(&window.unwrap_or_default(), points.unwrap_or(20)))
	}
}

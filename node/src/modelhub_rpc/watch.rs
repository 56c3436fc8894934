//! `modelhub_submitAndWatchInference`: one call that checks, submits and follows a signed
//! inference request to its final outcome.
//!
//! 1. `ModelHubApi::check_request_extrinsic` reads the bytes as a signed
//!    `Inference.request_inference` extrinsic and runs every check of the call at the best
//!    block, with the transaction fee (and tip) paid first, so a request that would fail is
//!    refused with a JSON-RPC error before anything is paid. A request whose workers are only
//!    busy is submitted: it waits in the pool for free ones. The node decodes no runtime type:
//!    the runtime reads its own extrinsics and events, so a runtime upgrade that changes a call
//!    or an event cannot make the watch misreport.
//! 2. The transaction pool validates the signature, nonce and transaction fee and takes it; a
//!    refusal is a JSON-RPC error too.
//! 3. The subscription then streams the pool's `future`/`ready`, `inBlock` with the block and
//!    index, `assigned` with the request id, workers, deadline and fee split
//!    (`ModelHubApi::extrinsic_outcome` at that block), `settled` with the output and every
//!    payout or `refunded` with the amount and reason (`ModelHubApi::request_end` at the block
//!    it ended in, on the best chain), and finally `finalized` once that block is final, which
//!    ends the subscription.
//!
//! **Reorgs.** A `retracted` inclusion forgets the request id (after a reorg the same id may
//! be another request's); the request is followed again from its next `inBlock`. An outcome
//! whose block leaves the best chain is withdrawn with `outcomeRetracted`, and the watch goes on
//! until the outcome on the new best chain is final. A transaction dropped while not included
//! ends the watch with `dropped`.
//!
//! **Cost.** One task per node ([`Follower`]) reads, per new best block, which requests ended
//! in it (one runtime call, made only while some watch waits for an end) and wakes only their
//! watches; it wakes a watch for finality only once its outcome's block is final. An idle watch
//! costs nothing per block. Every wait is bounded in blocks.

use std::{
	collections::{BTreeMap, HashMap},
	sync::{Arc, Mutex},
	time::Duration,
};

use futures::{
	channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender},
	future::{self, Either},
	StreamExt,
};
use jsonrpsee::{types::ErrorObjectOwned, PendingSubscriptionSink, SubscriptionMessage};
use modelhub_primitives::{
	api::{ExtrinsicError, ExtrinsicOutcome, ModelHubApi, RequestError, RequestStatus},
	inference::{Outcome, RequestId},
	registry::ModelId,
	AccountId, Balance, BlockNumber, Hash,
};
use modelhub_runtime::opaque::Block;
use sc_client_api::BlockchainEvents;
use sc_transaction_pool_api::{
	error::{Error as PoolError, IntoPoolError},
	TransactionPool, TransactionSource, TransactionStatus,
};
use serde::Serialize;
use sp_api::{ApiExt, Metadata, ProvideRuntimeApi};
use sp_blockchain::HeaderBackend;
use sp_core::{bytes::to_hex, crypto::Ss58Codec};
use sp_runtime::{traits::Header as _, transaction_validity::InvalidTransaction, DispatchError};

use super::{codes, refund_name, request_error, runtime_error, Quote};

/// Most blocks to wait for the transaction to be included.
const INCLUSION_BLOCKS: u32 = 256;

/// Most blocks to follow an included request to its final outcome: far beyond the longest life
/// the runtime gives a request (its phase timeouts times its reassignments) and finality.
const FOLLOW_BLOCKS: u32 = 4_096;

/// The runtime API version that serves watches.
const WATCH_API_VERSION: u32 = 2;

/// One payment made from a settled fee.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Payout {
	/// Who was paid (SS58).
	pub account: String,
	/// How much.
	pub amount: String,
}

/// A step in the life of a request, as `modelhub_inferenceStatus` notifications carry it; the
/// `event` field names the variant. Only `finalized`, `dropped` and `timedOut` end a watch.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum InferenceUpdate {
	/// In the pool, waiting for an earlier nonce of the signer.
	Future,
	/// In the pool, ready for a block.
	Ready,
	/// Included in a block of the best chain.
	InBlock {
		/// The block.
		block: Hash,
		/// Its number.
		number: BlockNumber,
		/// The extrinsic's index in it.
		index: u32,
	},
	/// The block that included it left the best chain: everything reported since that
	/// `inBlock` no longer holds, and the request id may name another request on the new best
	/// chain. An `inBlock` follows when it is included again, or `dropped`.
	Retracted {
		/// The block.
		block: Hash,
	},
	/// Paid for: the fee is held and workers are assigned (on the best chain).
	Assigned {
		/// The request id.
		request: RequestId,
		/// The model called.
		model: ModelId,
		/// The workers assigned (SS58).
		workers: Vec<String>,
		/// The block at which the first phase times out.
		deadline: BlockNumber,
		/// The fee held and how settlement splits it.
		fee: Option<Quote>,
	},
	/// Settled on the best chain: the fee was paid out. Final with the `finalized` that
	/// follows, unless an `outcomeRetracted` comes first.
	Settled {
		/// The request id.
		request: RequestId,
		/// The block it settled in.
		block: Hash,
		/// Its number.
		number: BlockNumber,
		/// blake2-256 of the output.
		output_hash: String,
		/// The canonical output tensor set (hex).
		output: String,
		/// The workers that agreed on it (SS58).
		workers: Vec<String>,
		/// Every payment made from the fee.
		payouts: Vec<Payout>,
	},
	/// Refunded in full on the best chain. Final with the `finalized` that follows, unless an
	/// `outcomeRetracted` comes first.
	Refunded {
		/// The request id.
		request: RequestId,
		/// The block it was refunded in.
		block: Hash,
		/// Its number.
		number: BlockNumber,
		/// The amount returned.
		amount: String,
		/// `timeout`, `noQuorum`, `noMajority` or `workersFailed`.
		reason: &'static str,
	},
	/// Included, but the call failed: nothing was held; the transaction fee was paid. Final
	/// with the `finalized` that follows, unless a `retracted` comes first.
	Failed {
		/// The block.
		block: Hash,
		/// The runtime's error, e.g. `Inference(NotEnoughWorkers)`.
		error: String,
	},
	/// The block of the last `settled`, `refunded` or `failed` left the best chain; the
	/// request goes on, and its outcome on the new best chain follows.
	OutcomeRetracted {
		/// The block.
		block: Hash,
	},
	/// The block of the last `settled`, `refunded` or `failed` is final: so is the outcome.
	/// The watch ends.
	Finalized {
		/// The block.
		block: Hash,
		/// Its number.
		number: BlockNumber,
	},
	/// The pool dropped the transaction or found it invalid before it was included: nothing
	/// was paid. The watch ends.
	Dropped {
		/// `dropped`, `invalid` or `usurped`.
		reason: &'static str,
	},
	/// Not included, or not final, within the bound in blocks: `modelhub_request` tells where
	/// it is. The watch ends.
	TimedOut {
		/// The request id, if it was included.
		request: Option<RequestId>,
		/// Blocks waited.
		blocks: u32,
	},
}

/// Why the follower wakes a watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wake {
	/// The watched request ended in this block of the best chain.
	Ended(Hash),
	/// The best chain changed to another fork: blocks left it.
	Reorg,
	/// Blocks up to this number are final.
	Finalized(BlockNumber),
}

/// What the follower knows of the watches.
#[derive(Default)]
struct Registry {
	next: u64,
	/// Every watch, by its key.
	watches: HashMap<u64, UnboundedSender<Wake>>,
	/// Watches waiting for a request to end.
	requests: HashMap<RequestId, Vec<u64>>,
	/// Watches waiting for a block number to be final.
	finality: BTreeMap<BlockNumber, Vec<u64>>,
}

impl Registry {
	fn send(&self, key: u64, wake: Wake) {
		if let Some(sender) = self.watches.get(&key) {
			let _ = sender.unbounded_send(wake);
		}
	}

	/// Removes `key` from `lists`; whether the list is empty then.
	fn remove_from(lists: &mut Vec<u64>, key: u64) -> bool {
		lists.retain(|watch| *watch != key);
		lists.is_empty()
	}
}

/// The node's one follower of best and finalized blocks for all inference watches.
#[derive(Clone, Default)]
pub(super) struct Follower {
	registry: Arc<Mutex<Registry>>,
	started: Arc<std::sync::atomic::AtomicBool>,
}

/// A watch's place in the [`Follower`], removed when dropped.
struct Followed {
	follower: Follower,
	key: u64,
	wakes: UnboundedReceiver<Wake>,
}

impl Follower {
	/// Starts following blocks with `client` on `executor`, once.
	pub fn start<C>(&self, client: Arc<C>, executor: &Arc<dyn sp_core::traits::SpawnNamed>)
	where
		C: ProvideRuntimeApi<Block> + BlockchainEvents<Block> + Send + Sync + 'static,
		C::Api: ModelHubApi<Block, AccountId, Balance, BlockNumber>,
	{
		if self.started.swap(true, std::sync::atomic::Ordering::AcqRel) {
			return;
		}
		let registry = self.registry.clone();
		executor.spawn(
			"modelhub-rpc-watch-follower",
			Some("rpc"),
			Box::pin(async move { follow(client, registry).await }),
		);
	}

	/// A new watch's place.
	fn join(&self) -> Followed {
		let (sender, wakes) = unbounded();
		let key = match self.registry.lock() {
			Ok(mut registry) => {
				registry.next = registry.next.wrapping_add(1);
				let key = registry.next;
				registry.watches.insert(key, sender);
				key
			},
			Err(_) => 0,
		};
		Followed { follower: self.clone(), key, wakes }
	}
}

impl Followed {
	fn with(&self, change: impl FnOnce(&mut Registry, u64)) {
		if let Ok(mut registry) = self.follower.registry.lock() {
			change(&mut registry, self.key);
		}
	}

	/// Wakes this watch when `request` ends on the best chain.
	fn watch_request(&self, request: RequestId) {
		self.with(|registry, key| registry.requests.entry(request).or_default().push(key));
	}

	/// Stops waking this watch for `request`.
	fn forget_request(&self, request: RequestId) {
		self.with(|registry, key| {
			if let Some(list) = registry.requests.get_mut(&request) {
				if Registry::remove_from(list, key) {
					registry.requests.remove(&request);
				}
			}
		});
	}

	/// Wakes this watch once block `number` is final.
	fn await_finality(&self, number: BlockNumber) {
		self.with(|registry, key| registry.finality.entry(number).or_default().push(key));
	}
}

impl Drop for Followed {
	fn drop(&mut self) {
		self.with(|registry, key| {
			registry.watches.remove(&key);
			registry.requests.retain(|_, list| !Registry::remove_from(list, key));
			registry.finality.retain(|_, list| !Registry::remove_from(list, key));
		});
	}
}

/// The follower's loop: per new best block, the requests that ended in it (and in the blocks
/// a reorg enacted) wake their watches; a reorg wakes every watch; finality wakes the watches
/// waiting for it.
async fn follow<C>(client: Arc<C>, registry: Arc<Mutex<Registry>>)
where
	C: ProvideRuntimeApi<Block> + BlockchainEvents<Block> + Send + Sync + 'static,
	C::Api: ModelHubApi<Block, AccountId, Balance, BlockNumber>,
{
	let imports = client
		.import_notification_stream()
		.filter(|notification| future::ready(notification.is_new_best))
		.map(Either::Left);
	let finality = client.finality_notification_stream().map(Either::Right);
	let mut notifications = futures::stream::select(imports, finality);
	while let Some(notification) = notifications.next().await {
		match notification {
			Either::Left(best) => {
				let mut enacted = Vec::new();
				let mut reorg = false;
				if let Some(route) = &best.tree_route {
					reorg = !route.retracted().is_empty();
					enacted.extend(route.enacted().iter().map(|block| block.hash));
				}
				enacted.push(best.hash);
				let waiting = {
					let Ok(registry) = registry.lock() else { return };
					if reorg {
						for key in registry.watches.keys() {
							registry.send(*key, Wake::Reorg);
						}
					}
					!registry.requests.is_empty()
				};
				if !waiting {
					continue;
				}
				for block in enacted {
					let ended = client.runtime_api().requests_ended(block).unwrap_or_default();
					let Ok(registry) = registry.lock() else { return };
					for request in ended {
						for key in registry.requests.get(&request).into_iter().flatten() {
							registry.send(*key, Wake::Ended(block));
						}
					}
				}
			},
			Either::Right(finalized) => {
				let number = *finalized.header.number();
				let Ok(mut registry) = registry.lock() else { return };
				let later = registry.finality.split_off(&number.saturating_add(1));
				let due = std::mem::replace(&mut registry.finality, later);
				for key in due.into_values().flatten() {
					registry.send(key, Wake::Finalized(number));
				}
			},
		}
	}
}

/// What the node needs to run one subscription.
pub(super) struct Watch<C, P> {
	pub client: Arc<C>,
	pub pool: Arc<P>,
	pub follower: Follower,
}

/// What a watch knows of its transaction's inclusion on the best chain.
#[derive(Clone, Copy, Debug)]
struct Inclusion {
	block: Hash,
	number: BlockNumber,
	/// The request it made; `None` if the call failed.
	request: Option<RequestId>,
}

/// The block holding a watch's outcome (`settled`, `refunded` or `failed`).
#[derive(Clone, Copy, Debug)]
struct Ending {
	block: Hash,
	number: BlockNumber,
}

/// A transaction-pool status, a wake from the follower, or the time bound.
enum Step<S> {
	Pool(Option<S>),
	Wake(Wake),
	Expired,
}

fn bad_extrinsic(message: impl Into<String>) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(codes::BAD_EXTRINSIC, message.into(), None::<()>)
}

/// The JSON-RPC error for the pool's refusal.
fn rejected<E: IntoPoolError>(error: E) -> ErrorObjectOwned {
	let message = match error.into_pool_error() {
		Ok(PoolError::InvalidTransaction(invalid)) => match invalid {
			InvalidTransaction::Payment => "the signer cannot pay the transaction fee".into(),
			InvalidTransaction::Stale => "the nonce was already used".into(),
			InvalidTransaction::BadProof => "the signature does not verify".into(),
			InvalidTransaction::AncientBirthBlock => "the mortality era has passed".into(),
			other => format!("invalid transaction: {other:?}"),
		},
		Ok(PoolError::AlreadyImported(_)) => "the transaction is already in the pool".into(),
		Ok(PoolError::TemporarilyBanned) => "the transaction was recently refused".into(),
		Ok(other) => other.to_string(),
		Err(other) => other.to_string(),
	};
	ErrorObjectOwned::owned(codes::TRANSACTION_REJECTED, message, None::<()>)
}

/// The wall-clock time `blocks` blocks take.
fn blocks_time(blocks: u32) -> Duration {
	Duration::from_millis(modelhub_primitives::time::MILLISECS_PER_BLOCK).saturating_mul(blocks)
}

impl<C, P> Watch<C, P>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: ModelHubApi<Block, AccountId, Balance, BlockNumber> + Metadata<Block>,
	P: TransactionPool<Block = Block> + 'static,
{
	/// Checks and submits `bytes`, then streams the request's life to `pending`.
	pub async fn run(self, pending: PendingSubscriptionSink, bytes: Vec<u8>) {
		let best = self.client.info().best_hash;
		let extrinsic = match self.check(best, &bytes) {
			Ok(extrinsic) => extrinsic,
			Err(error) => return pending.reject(error).await,
		};
		// Join the follower before submitting, so no end is missed.
		let mut followed = self.follower.join();
		let statuses =
			match self.pool.submit_and_watch(best, TransactionSource::External, extrinsic).await {
				Ok(statuses) => statuses,
				Err(error) => return pending.reject(rejected(error)).await,
			};
		let Ok(sink) = pending.accept().await else { return };
		let mut statuses = Some(statuses);
		let started = self.client.info().best_number;
		let mut expires = Box::pin(sleep_for(blocks_time(INCLUSION_BLOCKS)));
		let mut included: Option<Inclusion> = None;
		let mut ending: Option<Ending> = None;
		loop {
			let step = {
				let pool = async {
					match statuses.as_mut() {
						Some(stream) => Step::Pool(stream.next().await),
						None => future::pending().await,
					}
				};
				let wake = async {
					match followed.wakes.next().await {
						Some(wake) => Step::Wake(wake),
						None => future::pending().await,
					}
				};
				let expired = async {
					(&mut expires).await;
					Step::Expired
				};
				let closed = sink.closed();
				futures::pin_mut!(pool, wake, expired, closed);
				let steps = future::select(future::select(pool, wake), expired);
				match future::select(steps, closed).await {
					Either::Left((Either::Left((Either::Left((step, _)), _)), _)) => step,
					Either::Left((Either::Left((Either::Right((step, _)), _)), _)) => step,
					Either::Left((Either::Right((step, _)), _)) => step,
					Either::Right(_) => return,
				}
			};
			let mut updates = Vec::new();
			let mut done = false;
			match step {
				Step::Pool(None) => statuses = None,
				Step::Pool(Some(TransactionStatus::Future)) => {
					updates.push(InferenceUpdate::Future)
				},
				Step::Pool(Some(TransactionStatus::Ready)) => updates.push(InferenceUpdate::Ready),
				Step::Pool(Some(TransactionStatus::InBlock((block, index)))) => {
					let Ok(Some(number)) = self.client.number(block) else { continue };
					let index = u32::try_from(index).unwrap_or(u32::MAX);
					updates.push(InferenceUpdate::InBlock { block, number, index });
					if let Some(previous) = included.take().and_then(|inclusion| inclusion.request)
					{
						followed.forget_request(previous);
					}
					ending = None;
					expires = Box::pin(sleep_for(blocks_time(FOLLOW_BLOCKS)));
					match self.outcome(block, index) {
						Some(ExtrinsicOutcome::Requested { request, model, workers, deadline }) => {
							let fee = match self.client.runtime_api().request(block, request) {
								Ok(Some(RequestStatus::Pending(pending))) => {
									Some(Quote::from(pending.fee))
								},
								_ => None,
							};
							updates.push(InferenceUpdate::Assigned {
								request,
								model,
								workers: workers.iter().map(Ss58Codec::to_ss58check).collect(),
								deadline,
								fee,
							});
							included = Some(Inclusion { block, number, request: Some(request) });
							followed.watch_request(request);
							// It may have ended before the watch asked to be woken.
							let best = self.client.info().best_hash;
							if let Some((at, update)) = self.ended_by(best, block, number, request)
							{
								updates.push(update);
								ending = Some(at);
								followed.await_finality(at.number);
							}
						},
						Some(ExtrinsicOutcome::Failed(error)) => {
							updates.push(InferenceUpdate::Failed {
								block,
								error: self.describe(block, error),
							});
							included = Some(Inclusion { block, number, request: None });
							ending = Some(Ending { block, number });
							followed.await_finality(number);
						},
						Some(ExtrinsicOutcome::Succeeded) | None => {
							updates.push(InferenceUpdate::Failed {
								block,
								error: "the block records no request for the extrinsic".into(),
							});
							included = Some(Inclusion { block, number, request: None });
							ending = Some(Ending { block, number });
							followed.await_finality(number);
						},
					}
				},
				Step::Pool(Some(TransactionStatus::Retracted(block))) => {
					if included.is_some_and(|inclusion| inclusion.block == block) {
						if let Some(request) = included.and_then(|inclusion| inclusion.request) {
							followed.forget_request(request);
						}
						included = None;
						ending = None;
						expires = Box::pin(sleep_for(blocks_time(INCLUSION_BLOCKS)));
						updates.push(InferenceUpdate::Retracted { block });
					}
				},
				Step::Pool(Some(TransactionStatus::Dropped)) if included.is_none() => {
					updates.push(InferenceUpdate::Dropped { reason: "dropped" });
					done = true;
				},
				Step::Pool(Some(TransactionStatus::Invalid)) if included.is_none() => {
					updates.push(InferenceUpdate::Dropped { reason: "invalid" });
					done = true;
				},
				Step::Pool(Some(TransactionStatus::Usurped(_))) if included.is_none() => {
					updates.push(InferenceUpdate::Dropped { reason: "usurped" });
					done = true;
				},
				Step::Pool(Some(_)) => {},
				Step::Wake(Wake::Ended(at)) => {
					if let Some(Inclusion { block, number, request: Some(request) }) = included {
						if ending.is_none() {
							if let Some((end, update)) = self.ended_by(at, block, number, request) {
								updates.push(update);
								ending = Some(end);
								followed.await_finality(end.number);
							}
						}
					}
				},
				Step::Wake(Wake::Reorg) => {
					if let Some(end) = ending {
						if !self.canonical(end.block, end.number) {
							updates.push(InferenceUpdate::OutcomeRetracted { block: end.block });
							ending = None;
							// The request may have ended on the new best chain already.
							if let Some(Inclusion { block, number, request: Some(request) }) =
								included
							{
								let best = self.client.info().best_hash;
								if let Some((end, update)) =
									self.ended_by(best, block, number, request)
								{
									updates.push(update);
									ending = Some(end);
									followed.await_finality(end.number);
								}
							}
						}
					}
				},
				Step::Wake(Wake::Finalized(finalized)) => {
					if let Some(end) = ending {
						if finalized >= end.number && self.canonical(end.block, end.number) {
							updates.push(InferenceUpdate::Finalized {
								block: end.block,
								number: end.number,
							});
							done = true;
						}
					}
				},
				Step::Expired => {
					let best = self.client.info().best_number;
					updates.push(InferenceUpdate::TimedOut {
						request: included.and_then(|inclusion| inclusion.request),
						blocks: best.saturating_sub(started),
					});
					done = true;
				},
			}
			for update in updates {
				let Ok(message) = SubscriptionMessage::from_json(&update) else { return };
				if sink.send(message).await.is_err() {
					return;
				}
			}
			if done {
				return;
			}
		}
	}

	/// Whether `block`, numbered `number`, is on the best chain.
	fn canonical(&self, block: Hash, number: BlockNumber) -> bool {
		self.client.hash(number).ok().flatten() == Some(block)
	}

	/// Checks `bytes` at `at` through the runtime: a signed `request_inference` whose request
	/// would be accepted (or waits only for busy workers).
	fn check(
		&self,
		at: Hash,
		bytes: &[u8],
	) -> Result<sp_runtime::OpaqueExtrinsic, ErrorObjectOwned> {
		let api = self.client.runtime_api();
		let version = api
			.api_version::<dyn ModelHubApi<Block, AccountId, Balance, BlockNumber>>(at)
			.map_err(runtime_error)?;
		if version.is_none_or(|version| version < WATCH_API_VERSION) {
			return Err(runtime_error(format!(
				"the runtime's ModelHubApi is version {version:?}; watches need \
				 {WATCH_API_VERSION}"
			)));
		}
		let checked = api.check_request_extrinsic(at, bytes.to_vec()).map_err(runtime_error)?;
		let checked = checked.map_err(|error| {
			bad_extrinsic(match error {
				ExtrinsicError::Undecodable => "not an extrinsic of this chain",
				ExtrinsicError::NotSigned => "the extrinsic is not signed by an account id",
				ExtrinsicError::NotARequest => {
					"the extrinsic does not call Inference.request_inference"
				},
			})
		})?;
		match checked.verdict {
			// Busy workers: the pool keeps the request until enough of them are free.
			Ok(_) | Err(RequestError::WorkersBusy) => {},
			Err(RequestError::FeeAboveMax) => {
				let quote = api
					.quote(at, checked.model, checked.input_len, checked.redundancy)
					.map_err(runtime_error)?
					.map_err(|error| request_error(checked.model, error))?;
				return Err(ErrorObjectOwned::owned(
					codes::FEE_ABOVE_MAX,
					format!("the fee is {} but max_fee is {}", quote.total, checked.max_fee),
					Some(Quote::from(quote)),
				));
			},
			Err(error) => return Err(request_error(checked.model, error)),
		}
		sp_runtime::OpaqueExtrinsic::try_from_encoded_extrinsic(bytes)
			.map_err(|error| bad_extrinsic(format!("not an extrinsic: {error}")))
	}

	/// What the extrinsic at `index` of `block` did.
	fn outcome(&self, block: Hash, index: u32) -> Option<ExtrinsicOutcome<AccountId, BlockNumber>> {
		self.client.runtime_api().extrinsic_outcome(block, index).ok().flatten()
	}

	/// How `request` ended, if it has by `at` on the chain through `at`, and the request made
	/// by the extrinsic in `included` (numbered `number`) is on that chain.
	fn ended_by(
		&self,
		at: Hash,
		included: Hash,
		number: BlockNumber,
		request: RequestId,
	) -> Option<(Ending, InferenceUpdate)> {
		let api = self.client.runtime_api();
		let at_number = self.client.number(at).ok().flatten()?;
		// On the best chain, both the inclusion and `at`: otherwise the id may be another
		// request's.
		if !self.canonical(included, number) || !self.canonical(at, at_number) {
			return None;
		}
		let result = api.result(at, request).ok().flatten()?;
		let ended_in = self.client.hash(result.ended_at).ok().flatten()?;
		let end = api.request_end(ended_in, request).ok().flatten()?;
		let number = result.ended_at;
		let update = match end.outcome {
			Outcome::Settled { output_hash } => InferenceUpdate::Settled {
				request,
				block: ended_in,
				number,
				output_hash: to_hex(&output_hash, false),
				output: to_hex(&end.output, false),
				workers: end.workers.iter().map(Ss58Codec::to_ss58check).collect(),
				payouts: end
					.payouts
					.into_iter()
					.map(|(account, amount)| Payout {
						account: account.to_ss58check(),
						amount: amount.to_string(),
					})
					.collect(),
			},
			Outcome::Refunded { reason } => InferenceUpdate::Refunded {
				request,
				block: ended_in,
				number,
				amount: end.refunded.to_string(),
				reason: refund_name(reason),
			},
		};
		Some((Ending { block: ended_in, number }, update))
	}

	/// The runtime's error by the names its metadata gives, e.g. `Inference(NotEnoughWorkers)`.
	fn describe(&self, at: Hash, error: DispatchError) -> String {
		let DispatchError::Module(module) = error else { return format!("{error:?}") };
		let named = self
			.client
			.runtime_api()
			.metadata_at_version(at, 15)
			.ok()
			.flatten()
			.and_then(|metadata| error_name(&metadata, module.index, module.error[0]));
		named.unwrap_or_else(|| format!("{error:?}"))
	}
}

/// `Pallet(Error)` for error `error` of the pallet at `index`, from metadata V15 bytes.
fn error_name(metadata: &[u8], index: u8, error: u8) -> Option<String> {
	use codec::Decode;
	use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
	let RuntimeMetadataPrefixed(_, RuntimeMetadata::V15(metadata)) =
		RuntimeMetadataPrefixed::decode(&mut &metadata[..]).ok()?
	else {
		return None;
	};
	let pallet = metadata.pallets.iter().find(|pallet| pallet.index == index)?;
	let ty = metadata.types.resolve(pallet.error.as_ref()?.ty.id)?;
	let scale_info::TypeDef::Variant(variants) = &ty.type_def else { return None };
	let variant = variants.variants.iter().find(|variant| variant.index == error)?;
	Some(format!("{}({})", pallet.name, variant.name))
}

/// A future that completes after `duration`.
fn sleep_for(duration: Duration) -> impl std::future::Future<Output = ()> + Send {
	tokio::time::sleep(duration)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_follower_registry_forgets_a_dropped_watch() {
		let follower = Follower::default();
		let first = follower.join();
		let second = follower.join();
		first.watch_request(7);
		second.watch_request(7);
		first.await_finality(10);
		second.forget_request(7);
		{
			let registry = follower.registry.lock().expect("registry");
			assert_eq!(registry.requests.get(&7), Some(&vec![first.key]));
			assert_eq!(registry.watches.len(), 2);
		}
		drop(first);
		let registry = follower.registry.lock().expect("registry");
		assert!(registry.requests.is_empty() && registry.finality.is_empty());
		assert_eq!(registry.watches.len(), 1);
	}
}

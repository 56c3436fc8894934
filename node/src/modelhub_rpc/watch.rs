//! `modelhub_submitAndWatchInference`: one call that checks, submits and follows a signed
//! inference request.
//!
//! 1. The bytes must decode as a signed `Inference.request_inference` extrinsic of this chain.
//! 2. `ModelHubApi::check_request` runs every check of the call at the best block, with the
//!    transaction fee (`TransactionPaymentApi::query_info` plus the tip) paid first, so a
//!    request that would fail is refused with a JSON-RPC error before anything is paid. A
//!    request whose workers are only busy is submitted: it waits in the pool for free ones.
//! 3. The transaction pool validates the signature, nonce and transaction fee and takes it; a
//!    refusal is a JSON-RPC error too.
//! 4. The subscription then streams the pool's `future`/`ready`, `inBlock` with the block and
//!    index, `assigned` with the request id, workers, deadline and fee split (read from the
//!    block's events and `ModelHubApi::request`), and, following best blocks, `settled` with the
//!    output and every payout or `refunded` with the amount and reason. Every wait is bounded
//!    in blocks.

use std::{marker::PhantomData, sync::Arc};

use codec::{Decode, DecodeAll};
use futures::{
	future::{self, Either},
	stream, StreamExt,
};
use jsonrpsee::{types::ErrorObjectOwned, PendingSubscriptionSink, SubscriptionMessage};
use modelhub_primitives::{
	api::{ModelHubApi, RequestError, RequestStatus},
	inference::{Outcome, RequestId},
	registry::ModelId,
	AccountId, Balance, BlockNumber, Hash,
};
use modelhub_runtime::{
	opaque::Block, InferenceCall, InferenceEvent, RuntimeCall, RuntimeError, RuntimeEvent,
	UncheckedExtrinsic,
};
use pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi;
use sc_client_api::{BlockchainEvents, StorageProvider};
use sc_transaction_pool_api::{
	error::{Error as PoolError, IntoPoolError},
	TransactionPool, TransactionSource, TransactionStatus,
};
use serde::Serialize;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{bytes::to_hex, crypto::Ss58Codec, storage::StorageKey};
use sp_runtime::{
	generic::Preamble, transaction_validity::InvalidTransaction, DispatchError, MultiAddress,
	OpaqueExtrinsic,
};

use super::{codes, refund_name, request_error, runtime_error, Quote};

/// Most new best blocks to wait for the transaction to be included.
const INCLUSION_BLOCKS: u32 = 256;

/// Most new best blocks to follow an included request to its end: far beyond the longest life
/// the runtime gives a request (its phase timeouts times its reassignments).
const FOLLOW_BLOCKS: u32 = 4_096;

/// One payment made from a settled fee.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Payout {
	/// Who was paid (SS58).
	pub account: String,
	/// How much.
	pub amount: String,
}

/// A step in the life of a request, as `modelhub_inferenceStatus` notifications carry it; the
/// `event` field names the variant.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum InferenceUpdate {
	/// In the pool, waiting for an earlier nonce of the signer.
	Future,
	/// In the pool, ready for a block.
	Ready,
	/// Included in a block.
	InBlock {
		/// The block.
		block: Hash,
		/// Its number.
		number: BlockNumber,
		/// The extrinsic's index in it.
		index: u32,
	},
	/// The block that included it left the best chain; an `inBlock` follows when it is
	/// included again.
	Retracted {
		/// The block.
		block: Hash,
	},
	/// Paid for: the fee is held and workers are assigned.
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
	/// Settled: the fee was paid out and the output is final.
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
	/// Refunded in full.
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
	/// Included, but the call failed: nothing was held; the transaction fee was paid.
	Failed {
		/// The block.
		block: Hash,
		/// The runtime's error, e.g. `Inference(NotEnoughWorkers)`.
		error: String,
	},
	/// The pool dropped the transaction or found it invalid: nothing was paid.
	Dropped {
		/// `dropped`, `invalid` or `usurped`.
		reason: &'static str,
	},
	/// Not included, or not ended, within the bound in blocks: `modelhub_request` tells where
	/// it is.
	TimedOut {
		/// The request id, if it was included.
		request: Option<RequestId>,
		/// Blocks waited.
		blocks: u32,
	},
}

/// What the node needs to run one subscription.
pub(super) struct Watch<C, P, B> {
	pub client: Arc<C>,
	pub pool: Arc<P>,
	pub _backend: PhantomData<B>,
}

/// A transaction-pool status or a new best block.
enum Step<S> {
	Pool(S),
	Best(Hash),
}

/// What the block that included the extrinsic says about it.
enum Included {
	/// The request it made, with the update that announces it.
	Requested(RequestId, InferenceUpdate),
	/// The call failed.
	Failed(String),
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

/// The runtime's error for `error`, e.g. `Inference(NotEnoughWorkers)`.
fn describe(error: DispatchError) -> String {
	match RuntimeError::from_dispatch_error(error) {
		Some(module) => format!("{module:?}"),
		None => format!("{error:?}"),
	}
}

impl<C, P, B> Watch<C, P, B>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ BlockchainEvents<Block>
		+ StorageProvider<Block, B>
		+ Send
		+ Sync
		+ 'static,
	C::Api: ModelHubApi<Block, AccountId, Balance, BlockNumber>
		+ TransactionPaymentRuntimeApi<Block, Balance>,
	P: TransactionPool<Block = Block> + 'static,
	B: sc_client_api::Backend<Block> + Send + Sync + 'static,
{
	/// Checks and submits `bytes`, then streams the request's life to `pending`.
	pub async fn run(self, pending: PendingSubscriptionSink, bytes: Vec<u8>) {
		let best = self.client.info().best_hash;
		let extrinsic = match self.check(best, &bytes) {
			Ok(extrinsic) => extrinsic,
			Err(error) => return pending.reject(error).await,
		};
		// Listen for blocks before submitting, so none is missed.
		let imports = self.client.import_notification_stream();
		let statuses =
			match self.pool.submit_and_watch(best, TransactionSource::External, extrinsic).await {
				Ok(statuses) => statuses,
				Err(error) => return pending.reject(rejected(error)).await,
			};
		let Ok(sink) = pending.accept().await else { return };
		let bests = imports.filter_map(|notification| {
			future::ready(notification.is_new_best.then_some(notification.hash))
		});
		let mut steps = stream::select(statuses.map(Step::Pool), bests.map(Step::Best));
		let mut request = None;
		let mut blocks = 0u32;
		loop {
			let step = {
				let closed = sink.closed();
				futures::pin_mut!(closed);
				match future::select(steps.next(), closed).await {
					Either::Left((Some(step), _)) => step,
					_ => return,
				}
			};
			let mut updates = Vec::new();
			let mut done = false;
			match step {
				Step::Pool(TransactionStatus::Future) => updates.push(InferenceUpdate::Future),
				Step::Pool(TransactionStatus::Ready) => updates.push(InferenceUpdate::Ready),
				Step::Pool(TransactionStatus::InBlock((block, index))) => {
					let number = self.client.number(block).ok().flatten().unwrap_or_default();
					updates.push(InferenceUpdate::InBlock { block, number, index: index as u32 });
					match self.included(block, index as u32) {
						Included::Requested(id, assigned) => {
							updates.push(assigned);
							request = Some(id);
							blocks = 0;
							if let Some(ended) = self.ended(self.client.info().best_hash, id) {
								updates.push(ended);
								done = true;
							}
						},
						Included::Failed(error) => {
							updates.push(InferenceUpdate::Failed { block, error });
							done = true;
						},
					}
				},
				Step::Pool(TransactionStatus::Retracted(block)) => {
					updates.push(InferenceUpdate::Retracted { block })
				},
				Step::Pool(TransactionStatus::Dropped) if request.is_none() => {
					updates.push(InferenceUpdate::Dropped { reason: "dropped" });
					done = true;
				},
				Step::Pool(TransactionStatus::Invalid) if request.is_none() => {
					updates.push(InferenceUpdate::Dropped { reason: "invalid" });
					done = true;
				},
				Step::Pool(TransactionStatus::Usurped(_)) if request.is_none() => {
					updates.push(InferenceUpdate::Dropped { reason: "usurped" });
					done = true;
				},
				Step::Pool(_) => {},
				Step::Best(hash) => {
					blocks = blocks.saturating_add(1);
					match request {
						Some(id) => {
							if let Some(ended) = self.ended(hash, id) {
								updates.push(ended);
								done = true;
							} else if blocks >= FOLLOW_BLOCKS {
								updates.push(InferenceUpdate::TimedOut { request, blocks });
								done = true;
							}
						},
						None if blocks >= INCLUSION_BLOCKS => {
							updates.push(InferenceUpdate::TimedOut { request, blocks });
							done = true;
						},
						None => {},
					}
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

	/// Decodes `bytes` as a signed `request_inference` extrinsic and checks the request at
	/// `at` as the runtime will, after the transaction fee.
	fn check(&self, at: Hash, bytes: &[u8]) -> Result<OpaqueExtrinsic, ErrorObjectOwned> {
		let extrinsic = UncheckedExtrinsic::decode_all(&mut &bytes[..])
			.map_err(|error| bad_extrinsic(format!("not an extrinsic of this chain: {error}")))?;
		let (who, tip) = match &extrinsic.preamble {
			// The tuple's ninth extension is `ChargeTransactionPayment`.
			Preamble::Signed(MultiAddress::Id(who), _, extensions) => {
				(who.clone(), extensions.8.tip())
			},
			_ => return Err(bad_extrinsic("the extrinsic is not signed by an account id")),
		};
		let RuntimeCall::Inference(InferenceCall::request_inference {
			model,
			input,
			max_fee,
			redundancy,
		}) = &extrinsic.function
		else {
			return Err(bad_extrinsic("the extrinsic does not call Inference.request_inference"));
		};
		let opaque = OpaqueExtrinsic::try_from_encoded_extrinsic(bytes)
			.map_err(|error| bad_extrinsic(format!("not an extrinsic: {error}")))?;
		let api = self.client.runtime_api();
		let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
		let info = api.query_info(at, opaque.clone(), length).map_err(runtime_error)?;
		let tx_fee = info.partial_fee.saturating_add(tip);
		let checked = api
			.check_request(at, who, *model, input.clone(), *max_fee, *redundancy, tx_fee)
			.map_err(runtime_error)?;
		match checked {
			// Busy workers: the pool keeps the request until enough of them are free.
			Ok(_) | Err(RequestError::WorkersBusy) => Ok(opaque),
			Err(RequestError::FeeAboveMax) => {
				let input_len = u32::try_from(input.len()).unwrap_or(u32::MAX);
				let quote = api
					.quote(at, *model, input_len, *redundancy)
					.map_err(runtime_error)?
					.map_err(|error| request_error(*model, error))?;
				Err(ErrorObjectOwned::owned(
					codes::FEE_ABOVE_MAX,
					format!("the fee is {} but max_fee is {max_fee}", quote.total),
					Some(Quote::from(quote)),
				))
			},
			Err(error) => Err(request_error(*model, error)),
		}
	}

	/// The events of `block`.
	fn events(&self, block: Hash) -> Vec<frame_system::EventRecord<RuntimeEvent, Hash>> {
		let key = StorageKey(
			[sp_crypto_hashing::twox_128(b"System"), sp_crypto_hashing::twox_128(b"Events")]
				.concat()
				.to_vec(),
		);
		self.client
			.storage(block, &key)
			.ok()
			.flatten()
			.and_then(|data| Decode::decode(&mut &data.0[..]).ok())
			.unwrap_or_default()
	}

	/// What the extrinsic at `index` of `block` did.
	fn included(&self, block: Hash, index: u32) -> Included {
		for record in self.events(block) {
			if record.phase != frame_system::Phase::ApplyExtrinsic(index) {
				continue;
			}
			match record.event {
				RuntimeEvent::Inference(InferenceEvent::InferenceRequested {
					request,
					model,
					workers,
					deadline,
					..
				}) => {
					let split = match self.client.runtime_api().request(block, request) {
						Ok(Some(RequestStatus::Pending(pending))) => Some(Quote::from(pending.fee)),
						_ => None,
					};
					return Included::Requested(
						request,
						InferenceUpdate::Assigned {
							request,
							model,
							workers: workers.iter().map(Ss58Codec::to_ss58check).collect(),
							deadline,
							fee: split,
						},
					);
				},
				RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
					dispatch_error,
					..
				}) => return Included::Failed(describe(dispatch_error)),
				_ => {},
			}
		}
		Included::Failed("the block has no InferenceRequested event for the extrinsic".into())
	}

	/// How `request` ended, if it has by `block`.
	fn ended(&self, block: Hash, request: RequestId) -> Option<InferenceUpdate> {
		let result = self.client.runtime_api().result(block, request).ok().flatten()?;
		let number = result.ended_at;
		let ended_in = self.client.hash(number).ok().flatten().unwrap_or(block);
		let events = self.events(ended_in);
		match result.outcome {
			Outcome::Settled { output_hash } => {
				let (workers, payouts) = events
					.into_iter()
					.find_map(|record| match record.event {
						RuntimeEvent::Inference(InferenceEvent::InferenceSettled {
							request: settled,
							workers,
							payouts,
							..
						}) if settled == request => Some((workers, payouts)),
						_ => None,
					})
					.unwrap_or_default();
				Some(InferenceUpdate::Settled {
					request,
					block: ended_in,
					number,
					output_hash: to_hex(&output_hash, false),
					output: to_hex(&result.output, false),
					workers: workers.iter().map(Ss58Codec::to_ss58check).collect(),
					payouts: payouts
						.into_iter()
						.map(|(account, amount)| Payout {
							account: account.to_ss58check(),
							amount: amount.to_string(),
						})
						.collect(),
				})
			},
			Outcome::Refunded { reason } => {
				let amount = events
					.into_iter()
					.find_map(|record| match record.event {
						RuntimeEvent::Inference(InferenceEvent::InferenceRefunded {
							request: refunded,
							amount,
							..
						}) if refunded == request => Some(amount),
						_ => None,
					})
					.unwrap_or_default();
				Some(InferenceUpdate::Refunded {
					request,
					block: ended_in,
					number,
					amount: amount.to_string(),
					reason: refund_name(reason),
				})
			},
		}
	}
}

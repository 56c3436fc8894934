//! # Channels pallet
//!
//! Payment channels of the OPG Model Hub's fast path (`docs/fast-path.md`): a developer holds
//! OPG for one worker, pays each call off chain with a signed cumulative
//! [`Voucher`](modelhub_primitives::channel::Voucher), and the worker settles the latest voucher
//! in one extrinsic, however many calls it covers.
//!
//! ## Life of a channel
//!
//! 1. [`Pallet::open_channel`]: the payer holds a deposit (at least [`Config::MinDeposit`])
//!    under [`HoldReason::ChannelDeposit`] for an active worker, for a lifetime of at most
//!    [`Config::MaxLifetime`] blocks. [`Pallet::top_up`] adds to it and extends the lifetime.
//! 2. [`Pallet::settle`]: the worker presents a voucher the payer signed. Every call the
//!    voucher adds to what was settled before is paid exactly as the same call on the on-chain
//!    path pays (one call's royalty split across the model's lineage and one call's execution
//!    split between the validators' pot, the treasury and the worker, times the calls), and
//!    counted in the model's usage and the epoch's statistics through [`Config::Ledger`]. At
//!    most [`Config::MaxCallsPerSettlement`] calls are paid per extrinsic; the rest are paid by
//!    the next settlement of the same or a later voucher. An older voucher pays nothing.
//! 3. [`Pallet::close_channel`] by the payer starts the [`Config::ChallengePeriod`], during
//!    which the worker may still settle; by the worker it closes the channel at once. After
//!    the challenge period (or the same period after expiry), [`Pallet::claim`] returns what
//!    no voucher took to the payer.
//!
//! Each voucher entry must pay at least the model's price floor
//! ([`ModelRegistry::price_floor`]) and [`Config::MinExecutionFee`] per call; an entry of a
//! model no longer in the registry is not paid and its calls are not counted.
//!
//! Invariant (checked by `try_state`): each account's balance on hold for
//! [`HoldReason::ChannelDeposit`] equals the deposits of its channels, and each channel's
//! settled entries are a well-formed voucher's.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// What the benchmarks need from the runtime: a worker, a model, and a payer whose vouchers
/// they can sign.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Balance, Signature> {
	/// An active worker.
	fn worker() -> AccountId;
	/// Publishes a model whose royalty payout reaches `recipients` accounts across its
	/// lineage (at most `ModelRegistry::max_royalty_recipients`), priced at `price`.
	fn publish_model(
		owner: &AccountId,
		recipients: u32,
		price: Balance,
	) -> modelhub_primitives::registry::ModelId;
	/// An account the helper can sign vouchers for.
	fn payer() -> AccountId;
	/// `payer`'s signature over `message`.
	fn sign(payer: &AccountId, message: &[u8]) -> Signature;
	/// Funds `who` with `amount`.
	fn fund(who: &AccountId, amount: Balance);
}

// The code `frame_support::pallet` writes for the pallet's struct, storage and errors calls
// `expect` on values it builds itself; `scripts/lint.sh` keeps `expect` out of this file.
#[frame_support::pallet]
#[allow(clippy::expect_used)]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		dispatch::PostDispatchInfo,
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
		},
	};
	use frame_system::pallet_prelude::*;
	use modelhub_primitives::{
		channel::{ChannelId, VoucherEntry, VoucherError},
		inference::{CallLedger, Verifier},
		registry::{credit, ModelRegistry},
	};
	use sp_runtime::traits::{IdentifyAccount, Saturating, Verify, Zero};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the channels pallet.
	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The native token; deposits are held through it.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// The signature a payer signs vouchers with.
		type OffchainSignature: Verify<Signer = Self::OffchainPublic> + Parameter;

		/// The public key behind an account, as [`Config::OffchainSignature`] knows it.
		type OffchainPublic: IdentifyAccount<AccountId = Self::AccountId>;

		/// The model registry: price floors.
		type Registry: ModelRegistry<Self::AccountId, BalanceOf<Self>>;

		/// The workers: who is active, and how a settled call's fee divides.
		type Verifier: Verifier<Self::AccountId, BalanceOf<Self>>;

		/// Where settled calls are counted.
		type Ledger: CallLedger<Self::AccountId, BalanceOf<Self>>;

		/// The least execution fee a call may pay: the on-chain path's base execution fee.
		type MinExecutionFee: Get<BalanceOf<Self>>;

		/// The smallest deposit a channel opens with.
		#[pallet::constant]
		type MinDeposit: Get<BalanceOf<Self>>;

		/// The longest a channel may stay open, in blocks from its opening or last top-up.
		#[pallet::constant]
		type MaxLifetime: Get<BlockNumberFor<Self>>;

		/// Blocks the worker has to settle after the payer closes the channel or it expires.
		#[pallet::constant]
		type ChallengePeriod: Get<BlockNumberFor<Self>>;

		/// The most calls one settlement pays; the rest wait for the next settlement.
		#[pallet::constant]
		type MaxCallsPerSettlement: Get<u32>;

		/// The longest endpoint URL a worker may advertise, in bytes.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;

		/// Sets up what the benchmarks need.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: crate::BenchmarkHelper<
			Self::AccountId,
			BalanceOf<Self>,
			Self::OffchainSignature,
		>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A channel's deposit.
		#[codec(index = 0)]
		ChannelDeposit,
	}

	/// The id the next channel gets.
	#[pallet::storage]
	pub type NextChannelId<T> = StorageValue<_, ChannelId, ValueQuery>;

	/// Open and closing channels.
	#[pallet::storage]
	pub type Channels<T: Config> = StorageMap<_, Twox64Concat, ChannelId, ChannelOf<T>>;

	/// Where each worker serves fast calls: a URL (`http://`, `https://`, `ws://` or
	/// `wss://`) its JSON-RPC server answers at.
	#[pallet::storage]
	pub type Endpoints<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, BoundedVec<u8, T::MaxEndpointLen>>;

	/// Events of the channels pallet.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A payer opened a channel to a worker.
		ChannelOpened {
			/// The channel.
			channel: ChannelId,
			/// Who pays.
			payer: T::AccountId,
			/// The worker paid.
			worker: T::AccountId,
			/// The deposit held.
			deposit: BalanceOf<T>,
			/// The block from which no call may be made.
			expires_at: BlockNumberFor<T>,
		},
		/// A payer added to a channel's deposit or extended its lifetime.
		ChannelToppedUp {
			/// The channel.
			channel: ChannelId,
			/// The deposit now held.
			deposit: BalanceOf<T>,
			/// The block from which no call may be made.
			expires_at: BlockNumberFor<T>,
		},
		/// A worker settled calls of a channel.
		ChannelSettled {
			/// The channel.
			channel: ChannelId,
			/// The calls paid by this settlement.
			calls: u64,
			/// What this settlement paid out.
			amount: BalanceOf<T>,
			/// The calls settled on the channel so far.
			settled_calls: u64,
			/// Who got what.
			payouts: Vec<(T::AccountId, BalanceOf<T>)>,
		},
		/// The payer closed a channel; the worker may settle until `claimable_at`.
		ChannelClosing {
			/// The channel.
			channel: ChannelId,
			/// The block from which the payer may claim the rest.
			claimable_at: BlockNumberFor<T>,
		},
		/// A worker set or removed the endpoint it serves fast calls at.
		EndpointSet {
			/// The worker.
			worker: T::AccountId,
			/// The endpoint, or `None` when removed.
			endpoint: Option<BoundedVec<u8, T::MaxEndpointLen>>,
		},
		/// A channel ended and what was left of its deposit returned to the payer.
		ChannelClosed {
			/// The channel.
			channel: ChannelId,
			/// What its settlements paid out in all.
			paid: BalanceOf<T>,
			/// What returned to the payer.
			returned: BalanceOf<T>,
		},
	}

	/// Errors of the channels pallet.
	#[pallet::error]
	pub enum Error<T> {
		/// No channel has this id.
		ChannelNotFound,
		/// The worker is not bonded and active.
		WorkerNotActive,
		/// The deposit is below the minimum.
		DepositTooLow,
		/// The lifetime is zero or above the maximum.
		InvalidLifetime,
		/// The payer's free balance does not cover the deposit.
		InsufficientBalance,
		/// Only the channel's payer may do this.
		NotChannelPayer,
		/// Only the channel's worker may do this.
		NotChannelWorker,
		/// Only the channel's payer or worker may do this.
		NotChannelParty,
		/// The channel is closing or expired: no more deposit or calls.
		ChannelNotOpen,
		/// The payer already closed the channel.
		ChannelClosing,
		/// The challenge period is over: the channel can only be claimed.
		SettlementWindowOver,
		/// The challenge period is still running.
		ChallengePeriodRunning,
		/// The voucher names another channel.
		VoucherForOtherChannel,
		/// The voucher's entries are unordered or its totals are not their sums.
		VoucherMalformed,
		/// The payer did not sign this voucher.
		BadVoucherSignature,
		/// The voucher counts fewer calls in an entry than were already settled.
		VoucherNotCumulative,
		/// The voucher adds no call to what was settled.
		VoucherNotNewer,
		/// The voucher adds more than the channel holds.
		VoucherAboveDeposit,
		/// An entry pays less than the model's price floor per call.
		PriceBelowFloor,
		/// An entry pays less than the least execution fee per call.
		ExecutionBelowFloor,
		/// The endpoint is not an `http://`, `https://`, `ws://` or `wss://` URL.
		InvalidEndpoint,
	}

	impl<T> From<VoucherError> for Error<T> {
		fn from(error: VoucherError) -> Self {
			match error {
				VoucherError::NotCumulative => Error::VoucherNotCumulative,
				_ => Error::VoucherMalformed,
			}
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Opens a channel to `worker`, holding `deposit` from the caller, for `lifetime`
		/// blocks.
		///
		/// Emits [`Event::ChannelOpened`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::open_channel())]
		pub fn open_channel(
			origin: OriginFor<T>,
			worker: T::AccountId,
			deposit: BalanceOf<T>,
			lifetime: BlockNumberFor<T>,
		) -> DispatchResult {
			let payer = ensure_signed(origin)?;
			ensure!(T::Verifier::is_active(&worker), Error::<T>::WorkerNotActive);
			ensure!(deposit >= T::MinDeposit::get(), Error::<T>::DepositTooLow);
			let expires_at = Self::expiry(lifetime)?;
			T::Currency::hold(&HoldReason::ChannelDeposit.into(), &payer, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			let channel = NextChannelId::<T>::get();
			NextChannelId::<T>::put(channel.saturating_add(1));
			Channels::<T>::insert(
				channel,
				Channel {
					payer: payer.clone(),
					worker: worker.clone(),
					deposit,
					paid: Zero::zero(),
					settled: Default::default(),
					settled_calls: 0,
					expires_at,
					closing: None,
				},
			);
			Self::deposit_event(Event::ChannelOpened {
				channel,
				payer,
				worker,
				deposit,
				expires_at,
			});
			Ok(())
		}

		/// Adds `amount` (which may be zero) to an open channel's deposit and extends it to
		/// expire `lifetime` blocks from now, if that is later.
		///
		/// Emits [`Event::ChannelToppedUp`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::top_up())]
		pub fn top_up(
			origin: OriginFor<T>,
			channel: ChannelId,
			amount: BalanceOf<T>,
			lifetime: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Channels::<T>::get(channel).ok_or(Error::<T>::ChannelNotFound)?;
			ensure!(info.payer == who, Error::<T>::NotChannelPayer);
			ensure!(info.is_open(Self::now()), Error::<T>::ChannelNotOpen);
			let expires_at = Self::expiry(lifetime)?;
			T::Currency::hold(&HoldReason::ChannelDeposit.into(), &who, amount)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			info.deposit = info.deposit.saturating_add(amount);
			info.expires_at = info.expires_at.max(expires_at);
			let (deposit, expires_at) = (info.deposit, info.expires_at);
			Channels::<T>::insert(channel, info);
			Self::deposit_event(Event::ChannelToppedUp { channel, deposit, expires_at });
			Ok(())
		}

		/// Pays the calls `voucher` adds to what the channel settled before, from the
		/// channel's deposit; `signature` is the payer's over
		/// [`Voucher::message`](modelhub_primitives::channel::Voucher::message). Only the
		/// channel's worker may settle, until the challenge period after a close or expiry
		/// ends. Pays at most [`Config::MaxCallsPerSettlement`] calls, entry by entry in the
		/// voucher's order; the rest are paid by the next settlement.
		///
		/// Emits [`Event::ChannelSettled`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::settle(
			voucher.entries.len() as u32,
			voucher.calls.min(T::MaxCallsPerSettlement::get().into()) as u32,
		))]
		pub fn settle(
			origin: OriginFor<T>,
			channel: ChannelId,
			voucher: VoucherOf<T>,
			signature: T::OffchainSignature,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let (entries, calls) = Self::do_settle(who, channel, voucher, signature)?;
			Ok(PostDispatchInfo {
				actual_weight: Some(T::WeightInfo::settle(entries, calls)),
				pays_fee: Pays::Yes,
			})
		}

		/// Closes a channel. By the payer: starts the challenge period, during which the
		/// worker may still settle ([`Event::ChannelClosing`]); [`Pallet::claim`] returns the
		/// rest after it. By the worker: ends the channel at once and returns the rest of the
		/// deposit to the payer ([`Event::ChannelClosed`]).
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::close_channel())]
		pub fn close_channel(origin: OriginFor<T>, channel: ChannelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Channels::<T>::get(channel).ok_or(Error::<T>::ChannelNotFound)?;
			if who == info.worker {
				Self::end(channel, info);
				return Ok(());
			}
			ensure!(who == info.payer, Error::<T>::NotChannelParty);
			ensure!(info.closing.is_none(), Error::<T>::ChannelClosing);
			let now = Self::now();
			let challenge = T::ChallengePeriod::get();
			ensure!(now < info.claimable_at(challenge), Error::<T>::SettlementWindowOver);
			info.closing = Some(now.saturating_add(challenge));
			let claimable_at = info.claimable_at(challenge);
			Channels::<T>::insert(channel, info);
			Self::deposit_event(Event::ChannelClosing { channel, claimable_at });
			Ok(())
		}

		/// Ends a channel whose challenge period is over (after the payer closed it or it
		/// expired) and returns what is left of its deposit to the payer. Anyone may call it.
		///
		/// Emits [`Event::ChannelClosed`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::claim())]
		pub fn claim(origin: OriginFor<T>, channel: ChannelId) -> DispatchResult {
			ensure_signed(origin)?;
			let info = Channels::<T>::get(channel).ok_or(Error::<T>::ChannelNotFound)?;
			ensure!(
				Self::now() >= info.claimable_at(T::ChallengePeriod::get()),
				Error::<T>::ChallengePeriodRunning
			);
			Self::end(channel, info);
			Ok(())
		}

		/// Sets the endpoint where the calling worker serves fast calls, or removes it
		/// (`None`). Only an active worker may set one.
		///
		/// Emits [`Event::EndpointSet`].
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_endpoint())]
		pub fn set_endpoint(
			origin: OriginFor<T>,
			endpoint: Option<BoundedVec<u8, T::MaxEndpointLen>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			match &endpoint {
				Some(url) => {
					ensure!(T::Verifier::is_active(&who), Error::<T>::WorkerNotActive);
					let schemes: [&[u8]; 4] = [b"http://", b"https://", b"ws://", b"wss://"];
					ensure!(
						schemes
							.iter()
							.any(|scheme| url.len() > scheme.len() && url.starts_with(scheme))
							&& url.iter().all(|byte| byte.is_ascii_graphic()),
						Error::<T>::InvalidEndpoint
					);
					Endpoints::<T>::insert(&who, url.clone());
				},
				None => Endpoints::<T>::remove(&who),
			}
			Self::deposit_event(Event::EndpointSet { worker: who, endpoint });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		fn now() -> BlockNumberFor<T> {
			frame_system::Pallet::<T>::block_number()
		}

		/// The block `lifetime` blocks from now, if `lifetime` is allowed.
		fn expiry(lifetime: BlockNumberFor<T>) -> Result<BlockNumberFor<T>, Error<T>> {
			ensure!(
				!lifetime.is_zero() && lifetime <= T::MaxLifetime::get(),
				Error::<T>::InvalidLifetime
			);
			Ok(Self::now().saturating_add(lifetime))
		}

		/// Settles `voucher` on `channel` for `who`; see [`Pallet::settle`]. Returns the
		/// entries and calls it paid, for the weight.
		pub(crate) fn do_settle(
			who: T::AccountId,
			channel: ChannelId,
			voucher: VoucherOf<T>,
			signature: T::OffchainSignature,
		) -> Result<(u32, u32), DispatchError> {
			let mut info = Channels::<T>::get(channel).ok_or(Error::<T>::ChannelNotFound)?;
			ensure!(info.worker == who, Error::<T>::NotChannelWorker);
			ensure!(
				Self::now() < info.claimable_at(T::ChallengePeriod::get()),
				Error::<T>::SettlementWindowOver
			);
			ensure!(voucher.channel == channel, Error::<T>::VoucherForOtherChannel);
			voucher.check().map_err(Error::<T>::from)?;
			ensure!(voucher.calls > info.settled_calls, Error::<T>::VoucherNotNewer);
			let message = voucher.message(&Self::genesis_hash());
			ensure!(
				signature.verify(message.as_slice(), &info.payer),
				Error::<T>::BadVoucherSignature
			);
			let added = voucher.added_to(&info.settled).map_err(Error::<T>::from)?;

			// What this settlement pays: entry by entry, up to the cap.
			let mut budget = u64::from(T::MaxCallsPerSettlement::get());
			// Each entry paid, its calls paid and, as a balance, that count.
			let mut batch: Vec<(VoucherEntry<BalanceOf<T>>, u64, BalanceOf<T>)> = Vec::new();
			let mut amount = BalanceOf::<T>::zero();
			for (entry, new) in voucher.entries.iter().zip(added) {
				let take = new.min(budget);
				if take == 0 {
					continue;
				}
				budget = budget.saturating_sub(take);
				let each = entry.price.saturating_add(entry.execution);
				let times: BalanceOf<T> =
					take.try_into().map_err(|_| Error::<T>::VoucherMalformed)?;
				amount = amount.saturating_add(each.saturating_mul(times));
				batch.push((*entry, take, times));
			}
			ensure!(!batch.is_empty(), Error::<T>::VoucherNotNewer);
			ensure!(amount <= info.deposit, Error::<T>::VoucherAboveDeposit);
			for (entry, _, _) in batch.iter() {
				ensure!(
					entry.execution >= T::MinExecutionFee::get(),
					Error::<T>::ExecutionBelowFloor
				);
				if let Some(floor) = T::Registry::price_floor(entry.model) {
					ensure!(entry.price >= floor, Error::<T>::PriceBelowFloor);
				}
			}

			let reason = HoldReason::ChannelDeposit.into();
			let mut payouts: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
			let mut paid = BalanceOf::<T>::zero();
			let mut calls = 0u64;
			for (entry, take, times) in batch.iter() {
				Self::note_settled(&mut info, entry, *take);
				// A model no longer in the registry is not paid; its amount stays the payer's.
				let Some(split) = T::Verifier::settlement(
					entry.model,
					entry.price,
					entry.execution,
					core::slice::from_ref(&info.worker),
					*take,
				) else {
					continue;
				};
				for (to, part) in split {
					let moved = T::Currency::transfer_on_hold(
						&reason,
						&info.payer,
						&to,
						part,
						Precision::Exact,
						Restriction::Free,
						Fortitude::Force,
					);
					if moved.is_ok() {
						paid = paid.saturating_add(part);
						credit(&mut payouts, &to, part);
					}
				}
				let royalty = entry.price.saturating_mul(*times);
				let fees = entry.price.saturating_add(entry.execution).saturating_mul(*times);
				T::Ledger::note_settled_calls(entry.model, &info.payer, *take, fees, royalty);
				calls = calls.saturating_add(*take);
			}
			// A part that could not be paid (a new account below the existential deposit)
			// returns to the payer, as on the on-chain path.
			let unpaid = amount.saturating_sub(paid);
			let returned =
				T::Currency::release(&reason, &info.payer, unpaid, Precision::BestEffort)
					.unwrap_or_else(|_| Zero::zero());
			info.deposit = info.deposit.saturating_sub(paid).saturating_sub(returned);
			info.paid = info.paid.saturating_add(paid);
			let settled_calls = info.settled_calls;
			let entries = batch.len() as u32;
			Channels::<T>::insert(channel, info);
			Self::deposit_event(Event::ChannelSettled {
				channel,
				calls,
				amount: paid,
				settled_calls,
				payouts,
			});
			Ok((entries, u32::try_from(calls).unwrap_or(u32::MAX)))
		}

		/// Adds `take` calls of `entry` to the channel's settled entries.
		fn note_settled(info: &mut ChannelOf<T>, entry: &VoucherEntry<BalanceOf<T>>, take: u64) {
			info.settled_calls = info.settled_calls.saturating_add(take);
			let key = entry.key();
			match info.settled.binary_search_by(|done| done.key().cmp(&key)) {
				Ok(index) => {
					if let Some(done) = info.settled.get_mut(index) {
						done.calls = done.calls.saturating_add(take);
					}
				},
				Err(index) => {
					// The settled entries are a subset of a voucher's, so they always fit.
					let _ = info.settled.try_insert(index, VoucherEntry { calls: take, ..*entry });
				},
			}
		}

		/// Ends `channel`: returns what is left of its deposit to the payer.
		fn end(channel: ChannelId, info: ChannelOf<T>) {
			let returned = T::Currency::release(
				&HoldReason::ChannelDeposit.into(),
				&info.payer,
				info.deposit,
				Precision::BestEffort,
			)
			.unwrap_or_else(|_| Zero::zero());
			Channels::<T>::remove(channel);
			Self::deposit_event(Event::ChannelClosed { channel, paid: info.paid, returned });
		}

		/// The hash of the genesis block, which vouchers are signed for.
		pub fn genesis_hash() -> [u8; 32] {
			let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			let mut hash = [0u8; 32];
			hash.iter_mut().zip(genesis.as_ref()).for_each(|(byte, value)| *byte = *value);
			hash
		}

		/// Checks the pallet's invariants:
		/// - each account's balance on hold for [`HoldReason::ChannelDeposit`] equals the
		///   deposits of its channels;
		/// - every channel's id is below [`NextChannelId`], and its settled entries are a
		///   well-formed voucher's counting `settled_calls` calls.
		#[cfg(any(feature = "try-runtime", feature = "std", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use frame_support::traits::fungible::InspectHold;
			use modelhub_primitives::channel::Voucher;
			let next = NextChannelId::<T>::get();
			let mut held: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
			for (id, info) in Channels::<T>::iter() {
				ensure!(id < next, "channel id at or above NextChannelId");
				let (calls, total) =
					Voucher::sums(&info.settled).ok_or("settled entries overflow")?;
				ensure!(calls == info.settled_calls, "settled calls differ from their entries");
				let settled = Voucher { channel: id, calls, total, entries: info.settled.clone() };
				ensure!(settled.check().is_ok(), "settled entries are not a voucher's");
				credit(&mut held, &info.payer, info.deposit);
			}
			for (who, amount) in held {
				let on_hold =
					T::Currency::balance_on_hold(&HoldReason::ChannelDeposit.into(), &who);
				ensure!(on_hold == amount, "held deposit differs from the channels' deposits");
			}
			Ok(())
		}
	}
}

//! The records of the channels pallet.

use crate::pallet::Config;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::traits::fungible::Inspect;
use frame_system::pallet_prelude::BlockNumberFor;
use modelhub_primitives::channel::{Voucher, VoucherEntries};
use scale_info::TypeInfo;
use sp_runtime::traits::Saturating;

/// The balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// A channel as the pallet stores it.
pub type ChannelOf<T> =
	Channel<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

/// A voucher in the pallet's balance type.
pub type VoucherOf<T> = Voucher<BalanceOf<T>>;

/// A developer's deposit for one worker, and what settlements took from it.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Channel<AccountId, Balance, BlockNumber> {
	/// Who deposited and signs vouchers.
	pub payer: AccountId,
	/// The worker the deposit pays.
	pub worker: AccountId,
	/// What is still held from the payer for this channel.
	pub deposit: Balance,
	/// What settlements paid out so far.
	pub paid: Balance,
	/// The calls settled so far, per voucher entry: the entries of the latest voucher settled,
	/// with the calls that settlement reached.
	pub settled: VoucherEntries<Balance>,
	/// The calls settled so far.
	pub settled_calls: u64,
	/// The block from which no call may be made on the channel; the worker may settle for
	/// the challenge period after it.
	pub expires_at: BlockNumber,
	/// When the payer closed the channel: the block from which the rest may be claimed.
	pub closing: Option<BlockNumber>,
}

impl<AccountId, Balance, BlockNumber: Copy + Ord + Saturating>
	Channel<AccountId, Balance, BlockNumber>
{
	/// The block from which the worker may no longer settle and the payer may claim the rest:
	/// the end of the challenge period after the payer's close, or after expiry.
	pub fn claimable_at(&self, challenge: BlockNumber) -> BlockNumber {
		let after_expiry = self.expires_at.saturating_add(challenge);
		self.closing.map_or(after_expiry, |at| at.min(after_expiry))
	}

	/// Whether calls may still be made: neither closing nor expired at `now`.
	pub fn is_open(&self, now: BlockNumber) -> bool {
		self.closing.is_none() && now < self.expires_at
	}
}

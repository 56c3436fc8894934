//! Payment channels of the fast path: the vouchers a developer signs for a worker and the
//! receipts a worker signs for a call (`docs/fast-path.md`).
//!
//! A voucher is cumulative: it states everything the channel has paid so far, grouped in
//! entries of calls that paid the same price and execution fee for the same model. The chain
//! pays only what a voucher adds to what it already settled, so the latest voucher dominates
//! every earlier one and replaying an old one pays nothing.

use crate::registry::ModelId;
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{
	traits::{CheckedAdd, CheckedMul, Zero},
	BoundedVec,
};

/// Identifies a channel; assigned in increasing order from 0.
pub type ChannelId = u64;

/// The most entries one voucher holds: distinct (model, price, execution fee) groups.
pub const MAX_VOUCHER_ENTRIES: u32 = 16;

/// What a developer signs a voucher with, before the SCALE encoding of
/// `(genesis_hash, voucher)`.
pub const VOUCHER_CONTEXT: &[u8] = b"opg:voucher:v1";

/// What a worker signs a fast-path receipt with, before the SCALE encoding of its
/// [`FastAttestation`].
pub const FAST_ATTESTATION_CONTEXT: &[u8] = b"opg:fast-attestation:v1";

/// `calls` calls of `model`, each paying `price` in royalties and `execution` as its
/// execution fee.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct VoucherEntry<Balance> {
	/// The model called.
	pub model: ModelId,
	/// The royalty each call paid: the model's price when the worker accepted it.
	pub price: Balance,
	/// The execution fee each call paid.
	pub execution: Balance,
	/// How many calls.
	pub calls: u64,
}

impl<Balance: Ord + Copy> VoucherEntry<Balance> {
	/// The group this entry counts calls of: entries are ordered and matched by it.
	pub fn key(&self) -> (ModelId, Balance, Balance) {
		(self.model, self.price, self.execution)
	}
}

/// The entries of a voucher.
pub type VoucherEntries<Balance> =
	BoundedVec<VoucherEntry<Balance>, sp_core::ConstU32<MAX_VOUCHER_ENTRIES>>;

/// Everything a channel has paid so far, as its payer signs it.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Voucher<Balance> {
	/// The channel.
	pub channel: ChannelId,
	/// Calls paid so far: the sum of the entries' calls.
	pub calls: u64,
	/// OPG paid so far: the sum over entries of `calls × (price + execution)`.
	pub total: Balance,
	/// The calls, grouped; strictly ascending by [`VoucherEntry::key`].
	pub entries: VoucherEntries<Balance>,
}

/// Why a voucher is not well formed, or not a successor of another.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VoucherError {
	/// The entries are not strictly ascending by key, or one has no calls.
	EntriesUnordered,
	/// `calls` or `total` is not the sum of the entries (or the sum overflows).
	TotalsMismatch,
	/// An entry of the earlier voucher is missing or counts fewer calls.
	NotCumulative,
	/// A voucher for one more call does not add exactly that call.
	NotTheNextCall,
	/// No room for another entry.
	TooManyEntries,
}

impl<Balance> Voucher<Balance>
where
	Balance: Copy + Ord + Zero + CheckedAdd + CheckedMul + TryFrom<u64>,
{
	/// The voucher of a channel that has paid nothing.
	pub fn empty(channel: ChannelId) -> Self {
		Voucher { channel, calls: 0, total: Zero::zero(), entries: BoundedVec::new() }
	}

	/// The bytes the payer signs: [`VOUCHER_CONTEXT`] followed by the SCALE encoding of
	/// `(genesis_hash, self)`.
	pub fn message(&self, genesis_hash: &[u8; 32]) -> Vec<u8>
	where
		Balance: Encode,
	{
		let mut message = VOUCHER_CONTEXT.to_vec();
		(genesis_hash, self).encode_to(&mut message);
		message
	}

	/// Checks that the entries are strictly ascending, each with calls, and that `calls` and
	/// `total` are their sums.
	pub fn check(&self) -> Result<(), VoucherError> {
		let ordered = self.entries.windows(2).all(|pair| match pair {
			[a, b] => a.key() < b.key(),
			_ => true,
		});
		if !ordered || self.entries.iter().any(|entry| entry.calls == 0) {
			return Err(VoucherError::EntriesUnordered);
		}
		let (calls, total) = Self::sums(&self.entries).ok_or(VoucherError::TotalsMismatch)?;
		if calls != self.calls || total != self.total {
			return Err(VoucherError::TotalsMismatch);
		}
		Ok(())
	}

	/// The calls and OPG `entries` count, or `None` on overflow.
	pub fn sums(entries: &[VoucherEntry<Balance>]) -> Option<(u64, Balance)> {
		let mut calls = 0u64;
		let mut total = Balance::zero();
		for entry in entries {
			calls = calls.checked_add(entry.calls)?;
			let each = entry.price.checked_add(&entry.execution)?;
			total = total.checked_add(&each.checked_mul(&Balance::try_from(entry.calls).ok()?)?)?;
		}
		Some((calls, total))
	}

	/// The calls this voucher adds to `settled` (the entries a settlement already paid), per
	/// entry of this voucher in its order: every entry of `settled` must be in this voucher
	/// with at least as many calls.
	pub fn added_to(&self, settled: &[VoucherEntry<Balance>]) -> Result<Vec<u64>, VoucherError> {
		let mut added: Vec<u64> = self.entries.iter().map(|entry| entry.calls).collect();
		for done in settled {
			let index = self
				.entries
				.binary_search_by(|entry| entry.key().cmp(&done.key()))
				.map_err(|_| VoucherError::NotCumulative)?;
			let slot = added.get_mut(index).ok_or(VoucherError::NotCumulative)?;
			*slot = slot.checked_sub(done.calls).ok_or(VoucherError::NotCumulative)?;
		}
		Ok(added)
	}

	/// This voucher with one more call of `model` at `price` and `execution`; `None` when a
	/// new entry finds no room or a sum overflows.
	pub fn next(&self, model: ModelId, price: Balance, execution: Balance) -> Option<Self> {
		let mut next = self.clone();
		let key = (model, price, execution);
		match next.entries.binary_search_by(|entry| entry.key().cmp(&key)) {
			Ok(index) => {
				let entry = next.entries.get_mut(index)?;
				entry.calls = entry.calls.checked_add(1)?;
			},
			Err(index) => next
				.entries
				.try_insert(index, VoucherEntry { model, price, execution, calls: 1 })
				.ok()?,
		}
		next.calls = next.calls.checked_add(1)?;
		next.total = next.total.checked_add(&price.checked_add(&execution)?)?;
		Some(next)
	}

	/// Whether this voucher is `previous` plus exactly one call of `model` at `price` and
	/// `execution`: what a worker requires of the voucher that comes with a call.
	pub fn follows(
		&self,
		previous: &Self,
		model: ModelId,
		price: Balance,
		execution: Balance,
	) -> Result<(), VoucherError> {
		let expected =
			previous.next(model, price, execution).ok_or(VoucherError::TooManyEntries)?;
		if *self != expected {
			return Err(VoucherError::NotTheNextCall);
		}
		Ok(())
	}
}

/// What a worker attests to on the fast path: it ran `artifact_hash` on `input_hash` for call
/// `call` of `channel` on the chain whose genesis is `genesis_hash`, at `block`, and got the
/// canonical output `output_hash`. `call` is the `calls` of the voucher that paid for the call.
/// The receipt may be disputed until `DisputeWindow` blocks after `block`; a client refuses a
/// receipt whose `block` is not recent.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct FastAttestation<AccountId> {
	/// Hash of the chain's genesis block.
	pub genesis_hash: [u8; 32],
	/// The channel that paid.
	pub channel: ChannelId,
	/// The call's number on the channel (1 for the first).
	pub call: u64,
	/// The latest block the worker had seen when it served the call.
	pub block: u32,
	/// blake2-256 of the ONNX artifact that ran.
	pub artifact_hash: [u8; 32],
	/// blake2-256 of the canonical input.
	pub input_hash: [u8; 32],
	/// blake2-256 of the canonical output.
	pub output_hash: [u8; 32],
	/// The worker's account.
	pub worker: AccountId,
}

impl<AccountId: Encode> FastAttestation<AccountId> {
	/// The bytes the worker signs with its sr25519 attestation key:
	/// [`FAST_ATTESTATION_CONTEXT`] followed by the SCALE encoding of the attestation.
	pub fn message(&self) -> Vec<u8> {
		let mut message = FAST_ATTESTATION_CONTEXT.to_vec();
		self.encode_to(&mut message);
		message
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	type V = Voucher<u128>;

	/// `voucher` with its entries changed by `change`.
	fn edited(voucher: &V, change: impl FnOnce(&mut Vec<VoucherEntry<u128>>)) -> V {
		let mut entries = voucher.entries.to_vec();
		change(&mut entries);
		V { entries: entries.try_into().unwrap(), ..voucher.clone() }
	}

	#[test]
	fn next_keeps_entries_ordered_and_totals_exact() {
		let mut voucher = V::empty(7);
		for (model, price) in [(2, 5), (1, 5), (2, 5), (1, 3), (2, 5)] {
			voucher = voucher.next(model, price, 10).unwrap();
		}
		assert_eq!(voucher.check(), Ok(()));
		assert_eq!(voucher.calls, 5);
		assert_eq!(voucher.total, 3 * 15 + 13 + 15);
		let keys: Vec<_> = voucher.entries.iter().map(|e| (e.key(), e.calls)).collect();
		assert_eq!(keys, vec![((1, 3, 10), 1), ((1, 5, 10), 1), ((2, 5, 10), 3)]);
	}

	#[test]
	fn a_successor_adds_exactly_one_call() {
		let first = V::empty(1).next(4, 100, 10).unwrap();
		let second = first.next(4, 100, 10).unwrap();
		assert_eq!(second.follows(&first, 4, 100, 10), Ok(()));
		// The same voucher again (a replay), one that skips a call, or one at another price.
		assert_eq!(first.follows(&first, 4, 100, 10), Err(VoucherError::NotTheNextCall));
		let third = second.next(4, 100, 10).unwrap();
		assert_eq!(third.follows(&first, 4, 100, 10), Err(VoucherError::NotTheNextCall));
		assert_eq!(second.follows(&first, 4, 99, 10), Err(VoucherError::NotTheNextCall));
	}

	#[test]
	fn added_calls_are_counted_against_what_was_settled() {
		let mut voucher = V::empty(1);
		for model in [1, 1, 2] {
			voucher = voucher.next(model, 5, 10).unwrap();
		}
		let settled = voucher.entries.to_vec();
		for model in [2, 3, 3] {
			voucher = voucher.next(model, 5, 10).unwrap();
		}
		assert_eq!(voucher.added_to(&settled), Ok(vec![0, 1, 2]));
		// A voucher that drops or lowers a settled entry is not cumulative.
		let lower = edited(&voucher, |entries| entries[0].calls = 1);
		assert_eq!(lower.added_to(&settled), Err(VoucherError::NotCumulative));
		let dropped = edited(&voucher, |entries| {
			entries.remove(0);
		});
		assert_eq!(dropped.added_to(&settled), Err(VoucherError::NotCumulative));
	}

	#[test]
	fn malformed_vouchers_are_refused() {
		let voucher = V::empty(1).next(1, 5, 10).unwrap().next(2, 5, 10).unwrap();
		let swapped = edited(&voucher, |entries| entries.swap(0, 1));
		assert_eq!(swapped.check(), Err(VoucherError::EntriesUnordered));
		let mut inflated = voucher.clone();
		inflated.total += 1;
		assert_eq!(inflated.check(), Err(VoucherError::TotalsMismatch));
		let overflowing = edited(&voucher, |entries| {
			entries[0].calls = u64::MAX;
			entries[0].price = u128::MAX / 2;
		});
		assert_eq!(overflowing.check(), Err(VoucherError::TotalsMismatch));
		let empty_entry = edited(&voucher, |entries| entries[0].calls = 0);
		assert_eq!(empty_entry.check(), Err(VoucherError::EntriesUnordered));
	}

	#[test]
	fn a_voucher_holds_a_bounded_number_of_groups() {
		let mut voucher = V::empty(1);
		for model in 0..u64::from(MAX_VOUCHER_ENTRIES) {
			voucher = voucher.next(model, 1, 1).unwrap();
		}
		assert!(voucher.next(99, 1, 1).is_none());
		assert!(voucher.next(0, 1, 1).is_some());
	}

	#[test]
	fn messages_are_bound_to_the_chain() {
		let voucher = V::empty(3).next(1, 2, 3).unwrap();
		assert_ne!(voucher.message(&[0; 32]), voucher.message(&[1; 32]));
		assert!(voucher.message(&[0; 32]).starts_with(VOUCHER_CONTEXT));
	}
}

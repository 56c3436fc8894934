//! Which model versions the worker holds ready, and keeping the chain told.
//!
//! The chain draws a worker only for model versions it declared ready
//! (`Verification::declare_ready`), so fetching and loading never run on a request's clock. At
//! every block the worker reviews the hub: the active models, ranked by their settled calls in
//! the current usage epoch (ties to the lower id), are wanted up to `--max-ready` of them and
//! as many as the artifact cache holds. A wanted version is fetched, checked against its hash
//! and loaded in the background, and declared ready once it is; a declared version that is no
//! longer wanted (paused, retired, superseded by a new version, or outranked) is withdrawn. A
//! version that cannot be fetched or loaded is retried after [`RETRY_BLOCKS`] blocks.

use std::{
	collections::{HashMap, HashSet},
	sync::{Arc, Mutex},
};

use crate::chain::ModelState;

/// A model version: (model, version).
pub type Key = (u64, u32);

/// Blocks before a version that could not be prepared is tried again.
pub const RETRY_BLOCKS: u64 = 50;

/// Most versions fetched and loaded at once.
pub const MAX_PREPARING: usize = 2;

/// The models a worker wants ready, best first: active ones, by settled calls in `calls`
/// (most first), ties to the lower id.
pub fn ranked(models: &[ModelState], calls: &HashMap<u64, u64>) -> Vec<Key> {
	let mut active: Vec<&ModelState> = models.iter().filter(|model| model.active).collect();
	active.sort_by_key(|model| {
		(std::cmp::Reverse(calls.get(&model.id).copied().unwrap_or(0)), model.id)
	});
	active.into_iter().map(|model| (model.id, model.version)).collect()
}

/// What the review decided for one block.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
	/// Versions to fetch, load and then declare.
	pub prepare: Vec<Key>,
	/// Declared versions to withdraw.
	pub withdraw: Vec<Key>,
}

/// The worker's readiness bookkeeping between blocks, shared with preparation tasks.
#[derive(Default)]
pub struct State {
	/// Versions being fetched and loaded.
	preparing: HashSet<Key>,
	/// Versions that could not be prepared, and the block from which to try again.
	failed: HashMap<Key, u64>,
	/// Declarations and withdrawals sent, and the block they were sent at.
	sent: HashMap<Key, u64>,
}

/// [`State`] shared between the loop and its tasks.
pub type Shared = Arc<Mutex<State>>;

impl State {
	/// Plans block `block`: `wanted` are the versions to hold ready, best first (already cut to
	/// what the worker can hold); `declared` those the chain lists for this worker. A send is
	/// not repeated within `resubmit_after` blocks.
	pub fn plan(
		&mut self,
		block: u64,
		wanted: &[Key],
		declared: &[Key],
		resubmit_after: u64,
	) -> Plan {
		self.failed.retain(|_, retry_at| *retry_at > block);
		self.sent.retain(|_, at| block < at.saturating_add(resubmit_after));
		let mut plan = Plan::default();
		for key in declared {
			if !wanted.contains(key) && !self.sent.contains_key(key) {
				plan.withdraw.push(*key);
			}
		}
		for key in wanted {
			if self.preparing.len() + plan.prepare.len() >= MAX_PREPARING {
				break;
			}
			if declared.contains(key)
				|| self.preparing.contains(key)
				|| self.failed.contains_key(key)
				|| self.sent.contains_key(key)
			{
				continue;
			}
			plan.prepare.push(*key);
		}
		self.preparing.extend(plan.prepare.iter().copied());
		plan
	}

	/// Records that `key` was prepared (and its declaration sent) at `block`, or failed.
	pub fn prepared(&mut self, key: Key, block: u64, ok: bool) {
		self.preparing.remove(&key);
		if ok {
			self.sent.insert(key, block);
		} else {
			self.failed.insert(key, block.saturating_add(RETRY_BLOCKS));
		}
	}

	/// Records that the withdrawal of `key` was sent at `block`.
	pub fn withdrawn(&mut self, key: Key, block: u64) {
		self.sent.insert(key, block);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn model(id: u64, version: u32, active: bool) -> ModelState {
		ModelState { id, version, active }
	}

	#[test]
	fn active_models_rank_by_calls_then_id() {
		let models = [model(3, 1, true), model(1, 2, true), model(2, 1, false), model(0, 1, true)];
		let calls = HashMap::from([(3, 10), (2, 99), (0, 10)]);
		assert_eq!(ranked(&models, &calls), vec![(0, 1), (3, 1), (1, 2)]);
	}

	#[test]
	fn plans_prepare_the_missing_withdraw_the_unwanted_and_never_repeat_a_send() {
		let mut state = State::default();
		let wanted = [(0, 2), (1, 1), (2, 1)];
		// (0, 1) was superseded by version 2; (5, 1) is no longer wanted.
		let declared = [(0, 1), (5, 1), (2, 1)];
		let plan = state.plan(10, &wanted, &declared, 3);
		assert_eq!(plan.prepare, vec![(0, 2), (1, 1)]);
		assert_eq!(plan.withdraw, vec![(0, 1), (5, 1)]);
		for key in &plan.withdraw {
			state.withdrawn(*key, 10);
		}
		// While both preparations run, nothing more starts and nothing is sent twice.
		assert_eq!(state.plan(11, &wanted, &declared, 3), Plan::default());
		state.prepared((0, 2), 12, true);
		state.prepared((1, 1), 12, false);
		// The declaration of (0, 2) is on its way; (1, 1) waits for its retry.
		assert_eq!(state.plan(12, &wanted, &declared, 3), Plan::default());
		// Sends not seen on chain within `resubmit_after` blocks go again.
		let plan = state.plan(13, &wanted, &declared, 3);
		assert_eq!(plan.withdraw, vec![(0, 1), (5, 1)]);
		assert!(plan.prepare.is_empty());
		assert_eq!(state.plan(15, &wanted, &declared, 3).prepare, vec![(0, 2)]);
		state.prepared((0, 2), 15, true);
		let retry = 12 + RETRY_BLOCKS;
		assert!(state.plan(retry - 1, &wanted, &[(0, 2), (2, 1)], 3).prepare.is_empty());
		assert_eq!(state.plan(retry, &wanted, &[(0, 2), (2, 1)], 3).prepare, vec![(1, 1)]);
	}
}

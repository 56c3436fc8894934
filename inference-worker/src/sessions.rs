//! Loaded models (their host processes), kept least-recently-used first out, bounded by count
//! and by the bytes of the artifacts they were built from.

use std::{collections::HashMap, sync::Arc};

/// A cache of values keyed by artifact hash, bounded by count and total weight.
pub struct Lru<V> {
	max_entries: usize,
	max_bytes: u64,
	clock: u64,
	entries: HashMap<[u8; 32], Entry<V>>,
}

struct Entry<V> {
	value: Arc<V>,
	bytes: u64,
	used: u64,
}

impl<V> Lru<V> {
	/// An empty cache holding at most `max_entries` values and `max_bytes` bytes.
	pub fn new(max_entries: usize, max_bytes: u64) -> Self {
		Self { max_entries: max_entries.max(1), max_bytes, clock: 0, entries: HashMap::new() }
	}

	/// The value for `key`, marking it used.
	pub fn get(&mut self, key: &[u8; 32]) -> Option<Arc<V>> {
		self.clock += 1;
		let clock = self.clock;
		self.entries.get_mut(key).map(|entry| {
			entry.used = clock;
			entry.value.clone()
		})
	}

	/// Inserts `value` weighing `bytes`, evicting least recently used values until the bounds
	/// hold. A value heavier than the whole bound is still kept alone, so a job can run.
	pub fn insert(&mut self, key: [u8; 32], value: V, bytes: u64) -> Arc<V> {
		self.clock += 1;
		self.entries.remove(&key);
		while !self.entries.is_empty()
			&& (self.entries.len() >= self.max_entries
				|| self.bytes().saturating_add(bytes) > self.max_bytes)
		{
			let Some(oldest) =
				self.entries.iter().min_by_key(|(_, entry)| entry.used).map(|(key, _)| *key)
			else {
				break;
			};
			self.entries.remove(&oldest);
		}
		let value = Arc::new(value);
		self.entries.insert(key, Entry { value: value.clone(), bytes, used: self.clock });
		value
	}

	/// Number of values held.
	pub fn len(&self) -> usize {
		self.entries.len()
	}

	/// Total weight held.
	pub fn bytes(&self) -> u64 {
		self.entries.values().map(|entry| entry.bytes).sum()
	}

	/// Removes `key` if it still holds `value` (not a newer value loaded since).
	pub fn remove_if_same(&mut self, key: &[u8; 32], value: &Arc<V>) {
		if self.entries.get(key).is_some_and(|entry| Arc::ptr_eq(&entry.value, value)) {
			self.entries.remove(key);
		}
	}

	/// Whether `key` is held.
	pub fn contains(&self, key: &[u8; 32]) -> bool {
		self.entries.contains_key(key)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn count_bound_evicts_the_least_recently_used() {
		let mut lru = Lru::new(2, u64::MAX);
		lru.insert([1; 32], "a", 1);
		lru.insert([2; 32], "b", 1);
		assert!(lru.get(&[1; 32]).is_some());
		lru.insert([3; 32], "c", 1);
		assert_eq!(lru.len(), 2);
		assert!(lru.contains(&[1; 32]) && lru.contains(&[3; 32]) && !lru.contains(&[2; 32]));
	}

	#[test]
	fn byte_bound_evicts_until_the_new_value_fits() {
		let mut lru = Lru::new(10, 100);
		lru.insert([1; 32], 1, 40);
		lru.insert([2; 32], 2, 40);
		lru.insert([3; 32], 3, 50);
		assert_eq!((lru.len(), lru.bytes()), (2, 90));
		assert!(!lru.contains(&[1; 32]) && lru.contains(&[2; 32]) && lru.contains(&[3; 32]));
		// A value above the whole bound is kept alone.
		lru.insert([4; 32], 4, 500);
		assert_eq!((lru.len(), lru.bytes()), (1, 500));
		// Replacing a key does not count it twice.
		let fifth = lru.insert([4; 32], 5, 60);
		assert_eq!((lru.len(), lru.bytes()), (1, 60));
		// Only the value still held is removed.
		let sixth = lru.insert([4; 32], 6, 60);
		lru.remove_if_same(&[4; 32], &fifth);
		assert!(lru.contains(&[4; 32]));
		lru.remove_if_same(&[4; 32], &sixth);
		assert!(!lru.contains(&[4; 32]));
	}
}

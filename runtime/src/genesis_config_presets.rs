//! Genesis presets: `dev` (Alice validates alone) and `local` (Alice, Bob and Charlie validate).
//! Each validator is bonded (staking) and has its Aura and GRANDPA keys set (session); the genesis
//! election makes them the first validator set.
//!
//! In both, the well-known development accounts are endowed with [`ENDOWMENT`] OPG. Only `dev`
//! has a sudo key (Alice); `local` and every other network are governed by referenda.

use crate::{
	configs::{
		model_hub::{TreasuryAccount, ValidatorPotAccount},
		staking::{self, EraRewardAccount},
	},
	AccountId, Balance, BalancesConfig, RuntimeGenesisConfig, SudoConfig, EXISTENTIAL_DEPOSIT, OPG,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// Balance given to every endowed development account: one million OPG.
pub const ENDOWMENT: Balance = 1_000_000 * OPG;

/// `ENDOWMENT` for each endowed account, and the existential deposit for the treasury, the
/// validators' pot and the era-reward escrow so that any payment to them succeeds.
fn balances(endowed: Vec<AccountId>) -> Vec<(AccountId, Balance)> {
	let mut balances: Vec<_> = endowed.into_iter().map(|who| (who, ENDOWMENT)).collect();
	for protocol in [TreasuryAccount::get(), ValidatorPotAccount::get(), EraRewardAccount::get()] {
		if !balances.iter().any(|(who, _)| *who == protocol) {
			balances.push((protocol, EXISTENTIAL_DEPOSIT));
		}
	}
	balances
}

/// A genesis with the given validators (stash, Aura key, GRANDPA key), endowed accounts and
/// (optional) sudo key.
fn genesis(
	validators: Vec<(AccountId, AuraId, GrandpaId)>,
	endowed: Vec<AccountId>,
	sudo: Option<AccountId>,
) -> Value {
	let mut patch = build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig { balances: balances(endowed) },
		sudo: SudoConfig { key: sudo },
	});
	// Aura's and GRANDPA's authorities come from the session's genesis keys.
	if let (Some(patch), Value::Object(staking)) =
		(patch.as_object_mut(), staking::genesis_patch(&validators))
	{
		patch.extend(staking);
	}
	patch
}

/// The stash account and session keys of a well-known development validator.
fn authority(who: Sr25519Keyring) -> (AccountId, AuraId, GrandpaId) {
	let grandpa = match who {
		Sr25519Keyring::Bob => Ed25519Keyring::Bob,
		Sr25519Keyring::Charlie => Ed25519Keyring::Charlie,
		Sr25519Keyring::Dave => Ed25519Keyring::Dave,
		Sr25519Keyring::Eve => Ed25519Keyring::Eve,
		Sr25519Keyring::Ferdie => Ed25519Keyring::Ferdie,
		_ => Ed25519Keyring::Alice,
	};
	(who.to_account_id(), who.public().into(), grandpa.public().into())
}

/// The well-known development accounts and their stashes.
pub fn endowed_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter()
		.filter(|k| *k != Sr25519Keyring::One && *k != Sr25519Keyring::Two)
		.map(|k| k.to_account_id())
		.collect()
}

/// The `dev` preset: Alice validates alone.
pub fn development_genesis() -> Value {
	genesis(
		vec![authority(Sr25519Keyring::Alice)],
		endowed_accounts(),
		Some(Sr25519Keyring::Alice.to_account_id()),
	)
}

/// The `local` preset: Alice, Bob and Charlie validate; no sudo.
pub fn local_testnet_genesis() -> Value {
	genesis(
		vec![
			authority(Sr25519Keyring::Alice),
			authority(Sr25519Keyring::Bob),
			authority(Sr25519Keyring::Charlie),
		],
		endowed_accounts(),
		None,
	)
}

/// The JSON patch of the preset named `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEV_RUNTIME_PRESET => development_genesis(),
		LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
		_ => return None,
	};
	serde_json::to_vec(&patch).ok()
}

/// The names of every preset.
pub fn preset_names() -> Vec<PresetId> {
	vec![PresetId::from(DEV_RUNTIME_PRESET), PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)]
}

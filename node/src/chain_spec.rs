//! Chain specifications built from the runtime's genesis presets.

use codec::Encode;
use modelhub_primitives::currency::{SS58_PREFIX, TOKEN_DECIMALS, TOKEN_SYMBOL};
use modelhub_runtime::{
	configs::staking::{EraLength, SessionLength},
	BlockNumber, WASM_BINARY,
};
use sc_service::{ChainType, Properties};
use sp_core::bytes::to_hex;

/// A chain specification with no extensions.
pub type ChainSpec = sc_service::GenericChainSpec;

/// Token properties wallets read: polkadot.js Apps shows balances in OPG with 18 decimals.
pub fn properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), TOKEN_SYMBOL.into());
	properties.insert("tokenDecimals".into(), TOKEN_DECIMALS.into());
	properties.insert("ss58Format".into(), SS58_PREFIX.into());
	properties
}

fn builder(name: &str, id: &str, chain_type: ChainType, preset: &str) -> Result<ChainSpec, String> {
	let wasm = WASM_BINARY.ok_or_else(|| "the runtime WASM binary was not built".to_string())?;
	Ok(ChainSpec::builder(wasm, None)
		.with_name(name)
		.with_id(id)
		.with_protocol_id("opg")
		.with_chain_type(chain_type)
		.with_properties(properties())
		.with_genesis_config_preset_name(preset)
		.build())
}

/// The `dev` chain: Alice validates alone.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	builder(
		"OPG Model Hub Development",
		"modelhub_dev",
		ChainType::Development,
		sp_genesis_builder::DEV_RUNTIME_PRESET,
	)
}

/// The `local` chain: Alice, Bob and Charlie validate.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	builder(
		"OPG Model Hub Local Testnet",
		"modelhub_local",
		ChainType::Local,
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET,
	)
}

/// Blocks per session on the `local-fast` chain: a minute.
pub const LOCAL_FAST_SESSION_LENGTH: BlockNumber = 10;
/// Sessions per era on the `local-fast` chain: a new validator set every two minutes.
pub const LOCAL_FAST_ERA_LENGTH: u32 = 2;

/// The `local-fast` chain: the `local` chain's validators and accounts with one-minute sessions
/// and two-minute eras, to watch elections, rewards and slashes happen.
///
/// Session and era lengths are runtime storage values ([`SessionLength`], [`EraLength`]) that
/// a chain's genesis may set; a preset describes pallets' genesis configs only, so this spec is
/// the `local` preset's genesis storage with those two values added, as a raw chain spec.
pub fn local_fast_chain_spec() -> Result<ChainSpec, String> {
	let spec = builder(
		"OPG Model Hub Local Testnet (fast eras)",
		"modelhub_local_fast",
		ChainType::Local,
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET,
	)?;
	let mut json: serde_json::Value =
		serde_json::from_str(&spec.as_json(true)?).map_err(|error| error.to_string())?;
	let top = json
		.pointer_mut("/genesis/raw/top")
		.and_then(serde_json::Value::as_object_mut)
		.ok_or_else(|| "a raw chain spec has genesis.raw.top".to_string())?;
	for (key, value) in [
		(SessionLength::key(), LOCAL_FAST_SESSION_LENGTH.encode()),
		(EraLength::key(), LOCAL_FAST_ERA_LENGTH.encode()),
	] {
		top.insert(to_hex(&key, false), to_hex(&value, false).into());
	}
	ChainSpec::from_json_bytes(serde_json::to_vec(&json).map_err(|error| error.to_string())?)
}

//! Chain specifications built from the runtime's genesis presets.

use modelhub_primitives::currency::{SS58_PREFIX, TOKEN_DECIMALS, TOKEN_SYMBOL};
use modelhub_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};

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

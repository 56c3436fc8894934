//! End to end: `build-spec` prints the presets' chain specifications, and a node runs from a
//! chain-spec file.

mod common;

use std::{process::Command, time::Duration};

use anyhow::{ensure, Context, Result};
use common::{node_binary, Node};
use serde_json::Value;

fn build_spec(args: &[&str]) -> Result<Value> {
	let output = Command::new(node_binary()).arg("build-spec").args(args).output()?;
	ensure!(
		output.status.success(),
		"build-spec failed: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).context("build-spec prints JSON")
}

#[test]
fn local_spec_has_three_validators_and_the_opg_token() -> Result<()> {
	let spec = build_spec(&["--chain", "local"])?;
	assert_eq!(spec["id"], "modelhub_local");
	assert_eq!(spec["chainType"], "Local");
	assert_eq!(spec["properties"]["tokenSymbol"], "OPG");
	assert_eq!(spec["properties"]["tokenDecimals"], 18);
	let patch = &spec["genesis"]["runtimeGenesis"]["patch"];
	// The three validators are bonded and have their Aura and GRANDPA keys set.
	assert_eq!(patch["session"]["keys"].as_array().map(Vec::len), Some(3));
	assert_eq!(patch["staking"]["stakers"].as_array().map(Vec::len), Some(3));
	// Elections take every candidate up to 32, so new validators join the set.
	assert_eq!(patch["staking"]["validatorCount"], 32);
	assert!(patch["sudo"]["key"].is_null(), "no sudo outside the dev chain");
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_runs_from_a_raw_chain_spec_file() -> Result<()> {
	let spec = build_spec(&["--chain", "dev", "--raw"])?;
	assert!(spec["genesis"]["raw"]["top"].is_object(), "raw genesis storage");
	let dir = std::env::temp_dir().join(format!("modelhub-spec-{}", std::process::id()));
	std::fs::create_dir_all(&dir)?;
	let file = dir.join("dev-raw.json");
	std::fs::write(&file, serde_json::to_vec(&spec)?)?;

	let path = file.display().to_string();
	let mut node = Node::start(&[
		"--chain",
		&path,
		"--alice",
		"--validator",
		"--force-authoring",
		"--node-key",
		"0000000000000000000000000000000000000000000000000000000000000001",
	])?;
	let rpc_client = node.rpc_client(Duration::from_secs(120)).await?;
	let rpc = common::Rpc::new(rpc_client);
	let finalized = node.wait_finalized_above(&rpc, 1, Duration::from_secs(90)).await?;
	assert!(finalized >= 2);
	node.stop();
	let _ = std::fs::remove_dir_all(dir);
	Ok(())
}

//! End to end: the `local` chain's three staking validators (Alice, Bob and Charlie, bonded at
//! genesis with their session keys) run as three nodes on 127.0.0.1, connect, and finalize
//! blocks with GRANDPA, which needs at least two of them voting.

mod common;

use std::time::Duration;

use anyhow::Result;
use common::{Node, Rpc};
use subxt::rpcs::rpc_params;

/// Starts the validator `name` (`alice`, `bob`, `charlie`) of the `local` chain with the
/// network key `key` (a validator needs one given or on disk).
fn validator(name: &str, key: u8, bootnode: Option<&str>) -> Result<Node> {
	let flag = format!("--{name}");
	let node_key = format!("{key:064x}");
	let mut args = vec!["--chain", "local", flag.as_str(), "--node-key", node_key.as_str()];
	if let Some(bootnode) = bootnode {
		args.extend(["--bootnodes", bootnode]);
	}
	Node::start(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_staking_validators_finalize_on_loopback() -> Result<()> {
	let mut alice = validator("alice", 1, None)?;
	let alice_rpc = alice.rpc_client(Duration::from_secs(60)).await?;
	let peer: String = alice_rpc.request("system_localPeerId", rpc_params![]).await?;
	let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", alice.p2p_port);
	let mut others =
		vec![validator("bob", 2, Some(&bootnode))?, validator("charlie", 3, Some(&bootnode))?];

	// GRANDPA needs two of the three to finalize; blocks above #3 mean the set works.
	let rpc = Rpc::new(alice_rpc.clone());
	alice.wait_finalized_above(&rpc, 3, Duration::from_secs(150)).await?;
	for node in &mut others {
		node.ensure_running()?;
		let client = node.rpc_client(Duration::from_secs(30)).await?;
		let peers: serde_json::Value = client.request("system_health", rpc_params![]).await?;
		assert!(peers["peers"].as_u64().unwrap_or(0) >= 1, "{peers}");
	}

	// The session's validators are the three bonded stashes staking elected at genesis.
	let api = subxt::OnlineClient::<common::ChainConfig>::from_rpc_client(alice_rpc).await?;
	let at = api.at_current_block().await?;
	let address = subxt::dynamic::storage::<(), Vec<[u8; 32]>>("Session", "Validators");
	let validators = at.storage().fetch(address, ()).await?.decode()?;
	assert_eq!(validators.len(), 3, "{validators:?}");
	let address = subxt::dynamic::storage::<(), u32>("Staking", "CounterForValidators");
	assert_eq!(at.storage().fetch(address, ()).await?.decode()?, 3);
	Ok(())
}

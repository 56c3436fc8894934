//! End to end: the `local` chain's three staking validators (Alice, Bob and Charlie, bonded at
//! genesis with their session keys) run as three nodes on 127.0.0.1, connect, and finalize
//! blocks with GRANDPA, which needs at least two of them voting; on the `local-fast` chain
//! (two-minute eras) a fourth node bonds as a validator, with a nominator behind it, and joins
//! the set at the next election while blocks keep being finalized.

mod common;

use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context, Result};
use common::{node_script, Node, Rpc};
use subxt::{dynamic, ext::scale_decode::DecodeAsType, rpcs::rpc_params};
use subxt_signer::sr25519::dev;

/// Starts the validator `name` (`alice`, `bob`, `charlie`) of `chain` with the network key
/// `key` (a validator needs one given or on disk).
fn validator(chain: &str, name: &str, key: u8, bootnode: Option<&str>) -> Result<Node> {
	let flag = format!("--{name}");
	let node_key = format!("{key:064x}");
	let mut args = vec!["--chain", chain, flag.as_str(), "--node-key", node_key.as_str()];
	if let Some(bootnode) = bootnode {
		args.extend(["--bootnodes", bootnode]);
	}
	Node::start(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_staking_validators_finalize_on_loopback() -> Result<()> {
	let mut alice = validator("local", "alice", 1, None)?;
	let alice_rpc = alice.rpc_client(Duration::from_secs(60)).await?;
	let bootnode = bootnode(&alice, &alice_rpc).await?;
	let mut others = vec![
		validator("local", "bob", 2, Some(&bootnode))?,
		validator("local", "charlie", 3, Some(&bootnode))?,
	];

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

/// The multiaddress of `node` on loopback, to pass others as `--bootnodes`.
async fn bootnode(node: &Node, rpc: &subxt::rpcs::RpcClient) -> Result<String> {
	let peer: String = rpc.request("system_localPeerId", rpc_params![]).await?;
	Ok(format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", node.p2p_port))
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct ActiveEraInfo {
	index: u32,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct ExposureOverview {
	total: u128,
	own: u128,
	nominator_count: u32,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct EraRewardPoints {
	/// A `BTreeMap` on chain: its entries in key order.
	individual: Vec<([u8; 32], u32)>,
}

/// What the chain says at its finalized head about eras and the validator set.
#[derive(Debug, PartialEq)]
struct EraView {
	block: u64,
	era: u32,
	session: u32,
	validators: Vec<[u8; 32]>,
}

async fn era_view(api: &subxt::OnlineClient<common::ChainConfig>) -> Result<EraView> {
	let at = api.at_current_block().await?;
	let block = at.block_number();
	let storage = at.storage();
	let era = storage
		.try_fetch(dynamic::storage::<(), ActiveEraInfo>("Staking", "ActiveEra"), ())
		.await?
		.map(|value| value.decode())
		.transpose()?
		.map_or(0, |info| info.index);
	let session = storage
		.fetch(dynamic::storage::<(), u32>("Session", "CurrentIndex"), ())
		.await?
		.decode()?;
	let validators = storage
		.fetch(dynamic::storage::<(), Vec<[u8; 32]>>("Session", "Validators"), ())
		.await?
		.decode()?;
	Ok(EraView { block, era, session, validators })
}

const OPG: u128 = 1_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_validator_bonds_and_joins_at_the_next_era() -> Result<()> {
	let names: BTreeMap<[u8; 32], &str> = [
		(dev::alice().public_key().0, "Alice"),
		(dev::bob().public_key().0, "Bob"),
		(dev::charlie().public_key().0, "Charlie"),
		(dev::dave().public_key().0, "Dave"),
	]
	.into();
	let dave_id = dev::dave().public_key().0;

	let mut alice = validator("local-fast", "alice", 1, None)?;
	let alice_rpc = alice.rpc_client(Duration::from_secs(60)).await?;
	let bootnode = bootnode(&alice, &alice_rpc).await?;
	let mut nodes = [
		validator("local-fast", "bob", 2, Some(&bootnode))?,
		validator("local-fast", "charlie", 3, Some(&bootnode))?,
	];
	// Dave's node: a validator with an empty keystore, so its session keys are new ones.
	let mut dave = Node::start(&[
		"--chain",
		"local-fast",
		"--validator",
		"--name",
		"Dave",
		"--node-key",
		&format!("{:064x}", 4),
		"--bootnodes",
		&bootnode,
	])?;
	let rpc = Rpc::new(alice_rpc.clone());
	alice.wait_finalized_above(&rpc, 1, Duration::from_secs(150)).await?;
	dave.rpc_client(Duration::from_secs(60)).await?;
	let api = subxt::OnlineClient::<common::ChainConfig>::from_rpc_client(alice_rpc).await?;
	let sessions_per_era =
		api.at_current_block()
			.await?
			.constants()
			.entry(dynamic::constant::<u32>("Staking", "SessionsPerEra"))?;
	assert_eq!(sessions_per_era, 2, "the local-fast chain's eras are two sessions");

	// Dave asks his own node for session keys, then bonds, sets them and validates; Eve
	// nominates him. Both are one batch each, through the command-line client.
	let output = node_script(
		"staking.mjs",
		&["validate", "--seed", "//Dave", "--bond", "50000", "--url", &dave.ws_url()]
			.map(String::from),
	)
	.await?;
	ensure!(output.status.success(), "validate: {}", String::from_utf8_lossy(&output.stderr));
	let dave_address = serde_json::from_slice::<serde_json::Value>(&output.stdout)
		.context("validate prints JSON")?["stash"]
		.as_str()
		.context("the stash address")?
		.to_string();
	let alice_url = alice.ws_url();
	let output = node_script(
		"staking.mjs",
		&[
			"nominate",
			"--seed",
			"//Eve",
			"--bond",
			"1000",
			"--target",
			&dave_address,
			"--url",
			&alice_url,
		]
		.map(String::from),
	)
	.await?;
	ensure!(output.status.success(), "nominate: {}", String::from_utf8_lossy(&output.stderr));
	let bonded_at = era_view(&api).await?;
	eprintln!(
		"#{} era {}: Dave bonded and validates, Eve nominates him",
		bonded_at.block, bonded_at.era
	);

	// Follow the finalized head until Dave is in the session's validator set and has authored a
	// block; the election at the start of an era's last session picks the next era's set, so
	// Dave joins at the next era, or the one after if he bonded during that last session.
	let deadline = Instant::now() + Duration::from_secs(480);
	let mut last = era_view(&api).await?;
	let mut last_progress = Instant::now();
	let mut joined_era = None;
	loop {
		for node in std::iter::once(&mut alice).chain(nodes.iter_mut()).chain([&mut dave]) {
			node.ensure_running()?;
		}
		let view = era_view(&api).await?;
		if view.block > last.block {
			last_progress = Instant::now();
		}
		ensure!(
			last_progress.elapsed() < Duration::from_secs(60),
			"finality stalled at #{}; log:\n{}",
			view.block,
			alice.log_tail()
		);
		if (view.era, view.session, &view.validators) != (last.era, last.session, &last.validators)
		{
			let set: Vec<&str> =
				view.validators.iter().map(|id| names.get(id).copied().unwrap_or("?")).collect();
			eprintln!(
				"#{} era {} session {}: validators {set:?}",
				view.block, view.era, view.session
			);
		}
		if joined_era.is_none() && view.validators.contains(&dave_id) {
			joined_era = Some(view.era);
		}
		if let Some(era) = joined_era {
			let points = api
				.at_current_block()
				.await?
				.storage()
				.try_fetch(
					dynamic::storage::<(u32,), EraRewardPoints>("Staking", "ErasRewardPoints"),
					(era,),
				)
				.await?
				.map(|value| value.decode())
				.transpose()?;
			if let Some(points) = points.and_then(|points| {
				points.individual.iter().find(|(who, _)| *who == dave_id).map(|(_, points)| *points)
			}) {
				eprintln!("#{} era {era}: Dave authored blocks ({points} era points)", view.block);
				last = view;
				break;
			}
		}
		if Instant::now() >= deadline {
			bail!(
				"Dave did not join and author within 480 s: {view:?}; Dave's log:\n{}",
				dave.log_tail()
			);
		}
		last = view;
		tokio::time::sleep(Duration::from_secs(2)).await;
	}
	let joined_era = joined_era.context("Dave joined")?;
	assert!(
		joined_era == bonded_at.era + 1 || joined_era == bonded_at.era + 2,
		"bonded in era {}, joined in era {joined_era}",
		bonded_at.era
	);
	assert_eq!(last.validators.len(), 4, "{last:?}");

	// Dave's exposure in the era he joined: his bond and Eve's nomination.
	let exposure = api
		.at_current_block()
		.await?
		.storage()
		.fetch(
			dynamic::storage::<(u32, [u8; 32]), ExposureOverview>("Staking", "ErasStakersOverview"),
			(joined_era, dave_id),
		)
		.await?
		.decode()?;
	let close = |value: u128, expected: u128| value.abs_diff(expected) <= expected / 1_000_000_000;
	assert!(close(exposure.own, 50_000 * OPG), "{exposure:?}");
	assert!(close(exposure.total, 51_000 * OPG), "{exposure:?}");
	assert_eq!(exposure.nominator_count, 1);

	// Finality goes on with four voters.
	let rpc = Rpc::new(alice.rpc_client(Duration::from_secs(10)).await?);
	alice.wait_finalized_above(&rpc, last.block + 3, Duration::from_secs(90)).await?;

	// The staking overview polkadot.js Apps' pages derive agrees.
	let output = node_script(
		"staking.mjs",
		&["overview", "--json", "--url", &alice.ws_url()].map(String::from),
	)
	.await?;
	ensure!(output.status.success(), "overview: {}", String::from_utf8_lossy(&output.stderr));
	let overview: serde_json::Value = serde_json::from_slice(&output.stdout)?;
	eprintln!("overview: {overview}");
	let validators = overview["validators"].as_array().context("validators")?;
	assert_eq!(validators.len(), 4, "{overview}");
	assert!(validators.iter().any(|v| v["stash"] == dave_address.as_str()), "{overview}");
	assert!(overview["nominators"].as_u64() >= Some(1), "{overview}");
	Ok(())
}

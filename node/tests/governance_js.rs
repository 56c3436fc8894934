//! End to end with polkadot.js: `scripts/governance.mjs` reads the referendum tracks from the
//! metadata, submits a model-moderation referendum (preimage, submission, decision deposit) and
//! votes on it with conviction, against a real dev node, as polkadot.js Apps' Governance pages
//! do.

mod common;

use anyhow::{ensure, Context, Result};
use common::{node_script, Node};
use serde_json::Value;

const OPG: u128 = 1_000_000_000_000_000_000;

async fn governance(args: &[&str]) -> Result<Value> {
	let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
	let output = node_script("governance.mjs", &args).await?;
	ensure!(
		output.status.success(),
		"governance.mjs {args:?}: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).context("governance.mjs prints JSON")
}

fn amount(value: &Value) -> Result<u128> {
	value.as_str().context("an amount as a decimal string")?.parse().context("an amount")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderation_referendum_is_submitted_and_voted_from_polkadot_js() -> Result<()> {
	let mut node = Node::dev()?;
	node.connect().await?;
	let url = node.ws_url();

	let tracks = governance(&["tracks", "--json", "--url", &url]).await?;
	let names: Vec<&str> =
		tracks.as_array().context("tracks")?.iter().filter_map(|t| t["name"].as_str()).collect();
	assert_eq!(names, ["root", "protocol_parameters", "model_moderation"]);

	let submitted = governance(&[
		"propose",
		"--seed",
		"//Alice",
		"--track",
		"model_moderation",
		"--tx",
		"modelRegistry.delistModel",
		"--args",
		"[0]",
		"--url",
		&url,
	])
	.await?;
	assert_eq!(submitted["track"], 2, "{submitted}");
	let index = submitted["referendum"].as_u64().context("referendum index")?;

	governance(&[
		"vote",
		"--seed",
		"//Bob",
		"--referendum",
		&index.to_string(),
		"--aye",
		"--balance",
		"1000",
		"--conviction",
		"Locked2x",
		"--url",
		&url,
	])
	.await?;

	// The referendum waits out its prepare period with its deposit placed and Bob's vote
	// counted: 1,000 OPG at 2x conviction is 2,000 OPG of ayes and 1,000 OPG of support.
	let referenda = governance(&["referenda", "--json", "--url", &url]).await?;
	let referendum = referenda
		.as_array()
		.and_then(|list| list.iter().find(|r| r["index"].as_u64() == Some(index)))
		.with_context(|| format!("referendum {index} in {referenda}"))?;
	assert_eq!(referendum["state"], "ongoing", "{referendum}");
	assert_eq!(referendum["track"], 2);
	assert_eq!(referendum["decisionDeposit"], true);
	assert_eq!(amount(&referendum["ayes"])?, 2_000 * OPG);
	assert_eq!(amount(&referendum["nays"])?, 0);
	assert_eq!(amount(&referendum["support"])?, 1_000 * OPG);

	// A vote on a referendum that does not exist fails with the pallet's error.
	let output = node_script(
		"governance.mjs",
		&[
			"vote",
			"--seed",
			"//Bob",
			"--referendum",
			"99",
			"--nay",
			"--balance",
			"1",
			"--url",
			&url,
		]
		.map(String::from),
	)
	.await?;
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("convictionVoting.NotOngoing"), "{stderr}");
	Ok(())
}

//! End to end with polkadot.js: `scripts/publish-model.mjs` publishes the sample digits model
//! to a real dev node using only the chain's metadata, and reads it back through
//! `@polkadot/api`.

mod common;

use anyhow::Result;
use common::{node_script, scripts_dir, Node};

const OPG: u128 = 1_000_000_000_000_000_000;
/// Alice's and Bob's dev addresses (SS58 prefix 42).
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_model_script_publishes_and_reads_back() -> Result<()> {
	let mut node = Node::dev()?;
	node.connect().await?;
	let model = scripts_dir().join("sample-models/digits.onnx");
	let bytes = std::fs::read(&model)?;
	let url = node.ws_url();

	let args = |royalty: &[&str]| {
		let mut args = vec![
			model.display().to_string(),
			"--name".into(),
			"digits".into(),
			"--description".into(),
			"8x8 digits, logistic regression".into(),
			"--price".into(),
			"0.5".into(),
			"--url".into(),
			url.clone(),
		];
		for r in royalty {
			args.push("--royalty".into());
			args.push((*r).into());
		}
		args
	};

	// Shares that do not sum to 100% are refused with the pallet's error, by name.
	let refused = node_script("publish-model.mjs", &args(&["//Alice=60", "//Bob=30"])).await?;
	assert!(!refused.status.success());
	let stderr = String::from_utf8_lossy(&refused.stderr);
	assert!(stderr.contains("modelRegistry.SharesNotWhole"), "stderr: {stderr}");

	let output = node_script("publish-model.mjs", &args(&["//Alice=70", "//Bob=30"])).await?;
	assert!(
		output.status.success(),
		"publish-model.mjs failed: {}\nnode log:\n{}",
		String::from_utf8_lossy(&output.stderr),
		node.log_tail()
	);
	let published: serde_json::Value = serde_json::from_slice(&output.stdout)?;
	assert_eq!(published["model"], "0");
	let record = &published["record"];
	assert_eq!(record["owner"], ALICE);
	assert_eq!(record["status"], "Active");
	assert_eq!(record["version"], 1);
	// u128 values above 2^53 come as full-width hex from polkadot.js.
	assert_eq!(record["price"], format!("0x{:032x}", OPG / 2));
	assert_eq!(record["royalties"], serde_json::json!([[ALICE, 700_000], [BOB, 300_000]]));

	let version = &published["version"];
	let hash = format!("0x{}", hex::encode(sp_io::hashing::blake2_256(&bytes)));
	assert_eq!(version["artifact"]["hash"], hash);
	assert_eq!(version["artifact"]["size"], bytes.len());
	assert_eq!(version["schema"]["inputs"][0]["dtype"], "F32");
	assert_eq!(
		version["schema"]["inputs"][0]["shape"],
		serde_json::json!([{ "dynamic": null }, { "fixed": 64 }])
	);
	// The schema file declares no agreement rule: the chain's default.
	assert_eq!(
		version["agreement"],
		serde_json::json!({
			"tolerance": { "absolutePpb": 5_000, "relativePpb": 50_000 },
			"fraudMargin": 100
		})
	);
	node.stop();
	Ok(())
}

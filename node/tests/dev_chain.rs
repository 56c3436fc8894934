//! End to end: the real node produces and finalizes blocks, and a signed transfer lands with
//! the right balances and an OPG fee.

mod common;

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use common::Node;
use subxt::{dynamic, ext::scale_decode::DecodeAsType};
use subxt_signer::sr25519::dev;

const OPG: u128 = 1_000_000_000_000_000_000;

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct AccountData {
	free: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct TransactionFeePaid {
	who: [u8; 32],
	actual_fee: u128,
	tip: u128,
}

async fn free_balance(
	api: &subxt::OnlineClient<common::ChainConfig>,
	at: subxt::utils::H256,
	who: [u8; 32],
) -> Result<u128> {
	let address = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	let info = api.at_block(at).await?.storage().fetch(address, (who,)).await?.decode()?;
	Ok(info.data.free)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_chain_finalizes_and_settles_a_transfer() -> Result<()> {
	let mut node = Node::dev()?;
	let (rpc, api) = node.connect().await?;

	// The chain advertises its token so wallets show OPG.
	let properties = rpc.system_properties().await?;
	assert_eq!(properties.get("tokenSymbol").and_then(|v| v.as_str()), Some("OPG"));
	assert_eq!(properties.get("tokenDecimals").and_then(|v| v.as_u64()), Some(18));

	let alice = dev::alice();
	let bob = dev::bob();
	let amount = 5 * OPG;
	let transfer = dynamic::transaction(
		"Balances",
		"transfer_keep_alive",
		(bob.public_key().to_address::<()>(), amount),
	);

	let at = api.at_current_block().await?;
	let progress = tokio::time::timeout(
		Duration::from_secs(120),
		at.transactions().sign_and_submit_then_watch_default(&transfer, &alice),
	)
	.await
	.context("submitting timed out")??;
	let in_block = tokio::time::timeout(Duration::from_secs(120), progress.wait_for_finalized())
		.await
		.map_err(|_| anyhow!("transfer not finalized in time; log:\n{}", node.log_tail()))??;
	let events = in_block.wait_for_success().await?;

	let fee = events
		.iter()
		.filter_map(|event| event.ok())
		.find(|event| {
			event.pallet_name() == "TransactionPayment"
				&& event.event_name() == "TransactionFeePaid"
		})
		.ok_or_else(|| anyhow!("no TransactionFeePaid event"))?
		.decode_fields_unchecked_as::<TransactionFeePaid>()?;
	assert_eq!(fee.who, alice.public_key().0);
	assert_eq!(fee.tip, 0);
	assert!(fee.actual_fee > 0 && fee.actual_fee < OPG / 100, "fee {}", fee.actual_fee);

	let block = in_block.block_hash();
	let header = rpc.chain_get_header(Some(block)).await?.ok_or_else(|| anyhow!("no header"))?;
	let parent = header.parent_hash;
	let (alice_id, bob_id) = (alice.public_key().0, bob.public_key().0);
	let alice_before = free_balance(&api, parent, alice_id).await?;
	let bob_before = free_balance(&api, parent, bob_id).await?;
	let alice_after = free_balance(&api, block, alice_id).await?;
	let bob_after = free_balance(&api, block, bob_id).await?;
	assert_eq!(bob_after, bob_before + amount);
	assert_eq!(alice_after, alice_before - amount - fee.actual_fee);

	node.stop();
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_start_fails_fast_with_its_log() -> Result<()> {
	let mut node = Node::start(&["--chain", "/nonexistent/chain-spec.json"])?;
	let started = std::time::Instant::now();
	let error = node.connect().await.err().ok_or_else(|| anyhow!("connect should fail"))?;
	let message = error.to_string();
	assert!(message.contains("modelhub-node exited"), "{message}");
	assert!(message.contains("chain-spec.json"), "the log names the problem: {message}");
	assert!(started.elapsed() < Duration::from_secs(60));
	Ok(())
}

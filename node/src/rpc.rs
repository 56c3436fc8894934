//! The node's JSON-RPC methods beyond those `sc-service` provides.

use std::sync::Arc;

use jsonrpsee::RpcModule;
use modelhub_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Nonce};
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};

/// What the RPC methods need from the node.
pub struct FullDeps<C, P> {
	/// The client, to call runtime APIs.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// Runs subscriptions.
	pub executor: Arc<dyn sp_core::traits::SpawnNamed>,
	/// The hub index's methods, when the node keeps one (`--hub-index`).
	pub hub_index: Option<crate::hub_index::HubIndexRpc>,
}

/// Builds the RPC module: `system_accountNextIndex`, `payment_queryInfo` and friends, and the
/// `modelhub_*` methods, and the `hubindex_*` ones with `--hub-index` (`B` is the client's backend, whose state the subscriptions read).
pub fn create_full<C, P, B>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	B: sc_client_api::Backend<Block> + Send + Sync + 'static,
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ sc_client_api::BlockchainEvents<Block>
		+ sc_client_api::StorageProvider<Block, B>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	C::Api: modelhub_primitives::api::ModelHubApi<Block, AccountId, Balance, BlockNumber>,
	C::Api: sp_api::Metadata<Block>,
	P: TransactionPool<Block = Block> + 'static,
{
	use crate::modelhub_rpc::{ModelHub, ModelHubRpcServer};
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let FullDeps { client, pool, executor, hub_index } = deps;
	let mut module = RpcModule::new(());
	module.merge(System::new(client.clone(), pool.clone()).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(ModelHub::<C, P, B>::new(client, pool, executor).into_rpc())?;
	if let Some(hub_index) = hub_index {
		use crate::hub_index::HubIndexApiServer;
		module.merge(hub_index.into_rpc())?;
	}
	Ok(module)
}

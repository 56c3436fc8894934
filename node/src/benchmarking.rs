//! The `benchmark` subcommands (a node built with `--features benchmark-cli`): pallet weights,
//! storage, block and extrinsic overhead, and the machine check; and the extrinsic builders and
//! inherent data with which `benchmark extrinsic` and `benchmark overhead` measure what real
//! signed transactions cost on this runtime.

use crate::{cli::Cli, service, service::FullClient};

use frame_benchmarking_cli::{BenchmarkCmd, ExtrinsicFactory, SUBSTRATE_REFERENCE_HARDWARE};
use modelhub_runtime::{
	self as runtime, AccountId, Balance, BalancesCall, Block, SystemCall, EXISTENTIAL_DEPOSIT,
};
use sc_cli::{Result, SubstrateCli};
use sc_client_api::{BlockBackend, HeaderBackend};
use sc_service::PartialComponents;
use sp_core::{Encode, Pair};
use sp_inherents::{InherentData, InherentDataProvider};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{generic::Era, OpaqueExtrinsic, SaturatedConversion};

use std::{sync::Arc, time::Duration};

/// Runs `modelhub-node benchmark …`.
pub fn run(cli: &Cli, cmd: &BenchmarkCmd) -> Result<()> {
	let runner = cli.create_runner(cmd)?;
	runner.sync_run(|config| match cmd {
		BenchmarkCmd::Pallet(cmd) => {
			if !cfg!(feature = "runtime-benchmarks") {
				return Err("pallet benchmarks need a node built with \
						`--features runtime-benchmarks`"
					.into());
			}
			cmd.run_with_spec::<sp_runtime::traits::HashingFor<Block>, ()>(Some(config.chain_spec))
		},
		BenchmarkCmd::Block(cmd) => {
			let PartialComponents { client, .. } = service::new_partial(&config)?;
			cmd.run(client)
		},
		#[cfg(not(feature = "runtime-benchmarks"))]
		BenchmarkCmd::Storage(_) => Err("storage benchmarks need a node built with \
				`--features runtime-benchmarks`"
			.into()),
		#[cfg(feature = "runtime-benchmarks")]
		BenchmarkCmd::Storage(cmd) => {
			let PartialComponents { client, backend, .. } = service::new_partial(&config)?;
			let db = backend.expose_db();
			let storage = backend.expose_storage();
			let shared_cache = backend.expose_shared_trie_cache();
			cmd.run(config, client, db, storage, shared_cache)
		},
		BenchmarkCmd::Overhead(cmd) => cmd
			.run_with_default_builder_and_spec::<modelhub_runtime::opaque::Block, ()>(Some(
				config.chain_spec,
			)),
		BenchmarkCmd::Extrinsic(cmd) => {
			let PartialComponents { client, .. } = service::new_partial(&config)?;
			let ext_factory = ExtrinsicFactory(vec![
				Box::new(RemarkBuilder::new(client.clone())),
				Box::new(TransferKeepAliveBuilder::new(
					client.clone(),
					Sr25519Keyring::Alice.to_account_id(),
					EXISTENTIAL_DEPOSIT,
				)),
			]);
			cmd.run(client, inherent_benchmark_data()?, Vec::new(), &ext_factory)
		},
		BenchmarkCmd::Machine(cmd) => cmd.run(&config, SUBSTRATE_REFERENCE_HARDWARE.clone()),
	})
}

/// Builds `System::remark` transactions signed by Bob.
pub struct RemarkBuilder {
	client: Arc<FullClient>,
}

impl RemarkBuilder {
	/// A builder reading chain state from `client`.
	pub fn new(client: Arc<FullClient>) -> Self {
		Self { client }
	}
}

impl frame_benchmarking_cli::ExtrinsicBuilder for RemarkBuilder {
	fn pallet(&self) -> &str {
		"system"
	}

	fn extrinsic(&self) -> &str {
		"remark"
	}

	fn build(&self, nonce: u32) -> std::result::Result<OpaqueExtrinsic, &'static str> {
		let call = SystemCall::remark { remark: vec![] }.into();
		signed_extrinsic(&self.client, Sr25519Keyring::Bob.pair(), call, nonce).map(Into::into)
	}
}

/// Builds `Balances::transfer_keep_alive` transactions signed by Bob.
pub struct TransferKeepAliveBuilder {
	client: Arc<FullClient>,
	dest: AccountId,
	value: Balance,
}

impl TransferKeepAliveBuilder {
	/// A builder of transfers of `value` to `dest`.
	pub fn new(client: Arc<FullClient>, dest: AccountId, value: Balance) -> Self {
		Self { client, dest, value }
	}
}

impl frame_benchmarking_cli::ExtrinsicBuilder for TransferKeepAliveBuilder {
	fn pallet(&self) -> &str {
		"balances"
	}

	fn extrinsic(&self) -> &str {
		"transfer_keep_alive"
	}

	fn build(&self, nonce: u32) -> std::result::Result<OpaqueExtrinsic, &'static str> {
		let call =
			BalancesCall::transfer_keep_alive { dest: self.dest.clone().into(), value: self.value }
				.into();
		signed_extrinsic(&self.client, Sr25519Keyring::Bob.pair(), call, nonce).map(Into::into)
	}
}

/// Signs `call` by `sender` with a mortal era anchored at the best block.
pub fn signed_extrinsic(
	client: &FullClient,
	sender: sp_core::sr25519::Pair,
	call: runtime::RuntimeCall,
	nonce: u32,
) -> std::result::Result<runtime::UncheckedExtrinsic, &'static str> {
	let genesis_hash =
		client.block_hash(0).ok().flatten().ok_or("the database has no genesis block")?;
	let info = client.info();
	let period = u64::from(runtime::BLOCK_HASH_COUNT)
		.checked_next_power_of_two()
		.map_or(2, |period| period / 2);

	let extensions: runtime::TxExtension = (
		frame_system::AuthorizeCall::<runtime::Runtime>::new(),
		frame_system::CheckNonZeroSender::<runtime::Runtime>::new(),
		frame_system::CheckSpecVersion::<runtime::Runtime>::new(),
		frame_system::CheckTxVersion::<runtime::Runtime>::new(),
		frame_system::CheckGenesis::<runtime::Runtime>::new(),
		frame_system::CheckEra::<runtime::Runtime>::from(Era::mortal(
			period,
			info.best_number.saturated_into(),
		)),
		frame_system::CheckNonce::<runtime::Runtime>::from(nonce),
		frame_system::CheckWeight::<runtime::Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<runtime::Runtime>::from(0),
		runtime::CheckInferenceRequest::<runtime::Runtime>::new(),
		frame_metadata_hash_extension::CheckMetadataHash::<runtime::Runtime>::new(false),
		frame_system::WeightReclaim::<runtime::Runtime>::new(),
	);
	let implicit = (
		(),
		(),
		runtime::VERSION.spec_version,
		runtime::VERSION.transaction_version,
		genesis_hash,
		info.best_hash,
		(),
		(),
		(),
		(),
		None,
		(),
	);
	let payload = runtime::SignedPayload::from_raw(call.clone(), extensions.clone(), implicit);
	let signature = payload.using_encoded(|bytes| sender.sign(bytes));

	Ok(runtime::UncheckedExtrinsic::new_signed(
		call,
		AccountId::from(sender.public()).into(),
		runtime::Signature::Sr25519(signature),
		extensions,
	))
}

/// Inherent data for a benchmark block: a timestamp of zero.
pub fn inherent_benchmark_data() -> Result<InherentData> {
	let mut inherent_data = InherentData::new();
	let timestamp = sp_timestamp::InherentDataProvider::new(Duration::from_millis(0).into());
	futures::executor::block_on(timestamp.provide_inherent_data(&mut inherent_data))
		.map_err(|e| format!("creating inherent data: {e:?}"))?;
	Ok(inherent_data)
}

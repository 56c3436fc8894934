//! A harness that runs the real `modelhub-node` binary on loopback ports for end-to-end tests.
//!
//! Every wait is bounded. A node that exits or does not answer in time fails the test with the
//! tail of its log; the process is killed when the harness is dropped.

#![allow(dead_code)]

use std::{
	fs::File,
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Output, Stdio},
	time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context, Result};
use subxt::{
	config::RpcConfigFor,
	rpcs::{methods::legacy::LegacyRpcMethods, RpcClient},
	OnlineClient, SubstrateConfig,
};

/// The chain configuration clients use: Substrate's defaults fit this runtime.
pub type ChainConfig = SubstrateConfig;

/// Legacy JSON-RPC methods (`chain_*`, `system_*`, `state_*`).
pub type Rpc = LegacyRpcMethods<RpcConfigFor<ChainConfig>>;

/// A running node and its ports.
pub struct Node {
	child: Child,
	/// JSON-RPC (WebSocket and HTTP) port on 127.0.0.1.
	pub rpc_port: u16,
	/// Prometheus port on 127.0.0.1.
	pub prometheus_port: u16,
	/// Peer-to-peer port on 127.0.0.1.
	pub p2p_port: u16,
	log: PathBuf,
	_dir: TempDir,
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
	fn drop(&mut self) {
		let _ = std::fs::remove_dir_all(&self.0);
	}
}

/// The node binary under test: the node crate's own build, else `$MODELHUB_NODE_BIN`, else
/// `modelhub-node` beside the test's target directory (as `cargo test --workspace` builds it).
pub fn node_binary() -> PathBuf {
	if let Some(path) = option_env!("CARGO_BIN_EXE_modelhub-node") {
		return path.into();
	}
	if let Some(path) = std::env::var_os("MODELHUB_NODE_BIN").filter(|path| !path.is_empty()) {
		return path.into();
	}
	std::env::current_exe()
		.ok()
		.and_then(|test| Some(test.parent()?.parent()?.join("modelhub-node")))
		.unwrap_or_else(|| "modelhub-node".into())
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
	let listener = TcpListener::bind("127.0.0.1:0")?;
	Ok(listener.local_addr()?.port())
}

impl Node {
	/// Starts `modelhub-node --dev` on free loopback ports, its database in a temporary directory.
	pub fn dev() -> Result<Self> {
		Self::start(&["--dev"])
	}

	/// Starts the node with `args` plus a temporary base path and loopback-only network, RPC
	/// and metrics options.
	pub fn start(args: &[&str]) -> Result<Self> {
		let rpc_port = free_port()?;
		let p2p_port = free_port()?;
		let prometheus_port = free_port()?;
		let dir =
			std::env::temp_dir().join(format!("modelhub-e2e-{}-{rpc_port}", std::process::id()));
		std::fs::create_dir_all(&dir)?;
		let log = dir.join("node.log");
		let child = Self::spawn(args, &dir, rpc_port, prometheus_port, p2p_port, &log)?;
		Ok(Self { child, rpc_port, prometheus_port, p2p_port, log, _dir: TempDir(dir) })
	}

	fn spawn(
		args: &[&str],
		dir: &Path,
		rpc_port: u16,
		prometheus_port: u16,
		p2p_port: u16,
		log: &Path,
	) -> Result<Child> {
		let log_file = File::options().create(true).append(true).open(log)?;
		Command::new(node_binary())
			.args(args)
			.arg("--base-path")
			.arg(dir.join("data"))
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--prometheus-port", &prometheus_port.to_string()])
			.args(["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{p2p_port}")])
			.args(["--no-mdns", "--no-telemetry"])
			.stdout(Stdio::null())
			.stderr(log_file)
			.spawn()
			.context("spawning modelhub-node")
	}

	/// Stops the node and starts it again with `args`, on the same ports and database.
	pub fn restart(&mut self, args: &[&str]) -> Result<()> {
		self.stop();
		self.child = Self::spawn(
			args,
			&self._dir.0,
			self.rpc_port,
			self.prometheus_port,
			self.p2p_port,
			&self.log,
		)?;
		Ok(())
	}

	/// The WebSocket URL of the node's JSON-RPC server.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The last lines of the node's log.
	pub fn log_tail(&self) -> String {
		let log = std::fs::read_to_string(&self.log).unwrap_or_default();
		let lines: Vec<&str> = log.lines().collect();
		lines[lines.len().saturating_sub(40)..].join("\n")
	}

	/// Fails with the log if the node process has exited.
	pub fn ensure_running(&mut self) -> Result<()> {
		if let Some(status) = self.child.try_wait()? {
			bail!("modelhub-node exited ({status}); log:\n{}", self.log_tail());
		}
		Ok(())
	}

	/// Connects an RPC client, retrying until the server answers or `within` passes.
	pub async fn rpc_client(&mut self, within: Duration) -> Result<RpcClient> {
		let deadline = Instant::now() + within;
		loop {
			self.ensure_running()?;
			match RpcClient::from_insecure_url(self.ws_url()).await {
				Ok(client) => return Ok(client),
				Err(error) if Instant::now() < deadline => {
					let _ = error;
					tokio::time::sleep(Duration::from_millis(250)).await;
				},
				Err(error) => bail!(
					"no JSON-RPC answer on {} within {within:?}: {error}; log:\n{}",
					self.ws_url(),
					self.log_tail()
				),
			}
		}
	}

	/// Waits until a block above `min_number` is finalized; returns its number.
	pub async fn wait_finalized_above(
		&mut self,
		rpc: &Rpc,
		min_number: u64,
		within: Duration,
	) -> Result<u64> {
		let deadline = Instant::now() + within;
		loop {
			self.ensure_running()?;
			let hash = rpc.chain_get_finalized_head().await?;
			let header = rpc
				.chain_get_header(Some(hash))
				.await?
				.ok_or_else(|| anyhow!("finalized head {hash:?} has no header"))?;
			let number = header.number;
			if number > min_number {
				return Ok(number);
			}
			if Instant::now() >= deadline {
				bail!(
					"no block above #{min_number} finalized within {within:?}; log:\n{}",
					self.log_tail()
				);
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}

	/// Connects RPC, waits for the first finalized block and returns a full client too.
	pub async fn connect(&mut self) -> Result<(Rpc, OnlineClient<ChainConfig>)> {
		let rpc_client = self.rpc_client(Duration::from_secs(120)).await?;
		let rpc = Rpc::new(rpc_client.clone());
		self.wait_finalized_above(&rpc, 0, Duration::from_secs(90)).await?;
		let api = OnlineClient::<ChainConfig>::from_rpc_client(rpc_client)
			.await
			.context("building the subxt client")?;
		Ok((rpc, api))
	}

	/// Stops the node (SIGKILL) and waits for the process to end.
	pub fn stop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		self.stop();
	}
}

/// This crate's directory, from the `CARGO_MANIFEST_DIR` that `cargo test` sets when it runs
/// the test (right even for a binary that the shared target directory kept from another clone),
/// else from compile time.
pub fn manifest_dir() -> PathBuf {
	std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The Node.js clients' folder.
pub fn scripts_dir() -> PathBuf {
	manifest_dir().join("../scripts")
}

/// Runs a script with Node.js, bounded in time.
pub async fn node_script(script: &str, args: &[String]) -> Result<Output> {
	let dir = scripts_dir();
	if !dir.join("node_modules/@polkadot/api").exists() {
		bail!("scripts/node_modules is missing: run scripts/setup.sh");
	}
	let child = tokio::process::Command::new("node")
		.arg(dir.join(script))
		.args(args)
		.kill_on_drop(true)
		.output();
	tokio::time::timeout(Duration::from_secs(120), child)
		.await
		.with_context(|| format!("{script} timed out"))?
		.with_context(|| format!("running node {script}"))
}

//! Model hosts: each loaded model runs in a child process of its own (`modelhub-worker host`),
//! so that a model that hangs, crashes ONNX Runtime or exhausts memory takes down only that
//! process. The worker kills a host whose run passes its time budget, limits each host's
//! address space (`RLIMIT_AS`), and starts a new host for the next job of the model.
//!
//! The worker and a host speak over the host's standard input and output in frames: one kind
//! byte, the payload's length as a little-endian `u32`, the payload.
//!
//! | from   | kind       | payload                                        |
//! |--------|------------|------------------------------------------------|
//! | worker | [`LOAD`]   | the model's ONNX bytes                         |
//! | worker | [`RUN`]    | the inputs, a canonical SCALE `TensorSet`      |
//! | host   | [`OK`]     | nothing after a load; the outputs after a run  |
//! | host   | [`FAILED`] | why, in UTF-8: the host goes on serving        |
//!
//! A host ends when its input closes. Standard error is the worker's.

use crate::engine::{self, Model, Settings};
use anyhow::{anyhow, bail, Context, Result};
use modelhub_primitives::tensor::TensorSet;
use std::{
	io::{BufReader, BufWriter, Read, Write},
	os::unix::process::ExitStatusExt,
	path::{Path, PathBuf},
	process::{Child, ChildStdin, ChildStdout, Command, Stdio},
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex,
	},
};

/// Loads the model in the payload.
pub const LOAD: u8 = b'L';
/// Runs the loaded model on the inputs in the payload.
pub const RUN: u8 = b'R';
/// The request succeeded.
pub const OK: u8 = b'K';
/// The request failed; the payload says why.
pub const FAILED: u8 = b'F';

/// Largest frame either side accepts (a model or a tensor set).
const MAX_FRAME: usize = 2 << 30;

/// Writes one frame.
pub fn write_frame(out: &mut impl Write, kind: u8, payload: &[u8]) -> std::io::Result<()> {
	let length = u32::try_from(payload.len())
		.ok()
		.filter(|length| (*length as usize) <= MAX_FRAME)
		.ok_or_else(|| std::io::Error::other("frame too large"))?;
	out.write_all(&[kind])?;
	out.write_all(&length.to_le_bytes())?;
	out.write_all(payload)?;
	out.flush()
}

/// Reads one frame; `None` at the end of the input.
pub fn read_frame(input: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
	let mut head = [0u8; 5];
	match input.read_exact(&mut head[..1]) {
		Ok(()) => {},
		Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
		Err(error) => return Err(error),
	}
	input.read_exact(&mut head[1..])?;
	let length = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
	if length > MAX_FRAME {
		return Err(std::io::Error::other("frame too large"));
	}
	let mut payload = Vec::new();
	input.take(length as u64).read_to_end(&mut payload)?;
	if payload.len() != length {
		return Err(std::io::ErrorKind::UnexpectedEof.into());
	}
	Ok(Some((head[0], payload)))
}

/// How hosts are started.
#[derive(Clone, Debug)]
pub struct HostConfig {
	/// The `modelhub-worker` executable.
	pub program: PathBuf,
	/// The ONNX Runtime library.
	pub library: PathBuf,
	/// How ONNX Runtime runs models.
	pub settings: Settings,
	/// Most bytes of address space a host may map (`RLIMIT_AS`); `None`: no limit.
	pub memory_limit: Option<u64>,
}

impl HostConfig {
	/// Hosts of this executable with the loaded ONNX Runtime library.
	pub fn current(settings: Settings, memory_limit: Option<u64>) -> Result<Self> {
		Ok(Self {
			program: std::env::current_exe().context("finding the worker's executable")?,
			library: engine::library_path()?,
			settings,
			memory_limit,
		})
	}
}

/// Why a host request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
	/// The model or its inputs: ONNX Runtime refused or failed, and the host goes on.
	Model(String),
	/// The host process is gone (crashed, killed, out of memory): it serves nothing more.
	Died(String),
}

impl std::fmt::Display for HostError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Model(why) | Self::Died(why) => f.write_str(why),
		}
	}
}

/// Stops a host from another thread while a request waits on it.
#[derive(Clone)]
pub struct Killer(Arc<KillState>);

struct KillState {
	pid: i32,
	/// Set, under the lock, before the process is reaped: its pid is then free for reuse.
	reaped: Mutex<bool>,
	/// The process was killed by the worker.
	killed: AtomicBool,
}

impl Killer {
	/// Kills the host (`SIGKILL`) if it is still there; its pending request then fails with
	/// [`HostError::Died`].
	pub fn kill(&self) {
		let Ok(reaped) = self.0.reaped.lock() else { return };
		if !*reaped {
			self.0.killed.store(true, Ordering::SeqCst);
			// SAFETY: `kill` has no memory effects; the pid is this host's, not yet reaped
			// (so not reused), as `reaped` is set under this lock before reaping.
			unsafe { libc::kill(self.0.pid, libc::SIGKILL) };
		}
	}
}

/// A model host process, with a model loaded once [`Host::load`] succeeds.
pub struct Host {
	child: Child,
	input: BufWriter<ChildStdin>,
	output: BufReader<ChildStdout>,
	killer: Killer,
	/// Why the process is gone, once it is.
	dead: Option<String>,
}

impl Host {
	/// Starts a host process (no model yet).
	pub fn spawn(config: &HostConfig) -> Result<Self> {
		let mut command = Command::new(&config.program);
		command
			.arg("host")
			.arg("--ort-library")
			.arg(&config.library)
			.arg("--threads")
			.arg(config.settings.threads.to_string())
			.arg("--graph-optimization")
			.arg(config.settings.graph_optimization.as_str())
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::inherit());
		if let Some(limit) = config.memory_limit {
			command.arg("--memory-limit").arg(limit.to_string());
		}
		let mut child = command
			.spawn()
			.with_context(|| format!("starting a model host ({})", config.program.display()))?;
		let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
			let _ = child.kill();
			let _ = child.wait();
			bail!("the model host has no pipes");
		};
		let pid = i32::try_from(child.id()).map_err(|_| anyhow!("pid out of range"))?;
		Ok(Self {
			child,
			input: BufWriter::new(input),
			output: BufReader::new(output),
			killer: Killer(Arc::new(KillState {
				pid,
				reaped: Mutex::new(false),
				killed: AtomicBool::new(false),
			})),
			dead: None,
		})
	}

	/// What stops this host from another thread.
	pub fn killer(&self) -> Killer {
		self.killer.clone()
	}

	/// Why the host is gone, if it is.
	pub fn dead(&self) -> Option<&str> {
		self.dead.as_deref()
	}

	/// Loads the model from its ONNX bytes.
	pub fn load(&mut self, model: &[u8]) -> Result<(), HostError> {
		self.exchange(LOAD, model).map(drop)
	}

	/// Runs the loaded model on `inputs` (a canonical tensor set).
	pub fn run(&mut self, inputs: &[u8]) -> Result<TensorSet, HostError> {
		let outputs = self.exchange(RUN, inputs)?;
		TensorSet::decode_canonical(&outputs, &crate::tensor_io::local_limits()).map_err(|error| {
			HostError::Model(format!("the model's outputs are not a valid tensor set: {error:?}"))
		})
	}

	fn exchange(&mut self, kind: u8, payload: &[u8]) -> Result<Vec<u8>, HostError> {
		if let Some(why) = &self.dead {
			return Err(HostError::Died(why.clone()));
		}
		let answer =
			write_frame(&mut self.input, kind, payload).and_then(|()| read_frame(&mut self.output));
		match answer {
			Ok(Some((OK, payload))) => Ok(payload),
			Ok(Some((FAILED, why))) => Err(HostError::Model(String::from_utf8_lossy(&why).into())),
			Ok(Some((other, _))) => {
				self.killer.kill();
				Err(HostError::Died(self.reap(&format!("answered with frame kind {other}"))))
			},
			Ok(None) | Err(_) => Err(HostError::Died(self.reap("closed its output"))),
		}
	}

	/// Waits for the process to end and says how it ended.
	fn reap(&mut self, otherwise: &str) -> String {
		if let Ok(mut reaped) = self.killer.0.reaped.lock() {
			*reaped = true;
		}
		let why = match self.child.wait() {
			Ok(_) if self.killer.0.killed.load(Ordering::SeqCst) => {
				"was stopped by the worker".to_string()
			},
			Ok(status) => match (status.signal(), status.code()) {
				(Some(signal), _) => format!("crashed ({})", signal_name(signal)),
				(None, Some(code)) => format!("exited with status {code}"),
				(None, None) => otherwise.to_string(),
			},
			Err(error) => format!("{otherwise}; waiting for it failed: {error}"),
		};
		self.dead = Some(why.clone());
		why
	}
}

impl Drop for Host {
	fn drop(&mut self) {
		if self.dead.is_none() {
			self.killer.kill();
			self.reap("was dropped");
		}
	}
}

/// A signal's name, with what it usually means for a model host.
fn signal_name(signal: i32) -> String {
	match signal {
		libc::SIGSEGV => "SIGSEGV, invalid memory access".into(),
		libc::SIGABRT => "SIGABRT, aborted: often an allocation beyond its memory limit".into(),
		libc::SIGKILL => "SIGKILL: the system may have run out of memory".into(),
		libc::SIGBUS => "SIGBUS".into(),
		libc::SIGILL => "SIGILL, illegal instruction".into(),
		libc::SIGFPE => "SIGFPE, arithmetic fault".into(),
		other => format!("signal {other}"),
	}
}

/// Serves one model over standard input and output until the input closes: what
/// `modelhub-worker host` runs.
pub fn serve(library: &Path, settings: Settings, memory_limit: Option<u64>) -> Result<()> {
	#[cfg(target_os = "linux")]
	// SAFETY: `prctl(PR_SET_PDEATHSIG)` only sets the signal this process gets when its
	// parent ends, so a host never outlives its worker.
	unsafe {
		libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
	}
	if let Some(limit) = memory_limit {
		let bound = libc::rlimit { rlim_cur: limit, rlim_max: limit };
		// SAFETY: `setrlimit` reads the struct given and changes this process's limit only.
		if unsafe { libc::setrlimit(libc::RLIMIT_AS, &bound) } != 0 {
			bail!("setting the memory limit: {}", std::io::Error::last_os_error());
		}
	}
	let environment = engine::environment(Some(library))?;
	let mut input = std::io::stdin().lock();
	let mut output = BufWriter::new(std::io::stdout().lock());
	let mut model: Option<Model> = None;
	while let Some((kind, payload)) = read_frame(&mut input)? {
		let answer = match kind {
			LOAD => Model::load(environment, &payload, settings).map(|loaded| {
				model = Some(loaded);
				Vec::new()
			}),
			RUN => match model.as_mut() {
				None => Err(anyhow!("no model is loaded")),
				Some(model) => {
					TensorSet::decode_canonical(&payload, &crate::tensor_io::local_limits())
						.map_err(|error| anyhow!("invalid inputs: {error:?}"))
						.and_then(|inputs| model.run(&inputs))
						.map(|outputs| codec::Encode::encode(&outputs))
				},
			},
			other => Err(anyhow!("unknown request kind {other}")),
		};
		match answer {
			Ok(payload) => write_frame(&mut output, OK, &payload)?,
			Err(error) => write_frame(&mut output, FAILED, format!("{error:#}").as_bytes())?,
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn frames_round_trip_and_a_cut_frame_is_an_error() {
		let mut bytes = Vec::new();
		write_frame(&mut bytes, RUN, b"abc").expect("write");
		write_frame(&mut bytes, OK, b"").expect("write");
		let mut reader = &bytes[..];
		assert_eq!(read_frame(&mut reader).expect("read"), Some((RUN, b"abc".to_vec())));
		assert_eq!(read_frame(&mut reader).expect("read"), Some((OK, Vec::new())));
		assert_eq!(read_frame(&mut reader).expect("read"), None);
		let cut = &bytes[..6];
		assert!(read_frame(&mut &cut[..]).is_err());
		let mut huge = vec![LOAD];
		huge.extend_from_slice(&u32::MAX.to_le_bytes());
		assert!(read_frame(&mut &huge[..]).is_err());
	}
}

//! Model artifacts: fetched by URI, checked against the size and blake2-256 the chain records
//! before anything reads them as a model, and kept in a content-addressed disk cache.
//!
//! The cache is a directory of `<hash>.onnx` files. A download goes to a temporary file, is
//! hashed while it streams, and is renamed into place only when its size and hash match, so the
//! cache holds verified artifacts only. When the cache would exceed its byte bound, the least
//! recently used files go first.

use anyhow::{Context, Result};
use std::{
	collections::HashMap,
	io::{Read, Write},
	path::{Path, PathBuf},
	sync::Mutex,
	time::Duration,
};

/// What the chain says an artifact is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactRef {
	/// blake2-256 of the ONNX bytes.
	pub hash: [u8; 32],
	/// Size in bytes.
	pub size: u64,
	/// Where to fetch it.
	pub uri: String,
}

/// Which artifact locations the worker reads. The default reads only what a public chain's
/// artifacts should use: `http(s)` to public addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
	/// Read `file://` URIs (a development chain's sample models). Off by default: on a public
	/// chain a publisher would make workers read their own files, and learn from their
	/// failure reports which paths exist.
	pub allow_files: bool,
	/// Fetch from loopback, private, link-local and other non-public addresses. Off by
	/// default: a publisher would otherwise reach services inside the worker's network.
	pub allow_private: bool,
	/// Base URL of an IPFS HTTP gateway: `ipfs://<cid>/<path>` is read from
	/// `<gateway>/ipfs/<cid>/<path>`. Without one, `ipfs://` artifacts are unavailable.
	pub ipfs_gateway: Option<String>,
}

impl Sources {
	/// Everything a local development chain uses: files and private addresses too.
	#[cfg(test)]
	pub fn local() -> Self {
		Self { allow_files: true, allow_private: true, ipfs_gateway: None }
	}

	/// The HTTP(S) URL an `ipfs://` URI is read from.
	fn gateway_url(&self, uri: &str) -> Result<String, FetchError> {
		let path = uri.strip_prefix("ipfs://").unwrap_or(uri).trim_start_matches('/');
		let gateway = self.ipfs_gateway.as_deref().ok_or_else(|| {
			FetchError::Unavailable(format!("{uri}: no IPFS gateway configured (--ipfs-gateway)"))
		})?;
		if path.is_empty() {
			return Err(FetchError::Unavailable(format!("{uri}: no content id")));
		}
		Ok(format!("{}/ipfs/{path}", gateway.trim_end_matches('/')))
	}
}

/// Why an artifact could not be had.
#[derive(Debug)]
pub enum FetchError {
	/// The URI could not be read (unsupported scheme, not found, network failure). May pass.
	Unavailable(String),
	/// The bytes read do not have the recorded size or hash.
	Mismatch(String),
}

impl std::fmt::Display for FetchError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			FetchError::Unavailable(why) => write!(f, "artifact unavailable: {why}"),
			FetchError::Mismatch(why) => write!(f, "artifact does not match the chain: {why}"),
		}
	}
}

impl std::error::Error for FetchError {}

/// The lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The lowercase hex of `bytes` after `0x`, as JSON-RPC writes bytes.
pub fn hex0x(bytes: &[u8]) -> String {
	format!("0x{}", hex(bytes))
}

/// The bytes of hex `text` (with or without `0x`); `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
	let digits = text.strip_prefix("0x").unwrap_or(text);
	if !digits.len().is_multiple_of(2) {
		return None;
	}
	(0..digits.len())
		.step_by(2)
		.map(|at| digits.get(at..at + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
		.collect()
}

/// Streams bytes into a temporary file while hashing and counting them.
struct Sink {
	file: std::fs::File,
	path: PathBuf,
	hasher: blake2b_simd::State,
	written: u64,
	limit: u64,
}

impl Sink {
	fn new(path: PathBuf, limit: u64) -> Result<Self, FetchError> {
		let file = std::fs::File::create(&path)
			.map_err(|error| FetchError::Unavailable(format!("{}: {error}", path.display())))?;
		Ok(Self {
			file,
			path,
			hasher: blake2b_simd::Params::new().hash_length(32).to_state(),
			written: 0,
			limit,
		})
	}

	fn write(&mut self, bytes: &[u8]) -> Result<(), FetchError> {
		self.written = self.written.saturating_add(bytes.len() as u64);
		if self.written > self.limit {
			return Err(FetchError::Mismatch(format!(
				"more than the recorded {} bytes",
				self.limit
			)));
		}
		self.hasher.update(bytes);
		self.file
			.write_all(bytes)
			.map_err(|error| FetchError::Unavailable(format!("{}: {error}", self.path.display())))
	}

	/// Checks size and hash; on success the file at `self.path` holds the artifact.
	fn finish(self, expected: &ArtifactRef) -> Result<PathBuf, FetchError> {
		if self.written != expected.size {
			return Err(FetchError::Mismatch(format!(
				"{} bytes, the chain records {}",
				self.written, expected.size
			)));
		}
		let mut hash = [0u8; 32];
		hash.copy_from_slice(self.hasher.finalize().as_bytes());
		if hash != expected.hash {
			return Err(FetchError::Mismatch(format!(
				"blake2-256 0x{}, the chain records 0x{}",
				hex(&hash),
				hex(&expected.hash)
			)));
		}
		self.file.sync_all().map_err(|error| {
			FetchError::Unavailable(format!("{}: {error}", self.path.display()))
		})?;
		Ok(self.path)
	}
}

/// Reads a `file://` URI into `sink`.
fn read_file(path: &str, sink: &mut Sink) -> Result<(), FetchError> {
	let mut file = std::fs::File::open(path)
		.map_err(|error| FetchError::Unavailable(format!("{path}: {error}")))?;
	let mut buffer = vec![0u8; 1 << 16];
	loop {
		let read = file
			.read(&mut buffer)
			.map_err(|error| FetchError::Unavailable(format!("{path}: {error}")))?;
		if read == 0 {
			return Ok(());
		}
		sink.write(&buffer[..read])?;
	}
}

/// Reads an `http://` or `https://` URI into `sink`, within `timeout`; from private addresses
/// only if `allow_private`.
async fn read_http(
	uri: &str,
	sink: &mut Sink,
	timeout: Duration,
	allow_private: bool,
) -> Result<(), FetchError> {
	// Size and hash mismatches found while streaming stop the download at once.
	let mut mismatch = None;
	let mut write = |bytes: &[u8]| match sink.write(bytes) {
		Ok(()) => Ok(()),
		Err(error) => {
			let text = error.to_string();
			mismatch = Some(error);
			Err(text)
		},
	};
	let transfer =
		tokio::time::timeout(timeout, crate::http::get(uri, allow_private, &mut write)).await;
	if let Some(error) = mismatch {
		return Err(error);
	}
	match transfer {
		Ok(Ok(())) => Ok(()),
		Ok(Err(why)) => Err(FetchError::Unavailable(format!("{uri}: {why}"))),
		Err(_) => Err(FetchError::Unavailable(format!("{uri}: not complete within {timeout:?}"))),
	}
}

/// Runs `work` on a blocking thread.
async fn blocking<T: Send + 'static>(
	work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, FetchError> {
	tokio::task::spawn_blocking(work)
		.await
		.map_err(|error| FetchError::Unavailable(format!("file task failed: {error}")))
}

/// A content-addressed directory of verified artifacts, bounded in bytes.
pub struct ArtifactCache {
	dir: PathBuf,
	max_bytes: u64,
	timeout: Duration,
	sources: Sources,
	/// Files in the cache with their size and last use (a counter).
	entries: Mutex<HashMap<[u8; 32], (u64, u64)>>,
	clock: std::sync::atomic::AtomicU64,
}

impl ArtifactCache {
	/// Opens (creating) the cache in `dir`, indexing the artifacts already there; it fetches
	/// from `sources`.
	pub fn open(dir: &Path, max_bytes: u64, timeout: Duration, sources: Sources) -> Result<Self> {
		std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
		let mut entries = HashMap::new();
		for entry in std::fs::read_dir(dir)? {
			let entry = entry?;
			let name = entry.file_name().to_string_lossy().into_owned();
			if let Some(hash) = name.strip_suffix(".onnx").and_then(parse_hash) {
				entries.insert(hash, (entry.metadata()?.len(), 0));
			} else if name.ends_with(".part") {
				let _ = std::fs::remove_file(entry.path());
			}
		}
		Ok(Self {
			dir: dir.to_path_buf(),
			max_bytes,
			timeout,
			sources,
			entries: Mutex::new(entries),
			clock: std::sync::atomic::AtomicU64::new(1),
		})
	}

	fn path_of(&self, hash: &[u8; 32]) -> PathBuf {
		self.dir.join(format!("{}.onnx", hex(hash)))
	}

	fn touch(&self) -> u64 {
		self.clock.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
	}

	/// Bytes of artifacts in the cache.
	pub fn bytes(&self) -> u64 {
		self.entries.lock().map(|entries| entries.values().map(|(size, _)| size).sum()).unwrap_or(0)
	}

	/// Whether the artifact is cached.
	pub fn contains(&self, hash: &[u8; 32]) -> bool {
		self.entries.lock().map(|entries| entries.contains_key(hash)).unwrap_or(false)
	}

	/// The artifact's bytes: from the cache (a hit, `true`), or fetched, verified and cached.
	/// File reads, writes and hashing run on blocking threads, off the async runtime.
	pub async fn get(&self, artifact: &ArtifactRef) -> Result<(Vec<u8>, bool), FetchError> {
		let path = self.path_of(&artifact.hash);
		if self.contains(&artifact.hash) {
			let (cached, expected) = (path.clone(), artifact.clone());
			let verified = blocking(move || {
				std::fs::read(&cached).ok().filter(|bytes| {
					bytes.len() as u64 == expected.size
						&& sp_crypto_hashing::blake2_256(bytes) == expected.hash
				})
			})
			.await?;
			if let Some(bytes) = verified {
				let now = self.touch();
				if let Ok(mut entries) = self.entries.lock() {
					entries.insert(artifact.hash, (artifact.size, now));
				}
				return Ok((bytes, true));
			}
			// Gone or damaged on disk: forget it and fetch again.
			if let Ok(mut entries) = self.entries.lock() {
				entries.remove(&artifact.hash);
			}
			let _ = std::fs::remove_file(&path);
		}
		if artifact.size > self.max_bytes {
			return Err(FetchError::Unavailable(format!(
				"{} bytes is more than the cache holds ({})",
				artifact.size, self.max_bytes
			)));
		}
		let part = self.dir.join(format!("{}.{}.part", hex(&artifact.hash), self.touch()));
		let mut sink = Sink::new(part.clone(), artifact.size)?;
		let uri = artifact.uri.as_str();
		let private = self.sources.allow_private;
		let fetched = if let Some(file) = uri.strip_prefix("file://") {
			if self.sources.allow_files {
				let file = file.to_string();
				let (read, returned) = blocking(move || {
					let read = read_file(&file, &mut sink);
					(read, sink)
				})
				.await?;
				sink = returned;
				read
			} else {
				Err(FetchError::Unavailable(format!(
					"{uri}: file:// artifacts are read only with --allow-file-artifacts"
				)))
			}
		} else if uri.starts_with("http://") || uri.starts_with("https://") {
			read_http(uri, &mut sink, self.timeout, private).await
		} else if uri.starts_with("ipfs://") {
			match self.sources.gateway_url(uri) {
				Ok(url) => read_http(&url, &mut sink, self.timeout, private).await,
				Err(error) => Err(error),
			}
		} else {
			Err(FetchError::Unavailable(format!("{uri}: unsupported URI scheme")))
		};
		let expected = artifact.clone();
		let verified = match fetched {
			Ok(()) => blocking(move || sink.finish(&expected)).await?,
			Err(error) => Err(error),
		};
		let verified = match verified {
			Ok(verified) => verified,
			Err(error) => {
				let _ = std::fs::remove_file(&part);
				return Err(error);
			},
		};
		self.make_room(artifact.size);
		let placed = path.clone();
		let bytes = blocking(move || {
			std::fs::rename(&verified, &placed)?;
			std::fs::read(&placed)
		})
		.await?
		.map_err(|error| FetchError::Unavailable(format!("{}: {error}", path.display())))?;
		let now = self.touch();
		if let Ok(mut entries) = self.entries.lock() {
			entries.insert(artifact.hash, (artifact.size, now));
		}
		Ok((bytes, false))
	}

	/// Removes least recently used artifacts until `incoming` more bytes fit.
	fn make_room(&self, incoming: u64) {
		let Ok(mut entries) = self.entries.lock() else { return };
		let mut total: u64 = entries.values().map(|(size, _)| size).sum();
		while total.saturating_add(incoming) > self.max_bytes {
			let Some((&oldest, &(size, _))) = entries.iter().min_by_key(|(_, (_, used))| *used)
			else {
				break;
			};
			entries.remove(&oldest);
			let _ = std::fs::remove_file(self.path_of(&oldest));
			total = total.saturating_sub(size);
		}
	}
}

/// A 32-byte hash from 64 hex digits.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
	let text = text.strip_prefix("0x").unwrap_or(text);
	if text.len() != 64 {
		return None;
	}
	let mut hash = [0u8; 32];
	for (index, byte) in hash.iter_mut().enumerate() {
		*byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
	}
	Some(hash)
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::{io::BufRead, net::TcpListener};

	struct Dir(PathBuf);
	impl Drop for Dir {
		fn drop(&mut self) {
			let _ = std::fs::remove_dir_all(&self.0);
		}
	}

	fn temp_dir(name: &str) -> Dir {
		let dir = std::env::temp_dir().join(format!(
			"modelhub-worker-{name}-{}-{:?}",
			std::process::id(),
			std::thread::current().id()
		));
		let _ = std::fs::remove_dir_all(&dir);
		std::fs::create_dir_all(&dir).expect("temp dir");
		Dir(dir)
	}

	fn artifact_file(dir: &Path, name: &str, bytes: &[u8]) -> ArtifactRef {
		let path = dir.join(name);
		std::fs::write(&path, bytes).expect("write");
		ArtifactRef {
			hash: sp_crypto_hashing::blake2_256(bytes),
			size: bytes.len() as u64,
			uri: format!("file://{}", path.display()),
		}
	}

	/// Serves `body` once per connection on 127.0.0.1, for `connections` connections.
	fn serve(body: Vec<u8>, status: &'static str, connections: usize) -> String {
		let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
		let address = listener.local_addr().expect("address");
		std::thread::spawn(move || {
			for stream in listener.incoming().take(connections) {
				let Ok(mut stream) = stream else { continue };
				let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
				let mut line = String::new();
				while reader.read_line(&mut line).map(|read| read > 2).unwrap_or(false) {
					line.clear();
				}
				let head = format!(
					"HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
					body.len()
				);
				let _ = stream.write_all(head.as_bytes());
				let _ = stream.write_all(&body);
			}
		});
		format!("http://{address}/model.onnx")
	}

	/// A cache in `dir` of at most `max_bytes` that reads files and loopback.
	fn local_cache(dir: &Path, max_bytes: u64) -> ArtifactCache {
		ArtifactCache::open(dir, max_bytes, Duration::from_secs(5), Sources::local())
			.expect("cache")
	}

	#[tokio::test]
	async fn a_file_artifact_is_verified_and_then_served_from_the_cache() {
		let dir = temp_dir("file");
		let artifact = artifact_file(&dir.0, "model.onnx", b"onnx bytes");
		let cache = local_cache(&dir.0.join("cache"), 1 << 20);
		let (bytes, hit) = cache.get(&artifact).await.expect("fetch");
		assert_eq!((bytes.as_slice(), hit), (&b"onnx bytes"[..], false));
		std::fs::remove_file(dir.0.join("model.onnx")).expect("remove source");
		let (bytes, hit) = cache.get(&artifact).await.expect("cached");
		assert_eq!((bytes.as_slice(), hit), (&b"onnx bytes"[..], true));
		// A reopened cache still knows it.
		let cache = local_cache(&dir.0.join("cache"), 1 << 20);
		assert!(cache.contains(&artifact.hash));
	}

	#[tokio::test]
	async fn wrong_hash_or_size_is_rejected_and_nothing_is_cached() {
		let dir = temp_dir("mismatch");
		let mut artifact = artifact_file(&dir.0, "model.onnx", b"onnx bytes");
		let cache = local_cache(&dir.0.join("cache"), 1 << 20);
		artifact.hash[0] ^= 1;
		assert!(matches!(cache.get(&artifact).await, Err(FetchError::Mismatch(_))));
		artifact.hash[0] ^= 1;
		artifact.size += 1;
		assert!(matches!(cache.get(&artifact).await, Err(FetchError::Mismatch(_))));
		artifact.size -= 2;
		assert!(matches!(cache.get(&artifact).await, Err(FetchError::Mismatch(_))));
		assert_eq!(std::fs::read_dir(dir.0.join("cache")).expect("list").count(), 0);
		assert_eq!(cache.bytes(), 0);
	}

	#[tokio::test]
	async fn missing_files_and_unknown_schemes_are_unavailable() {
		let dir = temp_dir("missing");
		let cache = local_cache(&dir.0.join("cache"), 1 << 20);
		for uri in ["file:///nonexistent/model.onnx", "ipfs://", "ftp://host/model.onnx"] {
			let artifact = ArtifactRef { hash: [0; 32], size: 1, uri: uri.into() };
			assert!(matches!(cache.get(&artifact).await, Err(FetchError::Unavailable(_))), "{uri}");
		}
	}

	#[tokio::test]
	async fn files_private_addresses_and_ipfs_follow_the_operator_s_sources() {
		let dir = temp_dir("sources");
		let body = b"model behind a gateway".to_vec();
		let file = artifact_file(&dir.0, "model.onnx", &body);
		let public = ArtifactCache::open(
			&dir.0.join("public"),
			1 << 20,
			Duration::from_secs(5),
			Sources::default(),
		)
		.expect("cache");
		let refused = |result: Result<(Vec<u8>, bool), FetchError>, why: &str| match result {
			Err(FetchError::Unavailable(text)) => assert!(text.contains(why), "{text}"),
			other => panic!("expected {why:?}, got {other:?}"),
		};
		refused(public.get(&file).await, "--allow-file-artifacts");
		let served = ArtifactRef { uri: serve(body.clone(), "200 OK", 1), ..file.clone() };
		refused(public.get(&served).await, "private address");
		let ipfs = ArtifactRef { uri: "ipfs://bafycid/model.onnx".into(), ..file.clone() };
		refused(public.get(&ipfs).await, "no IPFS gateway");
		assert_eq!(std::fs::read_dir(dir.0.join("public")).expect("list").count(), 0);

		// Through a gateway (here on loopback, so private addresses allowed).
		let gateway = serve(body.clone(), "200 OK", 1);
		let gateway = gateway.trim_end_matches("/model.onnx").to_string();
		let sources = Sources { ipfs_gateway: Some(gateway.clone()), ..Sources::local() };
		assert_eq!(
			sources.gateway_url("ipfs://bafycid/model.onnx").ok(),
			Some(format!("{gateway}/ipfs/bafycid/model.onnx"))
		);
		let local =
			ArtifactCache::open(&dir.0.join("local"), 1 << 20, Duration::from_secs(5), sources)
				.expect("cache");
		assert_eq!(local.get(&ipfs).await.expect("through the gateway"), (body, false));
	}

	#[tokio::test]
	async fn http_artifacts_are_fetched_and_verified() {
		let dir = temp_dir("http");
		let body = b"model served over http".to_vec();
		let cache = local_cache(&dir.0.join("cache"), 1 << 20);
		let artifact = ArtifactRef {
			hash: sp_crypto_hashing::blake2_256(&body),
			size: body.len() as u64,
			uri: serve(body.clone(), "200 OK", 1),
		};
		assert_eq!(cache.get(&artifact).await.expect("fetch"), (body.clone(), false));

		let tampered = ArtifactRef {
			hash: [7; 32],
			size: body.len() as u64,
			uri: serve(body.clone(), "200 OK", 1),
		};
		assert!(matches!(cache.get(&tampered).await, Err(FetchError::Mismatch(_))));
		let missing =
			ArtifactRef { hash: [8; 32], size: 3, uri: serve(Vec::new(), "404 Not Found", 1) };
		assert!(matches!(cache.get(&missing).await, Err(FetchError::Unavailable(_))));
	}

	#[tokio::test]
	async fn the_least_recently_used_artifact_is_evicted_first() {
		let dir = temp_dir("evict");
		let cache = local_cache(&dir.0.join("cache"), 25);
		let a = artifact_file(&dir.0, "a", &[1; 10]);
		let b = artifact_file(&dir.0, "b", &[2; 10]);
		let c = artifact_file(&dir.0, "c", &[3; 10]);
		cache.get(&a).await.expect("a");
		cache.get(&b).await.expect("b");
		cache.get(&a).await.expect("a again");
		cache.get(&c).await.expect("c");
		assert!(cache.contains(&a.hash) && cache.contains(&c.hash));
		assert!(!cache.contains(&b.hash), "b was used least recently");
		assert_eq!(cache.bytes(), 20);
		assert!(!dir.0.join("cache").join(format!("{}.onnx", hex(&b.hash))).exists());
		let big = artifact_file(&dir.0, "big", &[4; 30]);
		assert!(matches!(cache.get(&big).await, Err(FetchError::Unavailable(_))));
	}
}

//! A small HTTP/1.1 `GET` client for artifact downloads: plain TCP or TLS (rustls, the
//! platform's certificate verifier), `Content-Length`, chunked or read-to-close bodies, and up
//! to five redirects. The body streams into a callback, so a download is checked as it arrives
//! and never held whole in memory.

use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Most bytes of a response head.
const MAX_HEAD: usize = 64 * 1024;
/// Most redirects followed.
const MAX_REDIRECTS: usize = 5;

/// A parsed `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
	/// `https`.
	pub tls: bool,
	/// Host name or address (IPv6 without brackets).
	pub host: String,
	/// Port.
	pub port: u16,
	/// Path and query, starting with `/`.
	pub path: String,
}

impl Url {
	/// Parses an absolute HTTP(S) URL.
	pub fn parse(text: &str) -> Result<Self, String> {
		let (tls, rest) = if let Some(rest) = text.strip_prefix("https://") {
			(true, rest)
		} else if let Some(rest) = text.strip_prefix("http://") {
			(false, rest)
		} else {
			return Err(format!("{text}: not an http(s) URL"));
		};
		let (authority, path) = match rest.find(['/', '?']) {
			Some(at) => (&rest[..at], rest[at..].to_string()),
			None => (rest, "/".to_string()),
		};
		let path = if path.starts_with('?') { format!("/{path}") } else { path };
		let path = path.split('#').next().unwrap_or("/").to_string();
		if authority.contains('@') {
			return Err(format!("{text}: credentials in URLs are not supported"));
		}
		let default_port = if tls { 443 } else { 80 };
		let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
			let (host, after) =
				bracketed.split_once(']').ok_or_else(|| format!("{text}: bad IPv6 host"))?;
			let port = match after.strip_prefix(':') {
				Some(port) => port.parse().map_err(|_| format!("{text}: bad port"))?,
				None => default_port,
			};
			(host.to_string(), port)
		} else {
			match authority.rsplit_once(':') {
				Some((host, port)) => {
					(host.to_string(), port.parse().map_err(|_| format!("{text}: bad port"))?)
				},
				None => (authority.to_string(), default_port),
			}
		};
		if host.is_empty() {
			return Err(format!("{text}: no host"));
		}
		Ok(Self { tls, host, port, path })
	}

	fn host_header(&self) -> String {
		let host =
			if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
		if self.port == if self.tls { 443 } else { 80 } {
			host
		} else {
			format!("{host}:{}", self.port)
		}
	}

	/// Resolves a `Location` header against this URL.
	fn join(&self, location: &str) -> Result<Self, String> {
		if location.starts_with("http://") || location.starts_with("https://") {
			return Self::parse(location);
		}
		if !location.starts_with('/') {
			return Err(format!("unsupported relative redirect {location:?}"));
		}
		Ok(Self { path: location.to_string(), ..self.clone() })
	}
}

/// Where a response sends the client next.
enum Answer {
	Done,
	Redirect(String),
}

/// Whether `ip` is a public address: not loopback, private, shared, link-local, unspecified,
/// multicast, broadcast, documentation, benchmarking or reserved (IPv4-mapped IPv6 addresses
/// are judged as IPv4).
pub fn is_public(ip: std::net::IpAddr) -> bool {
	use std::net::IpAddr;
	match ip {
		IpAddr::V4(v4) => {
			let [a, b, c, _] = v4.octets();
			!(v4.is_loopback()
				|| v4.is_private()
				|| v4.is_link_local()
				|| v4.is_unspecified()
				|| v4.is_broadcast()
				|| v4.is_multicast()
				|| v4.is_documentation()
				|| a == 0 || (a == 100 && (64..128).contains(&b))
				|| (a == 192 && b == 0 && c == 0)
				|| (a == 198 && (18..20).contains(&b))
				|| a >= 240)
		},
		IpAddr::V6(v6) => {
			if let Some(v4) = v6.to_ipv4_mapped() {
				return is_public(IpAddr::V4(v4));
			}
			let first = v6.segments()[0];
			!(v6.is_loopback()
				|| v6.is_unspecified()
				|| v6.is_multicast()
				|| (first & 0xfe00) == 0xfc00
				|| (first & 0xffc0) == 0xfe80
				|| (first == 0x2001 && v6.segments()[1] == 0x0db8))
		},
	}
}

/// Connects to `url`'s host: to the first of its addresses, each of which must be public
/// unless `allow_private` (checked on the resolved addresses that are then used, so a name
/// cannot resolve to a public address for the check and a private one for the connection).
async fn connect(url: &Url, allow_private: bool) -> Result<tokio::net::TcpStream, String> {
	let target = format!("{}:{}", url.host, url.port);
	let addresses: Vec<std::net::SocketAddr> =
		tokio::net::lookup_host((url.host.as_str(), url.port))
			.await
			.map_err(|error| format!("resolving {target}: {error}"))?
			.collect();
	if !allow_private {
		if let Some(private) = addresses.iter().find(|address| !is_public(address.ip())) {
			return Err(format!(
				"{target} resolves to the private address {}: refused without \
				 --allow-private-artifacts",
				private.ip()
			));
		}
	}
	let mut last = format!("{target}: no address");
	for address in addresses {
		match tokio::net::TcpStream::connect(address).await {
			Ok(stream) => return Ok(stream),
			Err(error) => last = format!("connecting to {target} ({address}): {error}"),
		}
	}
	Err(last)
}

/// Fetches `url`, passing the body to `sink` piece by piece; hosts (redirects included) must
/// resolve to public addresses unless `allow_private`.
pub async fn get(
	url: &str,
	allow_private: bool,
	sink: &mut (dyn FnMut(&[u8]) -> Result<(), String> + Send),
) -> Result<(), String> {
	let mut url = Url::parse(url)?;
	for _ in 0..=MAX_REDIRECTS {
		let tcp = connect(&url, allow_private).await?;
		let answer = if url.tls {
			let config = tls_config()?;
			let name = rustls::pki_types::ServerName::try_from(url.host.clone())
				.map_err(|error| format!("{}: {error}", url.host))?;
			let stream = tokio_rustls::TlsConnector::from(config)
				.connect(name, tcp)
				.await
				.map_err(|error| format!("TLS with {}: {error}", url.host))?;
			exchange(stream, &url, sink).await?
		} else {
			exchange(tcp, &url, sink).await?
		};
		match answer {
			Answer::Done => return Ok(()),
			Answer::Redirect(location) => url = url.join(&location)?,
		}
	}
	Err(format!("more than {MAX_REDIRECTS} redirects"))
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
	use rustls_platform_verifier::BuilderVerifierExt;
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let config = rustls::ClientConfig::builder_with_provider(provider)
		.with_safe_default_protocol_versions()
		.map_err(|error| format!("TLS set-up: {error}"))?
		.with_platform_verifier()
		.with_no_client_auth();
	Ok(Arc::new(config))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
	mut stream: S,
	url: &Url,
	sink: &mut (dyn FnMut(&[u8]) -> Result<(), String> + Send),
) -> Result<Answer, String> {
	let request = format!(
		"GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: modelhub-worker\r\nAccept: */*\r\nConnection: close\r\n\r\n",
		url.path,
		url.host_header()
	);
	stream.write_all(request.as_bytes()).await.map_err(|error| format!("sending: {error}"))?;
	let mut reader = BufReader::new(stream);

	let mut status_line = String::new();
	read_line(&mut reader, &mut status_line).await?;
	let status: u16 = status_line
		.split_whitespace()
		.nth(1)
		.and_then(|code| code.parse().ok())
		.ok_or_else(|| format!("not an HTTP response: {:?}", status_line.trim_end()))?;
	let mut head = status_line.len();
	let (mut length, mut chunked, mut location) = (None::<u64>, false, None::<String>);
	loop {
		let mut line = String::new();
		read_line(&mut reader, &mut line).await?;
		head += line.len();
		if head > MAX_HEAD {
			return Err("response head too large".into());
		}
		let line = line.trim_end();
		if line.is_empty() {
			break;
		}
		let Some((name, value)) = line.split_once(':') else { continue };
		let value = value.trim();
		match name.trim().to_ascii_lowercase().as_str() {
			"content-length" => {
				length = Some(value.parse().map_err(|_| format!("bad Content-Length {value:?}"))?)
			},
			"transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
			"location" => location = Some(value.to_string()),
			_ => {},
		}
	}
	if (300..400).contains(&status) {
		if let Some(location) = location {
			return Ok(Answer::Redirect(location));
		}
	}
	if !(200..300).contains(&status) {
		return Err(format!("HTTP {}", status_line.trim_end()));
	}
	let mut buffer = vec![0u8; 64 * 1024];
	if chunked {
		loop {
			let mut size_line = String::new();
			read_line(&mut reader, &mut size_line).await?;
			let size_text = size_line.trim_end().split(';').next().unwrap_or("").trim();
			let size = u64::from_str_radix(size_text, 16)
				.map_err(|_| format!("bad chunk size {size_text:?}"))?;
			if size == 0 {
				break;
			}
			copy_exact(&mut reader, size, &mut buffer, sink).await?;
			let mut crlf = String::new();
			read_line(&mut reader, &mut crlf).await?;
		}
	} else if let Some(length) = length {
		copy_exact(&mut reader, length, &mut buffer, sink).await?;
	} else {
		loop {
			let read =
				reader.read(&mut buffer).await.map_err(|error| format!("reading: {error}"))?;
			if read == 0 {
				break;
			}
			sink(&buffer[..read])?;
		}
	}
	Ok(Answer::Done)
}

async fn read_line<R: AsyncBufReadExt + Unpin>(
	reader: &mut R,
	line: &mut String,
) -> Result<(), String> {
	let mut bytes = Vec::new();
	let mut limited = reader.take(MAX_HEAD as u64);
	let read =
		limited.read_until(b'\n', &mut bytes).await.map_err(|error| format!("reading: {error}"))?;
	if read == 0 {
		return Err("the connection closed early".into());
	}
	line.push_str(&String::from_utf8_lossy(&bytes));
	Ok(())
}

async fn copy_exact<R: AsyncRead + Unpin>(
	reader: &mut R,
	mut remaining: u64,
	buffer: &mut [u8],
	sink: &mut (dyn FnMut(&[u8]) -> Result<(), String> + Send),
) -> Result<(), String> {
	while remaining > 0 {
		let want = buffer.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
		let read =
			reader.read(&mut buffer[..want]).await.map_err(|error| format!("reading: {error}"))?;
		if read == 0 {
			return Err(format!("the body ended {remaining} bytes early"));
		}
		sink(&buffer[..read])?;
		remaining -= read as u64;
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn urls_parse_with_defaults_ports_and_ipv6() {
		let url = Url::parse("https://models.example/a/b.onnx?v=1#x").expect("url");
		assert_eq!(
			url,
			Url {
				tls: true,
				host: "models.example".into(),
				port: 443,
				path: "/a/b.onnx?v=1".into()
			}
		);
		let url = Url::parse("http://127.0.0.1:8080").expect("url");
		assert_eq!(
			(url.port, url.path.as_str(), url.host_header()),
			(8080, "/", "127.0.0.1:8080".into())
		);
		let url = Url::parse("http://[::1]:9/m").expect("url");
		assert_eq!((url.host.as_str(), url.port, url.host_header()), ("::1", 9, "[::1]:9".into()));
		for bad in ["ftp://x/y", "http://", "http://u:p@host/", "http://host:port/"] {
			assert!(Url::parse(bad).is_err(), "{bad}");
		}
		let joined = Url::parse("http://h:1/a").expect("url").join("/b").expect("join");
		assert_eq!((joined.host.as_str(), joined.port, joined.path.as_str()), ("h", 1, "/b"));
	}

	#[test]
	fn only_public_addresses_are_public() {
		for private in [
			"127.0.0.1",
			"10.1.2.3",
			"172.16.0.1",
			"192.168.1.1",
			"169.254.169.254",
			"100.64.0.1",
			"0.0.0.0",
			"224.0.0.1",
			"255.255.255.255",
			"198.18.0.1",
			"::1",
			"::",
			"fd00::1",
			"fe80::1",
			"::ffff:127.0.0.1",
			"::ffff:10.0.0.1",
			"2001:db8::1",
		] {
			assert!(!is_public(private.parse().expect("ip")), "{private}");
		}
		for public in ["1.1.1.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"] {
			assert!(is_public(public.parse().expect("ip")), "{public}");
		}
	}

	#[tokio::test]
	async fn private_hosts_are_refused_unless_allowed() {
		let address = serve(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()]);
		let url = format!("http://localhost:{}/model.onnx", address.port());
		let refused = get(&url, false, &mut |_| Ok(())).await.err().unwrap_or_default();
		assert!(refused.contains("private address"), "{refused}");
		let url = format!("http://{address}/model.onnx");
		assert_eq!(fetch(&url).await.as_deref(), Ok(&b"ok"[..]));
	}

	/// Serves one scripted response per connection on 127.0.0.1.
	fn serve(responses: Vec<Vec<u8>>) -> std::net::SocketAddr {
		use std::io::{BufRead, Write};
		let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
		let address = listener.local_addr().expect("address");
		std::thread::spawn(move || {
			for (stream, response) in listener.incoming().zip(responses) {
				let Ok(mut stream) = stream else { continue };
				let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
				let mut line = String::new();
				while reader.read_line(&mut line).map(|read| read > 2).unwrap_or(false) {
					line.clear();
				}
				let _ = stream.write_all(&response);
			}
		});
		address
	}

	async fn fetch(url: &str) -> Result<Vec<u8>, String> {
		let mut body = Vec::new();
		get(url, true, &mut |bytes| {
			body.extend_from_slice(bytes);
			Ok(())
		})
		.await?;
		Ok(body)
	}

	#[tokio::test]
	async fn bodies_by_length_chunks_close_and_redirect() {
		let address = serve(vec![
			b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello-extra".to_vec(),
			b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
				.to_vec(),
			b"HTTP/1.0 200 OK\r\n\r\nuntil close".to_vec(),
			b"HTTP/1.1 302 Found\r\nLocation: /moved\r\nContent-Length: 0\r\n\r\n".to_vec(),
			b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nmoved".to_vec(),
			b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
			b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec(),
		]);
		let url = format!("http://{address}/model.onnx");
		assert_eq!(fetch(&url).await.as_deref(), Ok(&b"hello"[..]));
		assert_eq!(fetch(&url).await.as_deref(), Ok(&b"abcde"[..]));
		assert_eq!(fetch(&url).await.as_deref(), Ok(&b"until close"[..]));
		assert_eq!(fetch(&url).await.as_deref(), Ok(&b"moved"[..]));
		assert!(fetch(&url).await.err().is_some_and(|error| error.contains("404")));
		assert!(fetch(&url).await.err().is_some_and(|error| error.contains("early")));
	}

	#[tokio::test]
	async fn a_refused_connection_is_an_error() {
		let port = std::net::TcpListener::bind("127.0.0.1:0")
			.and_then(|listener| listener.local_addr())
			.expect("port")
			.port();
		assert!(fetch(&format!("http://127.0.0.1:{port}/m")).await.is_err());
	}
}

//! Artifact downloads over HTTP(S), on `reqwest` with rustls and the platform's certificate
//! verifier: connect and read timeouts, up to five redirects, the operator's proxy settings
//! (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`), and the body streamed into a callback, so a
//! download is checked as it arrives and never held whole in memory.
//!
//! Unless private addresses are allowed, every host, redirects included, must be public: a name
//! is resolved by [`PublicOnly`], which refuses it if any of its addresses is not public, and
//! the connection goes to the addresses checked; an address written in the URL is checked as it
//! is. (Through a proxy, the proxy resolves the name and decides what it reaches.)

use std::{net::SocketAddr, sync::Arc, time::Duration};

use reqwest::{
	dns::{Addrs, Name, Resolve, Resolving},
	redirect::Policy,
	Url,
};

/// Most redirects followed.
const MAX_REDIRECTS: usize = 5;
/// Longest wait for a connection (TCP and TLS).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for the next bytes of a response.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a private address is refused.
fn refused(host: &str, ip: std::net::IpAddr) -> String {
	format!("{host} is the private address {ip}: refused without --allow-private-artifacts")
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

/// Resolves names, refusing those with a non-public address.
struct PublicOnly;

impl Resolve for PublicOnly {
	fn resolve(&self, name: Name) -> Resolving {
		Box::pin(async move {
			let host = name.as_str().to_string();
			let addresses: Vec<SocketAddr> =
				tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
			if let Some(private) = addresses.iter().find(|address| !is_public(address.ip())) {
				let why = format!(
					"{host} resolves to the private address {}: refused without \
					 --allow-private-artifacts",
					private.ip()
				);
				return Err(why.into());
			}
			let addresses: Addrs = Box::new(addresses.into_iter());
			Ok(addresses)
		})
	}
}

/// The address written in `url`, if it is one and private while those are not allowed.
fn check_literal(url: &Url, allow_private: bool) -> Result<(), String> {
	let ip = match url.host() {
		Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
		Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
		_ => return Ok(()),
	};
	if allow_private || is_public(ip) {
		Ok(())
	} else {
		Err(refused(&ip.to_string(), ip))
	}
}

/// The client for one download.
fn client(allow_private: bool) -> Result<reqwest::Client, String> {
	let redirects = Policy::custom(move |attempt| {
		if attempt.previous().len() > MAX_REDIRECTS {
			return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
		}
		match check_literal(attempt.url(), allow_private) {
			Ok(()) => attempt.follow(),
			Err(why) => attempt.error(why),
		}
	});
	let mut builder = reqwest::Client::builder()
		.user_agent("modelhub-worker")
		.connect_timeout(CONNECT_TIMEOUT)
		.read_timeout(READ_TIMEOUT)
		.redirect(redirects)
		.pool_max_idle_per_host(0)
		.use_preconfigured_tls(tls_config()?);
	if !allow_private {
		builder = builder.dns_resolver(Arc::new(PublicOnly));
	}
	builder.build().map_err(|error| describe(&error))
}

/// An error with its causes, which say what actually went wrong.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
	let mut text = error.to_string();
	let mut source = error.source();
	while let Some(cause) = source {
		let cause_text = cause.to_string();
		if !text.contains(&cause_text) {
			text = format!("{text}: {cause_text}");
		}
		source = cause.source();
	}
	text
}

/// Fetches `url`, passing the body to `sink` piece by piece; hosts (redirects included) must
/// be public unless `allow_private`.
pub async fn get(
	url: &str,
	allow_private: bool,
	sink: &mut (dyn FnMut(&[u8]) -> Result<(), String> + Send),
) -> Result<(), String> {
	let url = Url::parse(url).map_err(|error| format!("{url}: {error}"))?;
	if !matches!(url.scheme(), "http" | "https") {
		return Err(format!("{url}: not an http(s) URL"));
	}
	if !url.username().is_empty() || url.password().is_some() {
		return Err(format!("{url}: credentials in URLs are not supported"));
	}
	check_literal(&url, allow_private)?;
	let mut response =
		client(allow_private)?.get(url).send().await.map_err(|error| describe(&error))?;
	let status = response.status();
	if !status.is_success() {
		return Err(format!("HTTP {status}"));
	}
	while let Some(chunk) = response.chunk().await.map_err(|error| describe(&error))? {
		sink(&chunk)?;
	}
	Ok(())
}

fn tls_config() -> Result<rustls::ClientConfig, String> {
	use rustls_platform_verifier::BuilderVerifierExt;
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let config = rustls::ClientConfig::builder_with_provider(provider)
		.with_safe_default_protocol_versions()
		.map_err(|error| format!("TLS set-up: {error}"))?
		.with_platform_verifier()
		.with_no_client_auth();
	Ok(config)
}

#[cfg(test)]
mod tests {
	use super::*;

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
		// An address written in the URL, and a redirect to one, are refused too.
		let url = format!("http://{address}/model.onnx");
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
		let early = fetch(&url).await.err().unwrap_or_default();
		assert!(!early.is_empty(), "a body shorter than its length is an error");
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

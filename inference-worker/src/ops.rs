//! The worker's HTTP endpoints for operators, on the `--prometheus` address:
//!
//! - `/metrics`: the Prometheus metrics ([`crate::metrics`]);
//! - `/health`: liveness. `200` whenever the process answers, with a JSON body saying whether it
//!   is connected, draining, and how long ago it last saw a block;
//! - `/ready`: whether the worker is serving jobs: `200` while it is connected, not draining,
//!   and has seen a block within [`STALE_AFTER`]; `503` with the reason otherwise.

use std::{
	net::SocketAddr,
	sync::atomic::{AtomicBool, AtomicU64, Ordering},
	time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::{body::Bytes, header::CONTENT_TYPE, Request, Response, StatusCode};
use substrate_prometheus_endpoint::{
	prometheus::{Encoder, TextEncoder},
	Registry,
};

/// How long without a new block before the worker stops calling itself ready.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// What the endpoints report, kept up to date by the job loop.
#[derive(Default)]
pub struct Status {
	connected: AtomicBool,
	draining: AtomicBool,
	/// Milliseconds since the Unix epoch at the last block seen; 0 before the first.
	last_block_at: AtomicU64,
	/// Number of the last block seen.
	block: AtomicU64,
}

fn now_ms() -> u64 {
	SystemTime::now()
		.duration_since(UNIX_EPOCH)
		.map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
		.unwrap_or(0)
}

impl Status {
	/// Records whether the worker holds a connection to its node.
	pub fn set_connected(&self, connected: bool) {
		self.connected.store(connected, Ordering::Relaxed);
	}

	/// Records that the worker is draining.
	pub fn set_draining(&self) {
		self.draining.store(true, Ordering::Relaxed);
	}

	/// Records a block seen now.
	pub fn saw_block(&self, number: u64) {
		self.block.store(number, Ordering::Relaxed);
		self.last_block_at.store(now_ms(), Ordering::Relaxed);
	}

	/// Time since the last block seen, if any.
	fn since_block(&self, now: u64) -> Option<Duration> {
		match self.last_block_at.load(Ordering::Relaxed) {
			0 => None,
			at => Some(Duration::from_millis(now.saturating_sub(at))),
		}
	}

	/// Why the worker is not ready, or `None` if it is.
	pub fn not_ready(&self, now: u64) -> Option<&'static str> {
		if self.draining.load(Ordering::Relaxed) {
			return Some("draining");
		}
		if !self.connected.load(Ordering::Relaxed) {
			return Some("not connected to the node");
		}
		match self.since_block(now) {
			None => Some("no block seen yet"),
			Some(since) if since > STALE_AFTER => Some("no new block for over a minute"),
			Some(_) => None,
		}
	}

	/// The JSON both endpoints answer with.
	fn report(&self, now: u64) -> serde_json::Value {
		serde_json::json!({
			"connected": self.connected.load(Ordering::Relaxed),
			"draining": self.draining.load(Ordering::Relaxed),
			"block": self.block.load(Ordering::Relaxed),
			"secondsSinceBlock": self.since_block(now).map(|since| since.as_secs_f64()),
			"ready": self.not_ready(now).is_none(),
			"reason": self.not_ready(now),
		})
	}
}

type Body = Full<Bytes>;

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Body> {
	let mut response = Response::new(Body::from(body));
	*response.status_mut() = status;
	if let Ok(value) = content_type.parse() {
		response.headers_mut().insert(CONTENT_TYPE, value);
	}
	response
}

/// The answer to one request.
fn answer(path: &str, registry: &Registry, status: &Status) -> Response<Body> {
	let now = now_ms();
	let json = |code, value: serde_json::Value| {
		respond(code, "application/json", value.to_string().into_bytes())
	};
	match path {
		"/metrics" => {
			let encoder = TextEncoder::new();
			let mut buffer = Vec::new();
			match encoder.encode(&registry.gather(), &mut buffer) {
				Ok(()) => respond(StatusCode::OK, encoder.format_type(), buffer),
				Err(error) => respond(
					StatusCode::INTERNAL_SERVER_ERROR,
					"text/plain",
					error.to_string().into_bytes(),
				),
			}
		},
		"/health" => json(StatusCode::OK, status.report(now)),
		"/ready" => {
			let code = if status.not_ready(now).is_none() {
				StatusCode::OK
			} else {
				StatusCode::SERVICE_UNAVAILABLE
			};
			json(code, status.report(now))
		},
		_ => respond(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec()),
	}
}

/// Serves the endpoints on `address` until the process ends.
pub async fn serve(
	address: SocketAddr,
	registry: Registry,
	status: std::sync::Arc<Status>,
) -> Result<()> {
	let listener = tokio::net::TcpListener::bind(address)
		.await
		.with_context(|| format!("binding {address}"))?;
	let server = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
	loop {
		let (socket, _) = match listener.accept().await {
			Ok(accepted) => accepted,
			Err(error) => {
				tracing::debug!("accepting a connection: {error}");
				continue;
			},
		};
		let (registry, status) = (registry.clone(), status.clone());
		let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
			let response = answer(request.uri().path(), &registry, &status);
			async move { Ok::<_, std::convert::Infallible>(response) }
		});
		let connection =
			server.serve_connection(hyper_util::rt::TokioIo::new(socket), service).into_owned();
		tokio::spawn(async move {
			if let Err(error) = connection.await {
				tracing::debug!("serving an operator request: {error}");
			}
		});
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn ready_only_while_connected_following_blocks_and_not_draining() {
		let status = Status::default();
		let now = now_ms();
		assert_eq!(status.not_ready(now), Some("not connected to the node"));
		status.set_connected(true);
		assert_eq!(status.not_ready(now), Some("no block seen yet"));
		status.saw_block(7);
		assert_eq!(status.not_ready(now_ms()), None);
		let later = now_ms() + STALE_AFTER.as_millis() as u64 + 1_000;
		assert_eq!(status.not_ready(later), Some("no new block for over a minute"));
		status.set_draining();
		assert_eq!(status.not_ready(now_ms()), Some("draining"));

		let registry = Registry::new();
		assert_eq!(answer("/ready", &registry, &status).status(), StatusCode::SERVICE_UNAVAILABLE);
		assert_eq!(answer("/health", &registry, &status).status(), StatusCode::OK);
		assert_eq!(answer("/metrics", &registry, &status).status(), StatusCode::OK);
		assert_eq!(answer("/other", &registry, &status).status(), StatusCode::NOT_FOUND);
		let report = status.report(now_ms());
		assert_eq!((report["block"].as_u64(), report["draining"].as_bool()), (Some(7), Some(true)));
	}
}

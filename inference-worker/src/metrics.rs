//! Prometheus metrics of a running worker, served at `/metrics`.

use anyhow::{anyhow, Result};
use substrate_prometheus_endpoint::{
	exponential_buckets, register, CounterVec, Gauge, Histogram, HistogramOpts, HistogramVec, Opts,
	Registry, U64,
};

/// Every metric the worker keeps.
#[derive(Clone)]
pub struct Metrics {
	/// Jobs by what happened to them: `submitted`, `committed`, `revealed`, `failure_reported`,
	/// `submit_error`, and, once ended on chain, `settled`, `outvoted` or `refunded`.
	pub jobs: CounterVec<U64>,
	/// Seconds ONNX Runtime spent running a job (one series: per-model figures would make a
	/// label value of every model ever run).
	pub execution_seconds: Histogram,
	/// Seconds from seeing a job to its transaction entering the pool, by action.
	pub job_seconds: HistogramVec,
	/// Artifact and session cache look-ups, by cache (`artifact`, `session`) and `hit`/`miss`.
	pub cache: CounterVec<U64>,
	/// Jobs waiting for a free executor.
	pub queue_depth: Gauge<U64>,
	/// Jobs being executed.
	pub running: Gauge<U64>,
}

impl Metrics {
	/// Creates the metrics and registers them in `registry`.
	pub fn new(registry: &Registry) -> Result<Self> {
		let error = |error| anyhow!("registering metrics: {error}");
		let latency = exponential_buckets(0.001, 2.0, 18).map_err(error)?;
		Ok(Self {
			jobs: register(
				CounterVec::new(
					Opts::new("modelhub_worker_jobs_total", "Jobs by outcome"),
					&["outcome"],
				)
				.map_err(error)?,
				registry,
			)
			.map_err(error)?,
			execution_seconds: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"modelhub_worker_execution_seconds",
						"ONNX Runtime execution time per job",
					)
					.buckets(latency.clone()),
				)
				.map_err(error)?,
				registry,
			)
			.map_err(error)?,
			job_seconds: register(
				HistogramVec::new(
					HistogramOpts::new(
						"modelhub_worker_job_seconds",
						"Time from seeing a job to submitting its transaction",
					)
					.buckets(latency),
					&["action"],
				)
				.map_err(error)?,
				registry,
			)
			.map_err(error)?,
			cache: register(
				CounterVec::new(
					Opts::new("modelhub_worker_cache_lookups_total", "Cache look-ups"),
					&["cache", "result"],
				)
				.map_err(error)?,
				registry,
			)
			.map_err(error)?,
			queue_depth: register(
				Gauge::new("modelhub_worker_queue_depth", "Jobs waiting for an executor")
					.map_err(error)?,
				registry,
			)
			.map_err(error)?,
			running: register(
				Gauge::new("modelhub_worker_running_jobs", "Jobs being executed").map_err(error)?,
				registry,
			)
			.map_err(error)?,
		})
	}

	/// Counts one job outcome.
	pub fn job(&self, outcome: &str) {
		self.jobs.with_label_values(&[outcome]).inc();
	}

	/// Counts one cache look-up.
	pub fn cache(&self, cache: &str, hit: bool) {
		self.cache.with_label_values(&[cache, if hit { "hit" } else { "miss" }]).inc();
	}
}

//! How fast the index answers the explorer's pages on a large market, and how big it grows.
//!
//! Fills an index on disk with `--models` models (default 100,000) and `--calls` settled calls
//! (default 1,000,000) spread over `--days` days (default 30) of 6-second blocks, the calls
//! drawn from a Zipf law of `--exponent` (default 1.0) over the models, each an on-chain
//! request paid by one of `--payers` accounts and served by one of `--workers` workers; then
//! times each query a page of the explorer makes (`--runs` times, default 5) and prints the
//! median and the slowest against the 200 ms target, and the index's size on disk.
//!
//! `cargo bench -p modelhub-index --bench explorer -- --models 100000 --calls 1000000`

use std::time::{Duration, Instant};

use modelhub_index::{
	ss58, Bound, CatalogOrder, HubEvent, Index, IndexedBlock, ModelState, ModelTerms, Window,
};

const BLOCK_MS: u64 = 6_000;
const BLOCKS_PER_DAY: u32 = 14_400;
/// 2026-11-01 00:00 UTC.
const START: u64 = 1_793_491_200_000;
const OPG: u128 = 1_000_000_000_000_000_000;
const TARGET: Duration = Duration::from_millis(200);

struct Options {
	models: u64,
	calls: u64,
	days: u32,
	exponent: f64,
	payers: u64,
	workers: u64,
	runs: usize,
}

fn options() -> Options {
	let mut options = Options {
		models: 100_000,
		calls: 1_000_000,
		days: 30,
		exponent: 1.0,
		payers: 10_000,
		workers: 50,
		runs: 5,
	};
	let args: Vec<String> = std::env::args().skip(1).collect();
	let mut i = 0;
	while i < args.len() {
		let value = args.get(i + 1).cloned().unwrap_or_default();
		let number =
			|| value.parse::<u64>().unwrap_or_else(|_| panic!("{} takes a number", args[i]));
		match args[i].as_str() {
			"--models" => options.models = number(),
			"--calls" => options.calls = number(),
			"--days" => options.days = number() as u32,
			"--exponent" => options.exponent = value.parse().expect("--exponent takes a number"),
			"--payers" => options.payers = number(),
			"--workers" => options.workers = number(),
			"--runs" => options.runs = number() as usize,
			// cargo bench passes `--bench`.
			_ => {
				i += 1;
				continue;
			},
		}
		i += 2;
	}
	options
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
		let mut z = self.0;
		z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
		z ^ (z >> 31)
	}

	fn unit(&mut self) -> f64 {
		(self.next() >> 11) as f64 / (1u64 << 53) as f64
	}
}

fn account(kind: u8, n: u64) -> [u8; 32] {
	let mut account = [kind; 32];
	account[..8].copy_from_slice(&n.to_le_bytes());
	account
}

fn owner(model: u64) -> [u8; 32] {
	account(1, model / 10)
}

fn fill(index: &mut Index, options: &Options) -> Duration {
	let started = Instant::now();
	let mut rng = Rng(42);
	// Zipf: the model of rank r (from 1) is called with weight r^-s.
	let mut cumulative = Vec::with_capacity(options.models as usize);
	let mut total = 0.0;
	for rank in 1..=options.models {
		total += (rank as f64).powf(-options.exponent);
		cumulative.push(total);
	}
	// Ranks are shuffled over ids so that the most called models are not the first published.
	let mut ids: Vec<u64> = (0..options.models).collect();
	for i in (1..ids.len()).rev() {
		let j = (rng.next() % (i as u64 + 1)) as usize;
		ids.swap(i, j);
	}
	let blocks = options.days * BLOCKS_PER_DAY;
	let publish_blocks = 100u32.min(blocks);
	let per_block = options.models.div_ceil(u64::from(publish_blocks));
	let mut call_blocks: Vec<u32> = (0..options.calls)
		.map(|_| publish_blocks + 1 + (rng.next() % u64::from(blocks - publish_blocks)) as u32)
		.collect();
	call_blocks.sort_unstable();
	let mut next_call = 0usize;
	let mut batch = Vec::with_capacity(10_000);
	for number in 1..=blocks {
		let mut events = Vec::new();
		if number <= publish_blocks {
			let first = u64::from(number - 1) * per_block;
			for id in first..(first + per_block).min(options.models) {
				let price = OPG / 100 * (1 + id % 20) as u128;
				events.push(HubEvent::ModelChanged(ModelTerms {
					id,
					owner: owner(id),
					name: format!("model {id}"),
					description: format!("A sample model number {id} for the benchmark"),
					price,
					state: ModelState::Active,
					version: 1,
					parent: (id % 7 == 0 && id > 0).then(|| id - 1),
					created: number,
					split: vec![(owner(id), 1_000_000_000)],
				}));
				events.push(HubEvent::VersionPublished {
					model: id,
					version: 1,
					artifact_hash: [3; 32],
				});
			}
		}
		while call_blocks.get(next_call) == Some(&number) {
			next_call += 1;
			let draw = rng.unit() * total;
			let rank = cumulative.partition_point(|c| *c < draw).min(ids.len() - 1);
			let model = ids[rank];
			let royalty = OPG / 100 * (1 + model % 20) as u128;
			let pay = OPG / 1_000;
			let payer = account(2, rng.next() % options.payers);
			let worker = account(3, rng.next() % options.workers);
			events.push(HubEvent::CallsSettled {
				model,
				payer,
				calls: 1,
				fee: royalty + 2 * pay,
				royalty,
			});
			events.push(HubEvent::RequestSettled {
				workers: vec![worker],
				payouts: vec![(owner(model), royalty), (worker, pay), (account(4, 0), pay)],
			});
		}
		batch.push(IndexedBlock {
			number,
			hash: [0; 32],
			timestamp: START + u64::from(number) * BLOCK_MS,
			events,
		});
		if batch.len() == 10_000 {
			index.apply(&batch).expect("indexed");
			batch.clear();
		}
	}
	index.apply(&batch).expect("indexed");
	started.elapsed()
}

fn time<T>(runs: usize, mut query: impl FnMut() -> T) -> (Duration, Duration) {
	let mut times: Vec<Duration> = (0..runs.max(1))
		.map(|_| {
			let started = Instant::now();
			std::hint::black_box(query());
			started.elapsed()
		})
		.collect();
	times.sort();
	(times[times.len() / 2], *times.last().expect("one run"))
}

fn main() {
	let options = options();
	let dir = std::env::temp_dir().join(format!("modelhub-index-bench-{}", std::process::id()));
	std::fs::create_dir_all(&dir).expect("temporary folder");
	let path = dir.join("hub.sqlite");
	let mut index = Index::open(&path).expect("index");
	println!(
		"filling: {} models, {} calls over {} days of 6 s blocks (Zipf exponent {}), {} payers, {} workers",
		options.models, options.calls, options.days, options.exponent, options.payers, options.workers
	);
	let filled = fill(&mut index, &options);
	drop(index);
	let index = Index::open(&path).expect("index");
	let size = ["hub.sqlite", "hub.sqlite-wal"]
		.iter()
		.filter_map(|name| std::fs::metadata(dir.join(name)).ok())
		.map(|meta| meta.len())
		.sum::<u64>();
	let status = index.status().expect("status");
	println!(
		"indexed {} blocks in {:.1} s; {} calls; size on disk {:.1} MiB ({:.0} bytes per call)",
		status.indexed_block.unwrap_or(0),
		filled.as_secs_f64(),
		status.calls,
		size as f64 / 1_048_576.0,
		size as f64 / options.calls.max(1) as f64,
	);

	let catalog = index.models(None, CatalogOrder::Calls, 0, 20).expect("catalog");
	let top = catalog.models[0].id;
	let top_owner = catalog.models[0].owner.clone();
	let mid = index
		.models(None, CatalogOrder::Calls, (options.models / 2) as u32, 1)
		.expect("catalog")
		.models[0]
		.id;
	println!(
		"most called model: {} calls; median model: {} calls",
		catalog.models[0].calls,
		index.model(mid, &Window::default()).expect("model").map_or(0, |page| page.totals.calls)
	);
	let worker = ss58(&account(3, 0));
	let last_day =
		modelhub_index::day_of(START + u64::from(options.days * BLOCKS_PER_DAY) * BLOCK_MS);
	let week = Window {
		from: Some(Bound::Date(modelhub_index::format_day(last_day - 6))),
		to: Some(Bound::Date(modelhub_index::format_day(last_day))),
	};
	let cut = Window {
		from: Some(Bound::Block(BLOCKS_PER_DAY * 3 + 777)),
		to: Some(Bound::Block(BLOCKS_PER_DAY * 10 + 4_321)),
	};
	let all = Window::default();
	let runs = options.runs;
	let mut rows: Vec<(&str, (Duration, Duration))> = Vec::new();
	rows.push((
		"catalog: first page by calls",
		time(runs, || index.models(None, CatalogOrder::Calls, 0, 20)),
	));
	rows.push((
		"catalog: page 100 by revenue",
		time(runs, || index.models(None, CatalogOrder::Revenue, 2_000, 20)),
	));
	rows.push(("catalog: by price", time(runs, || index.models(None, CatalogOrder::Price, 0, 20))));
	rows.push(("catalog: newest", time(runs, || index.models(None, CatalogOrder::Newest, 0, 20))));
	rows.push((
		"catalog: search \"model 4242\"",
		time(runs, || index.models(Some("model 4242"), CatalogOrder::Calls, 0, 20)),
	));
	rows.push(("model page: most called, all time", time(runs, || index.model(top, &all))));
	rows.push(("model page: most called, last 7 days", time(runs, || index.model(top, &week))));
	rows.push(("model page: median model, all time", time(runs, || index.model(mid, &all))));
	rows.push((
		"uploader page: owner of the top model",
		time(runs, || index.uploader(&top_owner, &all)),
	));
	rows.push(("worker page: all time", time(runs, || index.worker(&worker, &all))));
	rows.push(("market page: all time", time(runs, || index.market(&all, 20))));
	rows.push(("market page: last 7 days", time(runs, || index.market(&week, 20))));
	rows.push(("market page: blocks cutting days", time(runs, || index.market(&cut, 20))));
	println!(
		"{:<42} {:>10} {:>10}  (target {} ms)",
		"query",
		"median ms",
		"max ms",
		TARGET.as_millis()
	);
	let mut over = 0;
	for (name, (median, max)) in &rows {
		let mark = if *max > TARGET {
			over += 1;
			"  over target"
		} else {
			""
		};
		println!(
			"{name:<42} {:>10.1} {:>10.1}{mark}",
			median.as_secs_f64() * 1e3,
			max.as_secs_f64() * 1e3
		);
	}
	println!("{} of {} queries within {} ms", rows.len() - over, rows.len(), TARGET.as_millis());
	let market = index.market(&all, 20).expect("market");
	println!(
		"market: {} calls, {} of {} models called, top-10 {:.3}, HHI {:.4}, Gini {:.3}, bottom 50% of royalties {:.4}, bottom 80% {:.4}",
		market.figures.calls,
		market.figures.models_called,
		market.models,
		market.figures.top10_share,
		market.figures.hhi,
		market.figures.gini,
		market.bottom50_royalty_share,
		market.bottom80_royalty_share
	);
	drop(index);
	let _ = std::fs::remove_dir_all(&dir);
}

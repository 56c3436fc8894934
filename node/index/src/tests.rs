use super::*;
use crate::date::DAY_MS;

/// 2026-11-01 00:00 UTC.
const START: u64 = 1_793_491_200_000;
const BLOCK_MS: u64 = 6_000;
const OPG: u128 = 1_000_000_000_000_000_000;

fn account(n: u8) -> Account {
	[n; 32]
}

fn terms(id: ModelId, owner: u8, name: &str, price: u128, created: BlockNumber) -> ModelTerms {
	ModelTerms {
		id,
		owner: account(owner),
		name: name.into(),
		description: format!("{name} description"),
		price,
		state: ModelState::Active,
		version: 1,
		parent: None,
		created,
		split: vec![(account(owner), 1_000_000_000)],
	}
}

fn block(number: BlockNumber, events: Vec<HubEvent>) -> IndexedBlock {
	IndexedBlock {
		number,
		hash: [number as u8; 32],
		timestamp: START + u64::from(number) * BLOCK_MS,
		events,
	}
}

fn calls(model: ModelId, payer: u8, calls: u64, fee: u128, royalty: u128) -> HubEvent {
	HubEvent::CallsSettled { model, payer: account(payer), calls, fee, royalty }
}

fn all() -> Window {
	Window::default()
}

fn blocks(from: BlockNumber, to: BlockNumber) -> Window {
	Window { from: Some(Bound::Block(from)), to: Some(Bound::Block(to)) }
}

/// Blocks per day at 6 s.
const DAY: BlockNumber = (DAY_MS / BLOCK_MS) as BlockNumber;

#[test]
fn dates_round_trip_and_bad_dates_are_refused() {
	for day in [-1, 0, 59, 365, 10_956, 20_758, 20_759, 47_482] {
		assert_eq!(parse_day(&format_day(day)).unwrap(), day, "{}", format_day(day));
	}
	assert_eq!(format_day(0), "1970-01-01");
	assert_eq!(format_day(20_423), "2025-12-01");
	assert_eq!(parse_day("2024-02-29").unwrap(), 19_782);
	assert_eq!(crate::date::day_of(START), parse_day("2026-11-01").unwrap());
	for bad in
		["2025-02-29", "2025-13-01", "2025-1-01", "25-01-01", "2025-01-32", "x", "2025-01-0a"]
	{
		assert!(matches!(parse_day(bad), Err(Error::InvalidDate(_))), "{bad}");
	}
}

#[test]
fn blocks_must_follow_the_last_one_and_a_failed_batch_writes_nothing() {
	let mut index = Index::open_in_memory().unwrap();
	assert_eq!(index.indexed().unwrap(), None);
	index.apply(&[block(1, vec![HubEvent::ModelChanged(terms(0, 1, "a", OPG, 1))])]).unwrap();
	assert_eq!(index.indexed().unwrap(), Some((1, [1; 32])));
	let batch = [block(2, vec![calls(0, 9, 1, OPG, OPG)]), block(4, vec![])];
	assert!(matches!(index.apply(&batch), Err(Error::NotNextBlock { indexed: 2, given: 4 })));
	assert_eq!(index.indexed().unwrap(), Some((1, [1; 32])));
	assert_eq!(index.status().unwrap().calls, 0);
	// The payer interned in the failed batch is interned again.
	index.apply(&batch[..1]).unwrap();
	let page = index.model(0, &all()).unwrap().unwrap();
	assert_eq!(page.payers[0].account, ss58(&account(9)));
	assert_eq!(index.status().unwrap().calls, 1);
}

#[test]
fn balances_beyond_sixty_four_bits_add_up() {
	let mut index = Index::open_in_memory().unwrap();
	let big = u128::from(u64::MAX) * 3;
	index
		.apply(&[
			block(1, vec![HubEvent::ModelChanged(terms(0, 1, "a", big, 1))]),
			block(2, vec![calls(0, 9, 1, big, big - 1), calls(0, 8, 2, big, big)]),
		])
		.unwrap();
	let row = &index.models(None, CatalogOrder::Calls, 0, 10).unwrap().models[0];
	assert_eq!(
		(row.calls, row.fees, row.royalties, row.payers),
		(3, Amount(2 * big), Amount(2 * big - 1), 2)
	);
	assert_eq!(row.price, Amount(big));
	let market = index.market(&all(), 4).unwrap();
	assert_eq!(market.figures.royalties, Amount(2 * big - 1));
	assert_eq!(market.figures.fees, Amount(2 * big));
	let json = serde_json::to_value(&market).unwrap();
	assert_eq!(json["royalties"], serde_json::json!((2 * big - 1).to_string()));
}

#[test]
fn catalog_searches_sorts_and_pages() {
	let mut index = Index::open_in_memory().unwrap();
	let mut cheap = terms(1, 2, "Wine classifier", OPG / 10, 2);
	cheap.description = "Random forest on the UCI wine data".into();
	index
		.apply(&[
			block(1, vec![HubEvent::ModelChanged(terms(0, 1, "Digits 50%_off", OPG, 1))]),
			block(2, vec![HubEvent::ModelChanged(cheap)]),
			block(3, vec![HubEvent::ModelChanged(terms(2, 1, "Sentiment", 2 * OPG, 3))]),
			block(4, vec![calls(2, 9, 5, 10 * OPG, 5 * OPG), calls(0, 9, 7, 7 * OPG, 3 * OPG)]),
			block(5, vec![HubEvent::ModelRemoved { model: 1 }]),
		])
		.unwrap();
	let ids = |page: CatalogPage| page.models.iter().map(|m| m.id).collect::<Vec<_>>();
	assert_eq!(ids(index.models(None, CatalogOrder::Calls, 0, 10).unwrap()), [0, 2]);
	assert_eq!(ids(index.models(None, CatalogOrder::Revenue, 0, 10).unwrap()), [2, 0]);
	assert_eq!(ids(index.models(None, CatalogOrder::Price, 0, 10).unwrap()), [0, 2]);
	assert_eq!(ids(index.models(None, CatalogOrder::Newest, 0, 10).unwrap()), [2, 0]);
	let page = index.models(None, CatalogOrder::Newest, 1, 1).unwrap();
	assert_eq!((page.total, ids(page)), (2, vec![0]));
	// Case is ignored; `%` and `_` are plain characters; removed models are not listed.
	assert_eq!(ids(index.models(Some("SENTI"), CatalogOrder::Calls, 0, 10).unwrap()), [2]);
	assert_eq!(ids(index.models(Some("50%_"), CatalogOrder::Calls, 0, 10).unwrap()), [0]);
	assert_eq!(
		ids(index.models(Some("5%f"), CatalogOrder::Calls, 0, 10).unwrap()),
		Vec::<u64>::new()
	);
	assert_eq!(index.models(Some("wine"), CatalogOrder::Calls, 0, 10).unwrap().total, 0);
	assert_eq!(index.model(1, &all()).unwrap().unwrap().model.row.state, "removed");
	assert!(index.model(7, &all()).unwrap().is_none());
	assert!(matches!(
		index.models(None, CatalogOrder::Calls, 0, MAX_PAGE + 1),
		Err(Error::InvalidParameter(_))
	));
	assert!(CatalogOrder::parse("cheapest").is_err());
}

#[test]
fn a_model_page_shows_its_family_versions_payers_and_workers() {
	let mut index = Index::open_in_memory().unwrap();
	let mut child = terms(1, 2, "child", OPG, 2);
	child.parent = Some(0);
	let mut grandchild = terms(2, 3, "grandchild", OPG, 3);
	grandchild.parent = Some(1);
	grandchild.split = vec![(account(3), 600_000_000), (account(4), 400_000_000)];
	index
		.apply(&[
			block(1, vec![HubEvent::ModelChanged(terms(0, 1, "root", OPG, 1))]),
			block(2, vec![HubEvent::ModelChanged(child)]),
			block(
				3,
				vec![
					HubEvent::ModelChanged(grandchild.clone()),
					HubEvent::VersionPublished { model: 2, version: 1, artifact_hash: [7; 32] },
					HubEvent::WorkerReady { worker: account(20), model: 2, version: 1 },
					HubEvent::WorkerReady { worker: account(21), model: 2, version: 1 },
				],
			),
			block(
				4,
				vec![
					HubEvent::VersionPublished { model: 2, version: 2, artifact_hash: [8; 32] },
					HubEvent::ModelChanged(ModelTerms { version: 2, price: 2 * OPG, ..grandchild }),
					HubEvent::ReadinessWithdrawn { worker: account(21), model: 2 },
				],
			),
			block(5, vec![calls(2, 9, 1, 3, 2), calls(2, 8, 4, 12, 8), calls(2, 9, 2, 6, 4)]),
		])
		.unwrap();
	let page = index.model(2, &all()).unwrap().unwrap();
	let detail = &page.model;
	assert_eq!(detail.lineage, [0, 1]);
	assert_eq!(index.model(1, &all()).unwrap().unwrap().model.children, [2]);
	assert_eq!((detail.row.version, detail.row.price, detail.row.created), (2, Amount(2 * OPG), 3));
	assert_eq!(
		detail.versions.iter().map(|v| (v.version, v.block)).collect::<Vec<_>>(),
		[(1, 3), (2, 4)]
	);
	assert_eq!(detail.versions[0].artifact_hash, format!("0x{}", "07".repeat(32)));
	assert_eq!(detail.split[1], SplitShare { account: ss58(&account(4)), perbill: 400_000_000 });
	assert_eq!(page.workers, [ReadyWorker { account: ss58(&account(20)), version: 1 }]);
	assert_eq!(
		page.totals,
		ModelTotals { calls: 7, fees: Amount(21), royalties: Amount(14), payers: 2 }
	);
	assert_eq!(page.payers[0], PayerRow { account: ss58(&account(8)), calls: 4, fees: Amount(12) });
	assert_eq!(page.payers[1].calls, 3);
	assert_eq!(page.daily.len(), 1);
	assert_eq!((page.daily[0].calls, page.daily[0].payers), (7, Some(2)));
	assert_eq!(page.daily[0].date, "2026-11-01");
}

/// A small market over three days: every windowed figure equals the same figure computed
/// from the settlements themselves, whether the window's days are read whole or in part.
#[test]
fn windows_by_block_and_date_agree_with_the_settlements() {
	let mut index = Index::open_in_memory().unwrap();
	let mut settled: Vec<(BlockNumber, ModelId, u64, u128)> = Vec::new();
	let mut batch = vec![block(
		1,
		(0..6u64).map(|id| HubEvent::ModelChanged(terms(id, 1 + id as u8, "m", OPG, 1))).collect(),
	)];
	let mut seed = 7u64;
	for number in 2..(3 * DAY) {
		let mut events = Vec::new();
		if number % 97 == 0 {
			seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
			let model = (seed >> 33) % 5; // model 5 is never called
			let n = 1 + (seed >> 40) % 3;
			settled.push((number, model, n, u128::from(n) * 10));
			events.push(calls(model, 9, n, u128::from(n) * 15, u128::from(n) * 10));
		}
		batch.push(block(number, events));
	}
	index.apply(&batch).unwrap();
	let expected = |from: BlockNumber, to: BlockNumber| {
		let mut per_model = [0u64; 6];
		for (number, model, n, _) in &settled {
			if (from..=to).contains(number) {
				per_model[*model as usize] += n;
			}
		}
		per_model
	};
	for (from, to) in
		[(0, 3 * DAY), (5, DAY - 3), (DAY / 2, 2 * DAY + 17), (DAY, 2 * DAY - 1), (700, 700)]
	{
		let market = index.market(&blocks(from, to), 10).unwrap();
		let per_model = expected(from, to);
		let sums = modelhub_primitives::stats::concentration(&per_model);
		assert_eq!(market.figures.calls, sums.calls, "{from}..{to}");
		assert_eq!(market.models, 6);
		assert_eq!(market.figures.models_called, u64::from(sums.models_called));
		assert_eq!(market.figures.gini, f64::from(sums.gini.deconstruct()) / 1e9);
		assert_eq!(market.figures.hhi, f64::from(sums.hhi.deconstruct()) / 1e9);
		assert_eq!(market.daily.iter().map(|d| d.figures.calls).sum::<u64>(), sums.calls);
		assert_eq!(market.lorenz.len(), 11);
		assert_eq!(market.window.from_block, from);
		for model in 0..6u64 {
			let page = index.model(model, &blocks(from, to)).unwrap().unwrap();
			assert_eq!(page.totals.calls, per_model[model as usize]);
		}
		let uploader = index.uploader(&ss58(&account(2)), &blocks(from, to)).unwrap();
		assert_eq!(uploader.totals.calls, per_model[1], "{from}..{to}");
		assert_eq!(uploader.totals.royalties, Amount(u128::from(per_model[1]) * 10));
	}
	// A day by date is the day's blocks.
	let day2 = index
		.market(
			&Window {
				from: Some(Bound::Date("2026-11-02".into())),
				to: Some(Bound::Date("2026-11-02".into())),
			},
			10,
		)
		.unwrap();
	assert_eq!(day2.figures.calls, expected(DAY, 2 * DAY - 1).iter().sum::<u64>());
	assert_eq!((day2.window.from_block, day2.window.to_block), (DAY, 2 * DAY - 1));
	assert_eq!(day2.window.from_date.as_deref(), Some("2026-11-02"));
	assert_eq!(day2.daily.len(), 1);
	// All of history.
	let whole = index.market(&all(), 10).unwrap();
	assert_eq!(whole.figures.calls, settled.iter().map(|s| s.2).sum::<u64>());
	assert_eq!(whole.daily.len(), 3);
	assert_eq!(whole.lorenz.first(), Some(&(0.0, 0.0)));
	assert_eq!(whole.lorenz.last(), Some(&(1.0, 1.0)));
	assert!(whole.bottom50_royalty_share <= whole.bottom80_royalty_share);
	// Dates outside history give empty figures; a reversed window is refused.
	let later = Window { from: Some(Bound::Date("2027-01-01".into())), to: None };
	assert_eq!(index.market(&later, 10).unwrap().figures.calls, 0);
	assert!(matches!(index.market(&blocks(9, 3), 10), Err(Error::EmptyWindow)));
	assert!(matches!(index.market(&all(), 0), Err(Error::InvalidParameter(_))));
	assert!(matches!(index.uploader("not an address", &all()), Err(Error::InvalidAccount(_))));
}

#[test]
fn workers_jobs_earnings_and_slashes_are_counted() {
	let mut index = Index::open_in_memory().unwrap();
	let (worker, other) = (account(20), account(21));
	index
		.apply(&[
			block(1, vec![HubEvent::WorkerBonded { worker, bond: 100, registered: true }]),
			block(
				2,
				vec![
					HubEvent::WorkerBonded { worker, bond: 150, registered: false },
					HubEvent::RequestSettled {
						workers: vec![worker, other],
						payouts: vec![(account(1), 9), (worker, 4), (other, 4)],
					},
					HubEvent::ChannelOpened { channel: 3, payer: account(9), worker },
					HubEvent::ChannelSettled {
						channel: 3,
						calls: 12,
						payouts: vec![(worker, 24), (account(1), 60)],
					},
					HubEvent::ChannelSettled { channel: 99, calls: 1, payouts: vec![] },
					HubEvent::WorkerSlashed { worker, amount: 30 },
					HubEvent::WorkerReady { worker, model: 4, version: 1 },
				],
			),
		])
		.unwrap();
	let view = index.worker(&ss58(&worker), &all()).unwrap();
	assert_eq!((view.registered, view.bond, view.ready.clone()), (Some(1), Amount(150), vec![4]));
	assert_eq!(
		view.totals,
		WorkerTotals { jobs: 2, calls: 13, earnings: Amount(28), slashes: 1, slashed: Amount(30) }
	);
	assert_eq!(view.daily.len(), 1);
	let other = index.worker(&ss58(&other), &all()).unwrap();
	assert_eq!((other.registered, other.totals.jobs, other.totals.earnings), (None, 1, Amount(4)));
	let stranger = index.worker(&ss58(&account(77)), &all()).unwrap();
	assert_eq!(stranger.totals, WorkerTotals::default());
}

#[test]
fn an_index_on_disk_is_reopened_where_it_stopped() {
	let dir = std::env::temp_dir().join(format!("modelhub-index-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let path = dir.join("hub.sqlite");
	{
		let mut index = Index::open(&path).unwrap();
		index.apply(&[block(1, vec![HubEvent::ModelChanged(terms(0, 1, "a", OPG, 1))])]).unwrap();
	}
	let mut index = Index::open(&path).unwrap();
	assert_eq!(index.indexed().unwrap().map(|(n, _)| n), Some(1));
	index.apply(&[block(2, vec![calls(0, 9, 2, 4, 2)])]).unwrap();
	assert_eq!(index.status().unwrap().calls, 2);
	drop(index);
	std::fs::remove_dir_all(&dir).unwrap();
}

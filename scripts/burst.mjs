#!/usr/bin/env node
// Measures, in one run against a running node, how many transfers and how many paid calls the
// chain handles per second: a burst of transfers, then a burst of inference requests, both
// signed in advance by `--senders` funded accounts and submitted at once.
//
// Usage: node scripts/burst.mjs MODEL --input FILE.json [--requests 2000] [--transfers 2000]
//          [--senders 20] [--funder //Alice] [--url ws://127.0.0.1:9944] [--timeout 900] [--json]
//
// `--requests 0` measures transfers alone; `--report FILE` also writes the JSON report to FILE.
//
// For each burst it reports what the pool refused (by `RequestError` code for requests), what
// blocks included, what failed in a block, and for requests how many settled or were refunded.
// A rate is what ended divided by the time, in block timestamps, from the parent of the first
// block that included one of the burst's transactions to the block in which the last ended.
import { readFileSync, writeFileSync } from 'node:fs';
import { u8aToHex } from '@polkadot/util';
import { connect, encodeTensorSet, formatOpg, parseArgs, run, signer, submit, waitReady, withTimeout } from './lib.mjs';

const REQUEST_ERRORS = ['ModelNotFound', 'ModelNotActive', 'InvalidRedundancy', 'InputTooLarge', 'InputNotCanonical',
  'InputDoesNotFitSchema', 'FeeAboveMax', 'InsufficientBalance', 'NotEnoughWorkers', 'NoReadyWorker', 'WorkersBusy'];

/** Submits every signed transaction, at most `inFlight` at once; returns `{ accepted, refused }`. */
async function submitAll(api, signed, inFlight = 64) {
  const accepted = new Set();
  const refused = new Map();
  let next = 0;
  const lane = async () => {
    while (next < signed.length) {
      const tx = signed[next++];
      try {
        await api.rpc.author.submitExtrinsic(tx);
        accepted.add(tx.hash.toHex());
      } catch (error) {
        const custom = /Custom error: (\d+)/.exec(error.message);
        const reason = custom ? (REQUEST_ERRORS[Number(custom[1])] ?? `custom ${custom[1]}`) : error.message.slice(0, 80);
        refused.set(reason, (refused.get(reason) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { accepted, refused };
}

/**
 * Follows the best chain from `from` (a block number), calling `visit(block)` with each block's
 * number, timestamp (ms), extrinsic hashes and events, until `done()` or `timeoutMs`.
 */
async function follow(api, from, visit, done, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let number = from;
  while (!done() && Date.now() < deadline) {
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    if (number > best) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    const hash = await api.rpc.chain.getBlockHash(number);
    const [block, at] = await Promise.all([api.rpc.chain.getBlock(hash), api.at(hash)]);
    const [events, now] = await Promise.all([at.query.system.events(), at.query.timestamp.now()]);
    visit({
      number,
      ms: now.toNumber(),
      hashes: block.block.extrinsics.map((xt) => xt.hash.toHex()),
      events,
    });
    number += 1;
  }
  return done();
}

/** Seconds from the parent of block `first` to the block stamped `lastMs`; null if none. */
async function secondsSince(api, first, lastMs) {
  if (first === null || lastMs === null) return null;
  const hash = await api.rpc.chain.getBlockHash(first - 1);
  const start = (await (await api.at(hash)).query.timestamp.now()).toNumber();
  return (lastMs - start) / 1000;
}

/** Signs `count` calls made by `call(i)`, spread over `senders` with consecutive nonces. */
async function signAll(api, senders, count, call) {
  const nonces = await Promise.all(senders.map((pair) => api.rpc.system.accountNextIndex(pair.address)));
  const next = nonces.map((nonce) => nonce.toNumber());
  const signed = [];
  for (let i = 0; i < count; i++) {
    const s = i % senders.length;
    signed.push(await call(i).signAsync(senders[s], { nonce: next[s]++, era: 0 }));
  }
  return signed;
}

async function transferBurst(api, senders, count, sink, timeoutMs) {
  const signed = await signAll(api, senders, count, () => api.tx.balances.transferKeepAlive(sink, 1_000_000_000_000n));
  const start = (await api.rpc.chain.getHeader()).number.toNumber() + 1;
  const { accepted, refused } = await submitAll(api, signed);
  let included = 0;
  let failed = 0;
  let first = null;
  let lastMs = null;
  let mostInBlock = 0;
  await follow(api, start, ({ number, ms, hashes, events }) => {
    let inBlock = 0;
    hashes.forEach((hash, index) => {
      if (!accepted.has(hash)) return;
      inBlock += 1;
      first ??= number;
      lastMs = ms;
      if (events.some(({ phase, event }) => phase.isApplyExtrinsic && phase.asApplyExtrinsic.toNumber() === index
        && api.events.system.ExtrinsicFailed.is(event))) failed += 1;
    });
    included += inBlock;
    mostInBlock = Math.max(mostInBlock, inBlock);
  }, () => included === accepted.size, timeoutMs);
  const span = await secondsSince(api, first, lastMs);
  return { sent: count, refused: Object.fromEntries(refused), included, failed, mostInBlock, seconds: span,
    perSecond: span ? (included - failed) / span : 0 };
}

async function requestBurst(api, senders, count, model, input, maxFee, timeoutMs) {
  const signed = await signAll(api, senders, count, () => api.tx.inference.requestInference(model, u8aToHex(input), maxFee, 1));
  const start = (await api.rpc.chain.getHeader()).number.toNumber() + 1;
  const { accepted, refused } = await submitAll(api, signed);
  const open = new Set();
  let included = 0;
  let failed = 0;
  let settled = 0;
  let refunded = 0;
  let first = null;
  let lastMs = null;
  let mostInBlock = 0;
  let quietSince = Date.now();
  // Of the burst's transactions, how many the pool still holds (asked when the chain is quiet).
  let pending = accepted.size;
  await follow(api, start, ({ number, ms, hashes, events }) => {
    const ours = new Set();
    hashes.forEach((hash, index) => {
      if (!accepted.has(hash)) return;
      ours.add(index);
      included += 1;
      first ??= number;
    });
    mostInBlock = Math.max(mostInBlock, ours.size);
    for (const { phase, event } of events) {
      const index = phase.isApplyExtrinsic ? phase.asApplyExtrinsic.toNumber() : null;
      if (index !== null && ours.has(index)) {
        if (api.events.inference.InferenceRequested.is(event)) open.add(event.data.request.toString());
        if (api.events.system.ExtrinsicFailed.is(event)) failed += 1;
      }
      if (api.events.inference.InferenceSettled.is(event) && open.delete(event.data.request.toString())) {
        settled += 1;
        lastMs = ms;
      }
      if (api.events.inference.InferenceRefunded.is(event) && open.delete(event.data.request.toString())) {
        refunded += 1;
        lastMs = ms;
      }
    }
    quietSince = Date.now();
  }, () => {
    // The burst ends when the pool holds none of it and every included request has ended; the
    // pool may have dropped some (a request that waited past its longevity).
    if (Date.now() - quietSince > 2_000) {
      quietSince = Date.now();
      api.rpc.author.pendingExtrinsics().then((xts) => {
        pending = xts.filter((xt) => accepted.has(xt.hash.toHex())).length;
      }, () => {});
    }
    return pending === 0 && open.size === 0;
  }, timeoutMs);
  const span = await secondsSince(api, first, lastMs);
  return { sent: count, refused: Object.fromEntries(refused), dropped: Math.max(0, accepted.size - included - pending), included, failed,
    mostInBlock, settled, refunded, open: open.size, seconds: span, perSecond: span ? settled / span : 0 };
}

run(async () => {
  const { options, positional } = parseArgs(process.argv.slice(2), { flags: ['json'] });
  const [modelText] = positional;
  if (modelText === undefined || !options.input) {
    throw new Error('usage: burst.mjs MODEL --input FILE.json [--requests 2000] [--transfers 2000] [--senders 20]');
  }
  const model = Number(modelText);
  const requests = Number(options.requests ?? 2000);
  const transfers = Number(options.transfers ?? 2000);
  const timeoutMs = Number(options.timeout ?? 900) * 1000;
  const document = JSON.parse(readFileSync(options.input, 'utf8'));
  const input = encodeTensorSet(document.inputs ?? document);
  const api = await connect(options.url ?? 'ws://127.0.0.1:9944');
  await waitReady(api, model, 1, 120_000, true);

  // Senders, funded for their share of both bursts.
  const funder = signer(options.funder ?? '//Alice');
  const senders = Array.from({ length: Number(options.senders ?? 20) }, (_, i) => signer(`//burst//${i}`));
  const quote = (await api.rpc.modelhub.quote(model, input.length, 1)).toJSON();
  const maxFee = BigInt(quote.total);
  const each = (maxFee + 5n * 10n ** 16n) * BigInt(Math.ceil(requests / senders.length)) + 10n ** 19n;
  await submit(api, api.tx.utility.batchAll(senders.map((pair) => api.tx.balances.transferKeepAlive(pair.address, each))), funder, 120_000);

  const transfer = await withTimeout(transferBurst(api, senders, transfers, funder.address, timeoutMs), timeoutMs + 60_000, 'the transfer burst');
  const request = requests > 0
    ? await withTimeout(requestBurst(api, senders, requests, model, input, maxFee, timeoutMs), timeoutMs + 60_000, 'the request burst')
    : null;
  const ratio = request && transfer.perSecond ? request.perSecond / transfer.perSecond : 0;
  const report = { transfers: transfer, requests: request, ratio };
  if (options.report !== undefined) writeFileSync(options.report, JSON.stringify(report, null, 2));
  if (options.json !== undefined) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const refusals = (refused) => Object.entries(refused).map(([why, n]) => `${n} ${why}`).join(', ') || 'none';
    console.log(`transfers: ${transfer.sent} sent, refused by the pool: ${refusals(transfer.refused)}; ${transfer.included} included, `
      + `${transfer.failed} failed in a block, at most ${transfer.mostInBlock} in one block; ${transfer.perSecond.toFixed(1)} transfers/s over ${transfer.seconds ?? '-'} s`);
    if (request) console.log(`requests: ${request.sent} sent (max fee ${formatOpg(maxFee)}), refused by the pool: ${refusals(request.refused)}; `
      + `${request.dropped} dropped from the pool; ${request.included} included, ${request.failed} failed in a block, `
      + `at most ${request.mostInBlock} in one block; `
      + `${request.settled} settled, ${request.refunded} refunded, ${request.open} still open; `
      + `${request.perSecond.toFixed(1)} settled paid calls/s over ${request.seconds ?? '-'} s`);
    if (request) console.log(`settled paid calls/s ÷ transfers/s = ${ratio.toFixed(3)}`);
  }
  await api.disconnect();
});

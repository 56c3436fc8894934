#!/usr/bin/env node
// Pays for one inference call and prints its attested output and who was paid what.
//
// node scripts/infer.mjs MODEL --input FILE.json [--redundancy N] [--max-fee OPG]
//   [--suri //Bob] [--url ws://127.0.0.1:9944] [--timeout SECONDS]
//
// FILE.json holds {"inputs": {NAME: {"dtype", "shape", "data"}}} (as `modelhub-worker exec`
// reads). The request is signed with `@polkadot/api`; the script then follows finalized blocks
// until the request settles or is refunded, and prints the result as JSON.
import { readFileSync } from 'node:fs';
import { u8aToHex, stringToU8a } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import { connect, decodeTensorSet, encodeTensorSet, formatOpg, parseArgs, parseOpg, run, signer, submit, withTimeout } from './lib.mjs';

const DEV_NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

/** The account a `PalletId` derives (`modl` ++ id, zero-padded to 32 bytes). */
function palletAccount(id) {
  const bytes = new Uint8Array(32);
  bytes.set(stringToU8a(`modl${id}`));
  return encodeAddress(bytes, 42);
}

function names() {
  const known = new Map();
  for (const name of DEV_NAMES) known.set(signer(`//${name}`).address, name);
  known.set(palletAccount('py/trsry'), 'treasury');
  known.set(palletAccount('opg/vpot'), 'validators');
  return known;
}

run(async () => {
  const { options, positional } = parseArgs(process.argv.slice(2));
  const [model] = positional;
  if (model === undefined || !options.input) {
    throw new Error('usage: infer.mjs MODEL --input FILE.json [--redundancy N] [--max-fee OPG] [--suri //Bob]');
  }
  const document = JSON.parse(readFileSync(options.input, 'utf8'));
  const input = encodeTensorSet(document.inputs ?? document);
  const redundancy = Number(options.redundancy ?? 1);
  const timeoutMs = Number(options.timeout ?? 180) * 1000;

  const api = await connect(options.url ?? 'ws://127.0.0.1:9944');
  const record = await api.query.modelRegistry.models(model);
  if (record.isNone) throw new Error(`model ${model} does not exist`);
  const maxFee = options['max-fee'] !== undefined
    ? parseOpg(options['max-fee'])
    : record.unwrap().price.toBigInt() + parseOpg('1');
  const payer = signer(options.suri ?? '//Bob');

  const started = Date.now();
  // Watch events from before submission so a fast settlement is not missed.
  let onEnded;
  const ended = new Promise((resolve) => { onEnded = resolve; });
  let requestId;
  const seen = [];
  const unsubscribe = await api.rpc.chain.subscribeFinalizedHeads(async (header) => {
    const events = await (await api.at(header.hash)).query.system.events();
    for (const { event } of events) {
      if (api.events.inference.InferenceSettled.is(event) || api.events.inference.InferenceRefunded.is(event)) {
        seen.push({ event, block: header.hash.toHex(), number: header.number.toNumber() });
      }
    }
    const match = seen.find(({ event }) => requestId !== undefined && event.data.request.toString() === requestId);
    if (match) onEnded(match);
  });

  const tx = api.tx.inference.requestInference(model, u8aToHex(input), maxFee, redundancy);
  const { blockHash, events } = await submit(api, tx, payer);
  const requested = events.find(({ event }) => api.events.inference.InferenceRequested.is(event));
  if (!requested) throw new Error('no InferenceRequested event');
  const { request, fee, workers, deadline } = requested.event.data;
  requestId = request.toString();
  const earlier = seen.find(({ event }) => event.data.request.toString() === requestId);
  if (earlier) onEnded(earlier);
  const outcome = await withTimeout(ended, timeoutMs, `waiting for request ${requestId} to end`);
  const latencyMs = Date.now() - started;
  unsubscribe();

  const known = names();
  const label = (address) => known.get(address) ?? address;
  const result = {
    request: requestId,
    model: String(model),
    payer: label(payer.address),
    requested_in: blockHash,
    fee: formatOpg(fee.toBigInt()),
    workers: workers.map((w) => label(w.toString())),
    deadline: deadline.toNumber(),
    ended_in: outcome.block,
    latency_ms: latencyMs,
  };
  if (api.events.inference.InferenceSettled.is(outcome.event)) {
    const { outputHash, payouts } = outcome.event.data;
    const stored = (await (await api.at(outcome.block)).query.inference.results(requestId)).unwrap();
    const outputs = decodeTensorSet(stored.output.toU8a(true));
    result.status = 'settled';
    result.output_hash = outputHash.toHex();
    result.outputs = outputs;
    if (outputs.label) result.prediction = outputs.label.data.length === 1 ? outputs.label.data[0] : outputs.label.data;
    result.payouts = payouts.map(([who, amount]) => ({ account: label(who.toString()), amount: formatOpg(amount.toBigInt()) }));
  } else {
    result.status = 'refunded';
    result.reason = outcome.event.data.reason.toString();
    result.refunded = formatOpg(outcome.event.data.amount.toBigInt());
  }
  console.log(JSON.stringify(result, null, 2));
  await api.disconnect();
  if (result.status !== 'settled') process.exit(2);
});

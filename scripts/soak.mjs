#!/usr/bin/env node
// Drives a soak test against a running node (scripts/soak.sh starts the hub around it): sends
// one paid request every `--every-ms` (from Bob, Eve and Ferdie in turn) to models drawn by
// weight, for `--seconds`, reconnecting whenever the node is restarted; then waits for every
// request to end and prints, as JSON, what was sent and how each model's requests ended.
//
// Usage: node scripts/soak.mjs --model NAME=ID:WEIGHT:INPUT.json ... [--seconds 1800]
//          [--every-ms 4000] [--url ws://127.0.0.1:9944] [--drain-seconds 240]
import { readFileSync } from 'node:fs';
import { u8aToHex } from '@polkadot/util';
import { connect, encodeTensorSet, parseArgs, run, signer, waitReady } from './lib.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The connection, opened again after the node went away. */
class Connection {
  constructor(url) {
    this.url = url;
    this.api = null;
    this.reconnects = 0;
  }

  async get() {
    if (this.api && this.api.isConnected) return this.api;
    if (this.api) {
      this.api.disconnect().catch(() => {});
      this.api = null;
      this.reconnects += 1;
    }
    this.api = await connect(this.url, 15_000);
    return this.api;
  }
}

run(async () => {
  const { options } = parseArgs(process.argv.slice(2), { repeatable: ['model'] });
  if (!options.model) throw new Error('usage: soak.mjs --model NAME=ID:WEIGHT:INPUT.json ...');
  const models = options.model.map((spec) => {
    const [name, rest] = spec.split('=');
    const [id, weight, file] = rest.split(':');
    const document = JSON.parse(readFileSync(file, 'utf8'));
    return { name, id: Number(id), weight: Number(weight), input: u8aToHex(encodeTensorSet(document.inputs ?? document)) };
  });
  const seconds = Number(options.seconds ?? 1800);
  const everyMs = Number(options['every-ms'] ?? 4000);
  const drainSeconds = Number(options['drain-seconds'] ?? 240);
  const connection = new Connection(options.url ?? 'ws://127.0.0.1:9944');
  const senders = ['//Bob', '//Eve', '//Ferdie'].map(signer);
  const total = models.reduce((sum, model) => sum + model.weight, 0);
  const sent = Object.fromEntries(models.map((model) => [model.name, 0]));
  const refused = {};
  let unreachable = 0;

  // The worker holds every model ready before the clock starts.
  const ready = await connection.get();
  for (const model of models) await waitReady(ready, model.id, 1, 180_000, true);

  const started = Date.now();
  for (let tick = 0; Date.now() - started < seconds * 1000; tick += 1) {
    const due = started + tick * everyMs;
    if (due > Date.now()) await sleep(due - Date.now());
    let draw = (tick * 7919) % total;
    const model = models.find((candidate) => (draw -= candidate.weight) < 0);
    const sender = senders[tick % senders.length];
    try {
      const api = await connection.get();
      const quote = (await api.rpc.modelhub.quote(model.id, (model.input.length - 2) / 2, 1)).toJSON();
      const tx = api.tx.inference.requestInference(model.id, model.input, BigInt(quote.total), 1);
      await tx.signAndSend(sender, { nonce: -1 });
      sent[model.name] += 1;
    } catch (error) {
      if (/disconnected|connect|ECONNREFUSED|timed out|WebSocket|closed/i.test(error.message)) {
        unreachable += 1;
        if (connection.api) connection.api.disconnect().catch(() => {});
        connection.api = null;
      } else {
        const key = error.message.slice(0, 60);
        refused[key] = (refused[key] ?? 0) + 1;
      }
    }
  }

  // Every request ends: settled, or refunded by the chain at its deadline at the latest.
  const byModel = Object.fromEntries(models.map((model) => [model.id, model.name]));
  const outcomes = {};
  let pending = 0;
  const drainUntil = Date.now() + drainSeconds * 1000;
  for (;;) {
    const api = await connection.get();
    const next = (await api.query.inference.nextRequestId()).toNumber();
    pending = 0;
    for (const key of Object.keys(outcomes)) delete outcomes[key];
    for (let id = 0; id < next; id += 1) {
      const status = (await api.rpc.modelhub.request(id)).toJSON();
      if (!status) continue;
      const name = byModel[status.model] ?? `model ${status.model}`;
      const ended = status.status === 'refunded' ? `refunded:${status.reason}` : status.status;
      if (status.status === 'pending') pending += 1;
      outcomes[name] ??= {};
      outcomes[name][ended] = (outcomes[name][ended] ?? 0) + 1;
    }
    if (pending === 0 || Date.now() > drainUntil) break;
    await sleep(6000);
  }
  console.log(JSON.stringify({
    seconds: Math.round((Date.now() - started) / 1000),
    sent,
    refused,
    unreachable,
    reconnects: connection.reconnects,
    outcomes,
    pending,
  }, null, 2));
  await connection.api?.disconnect();
});

#!/usr/bin/env node
// Prints how demand is spread across the hub: market statistics over the last epoch, the last
// N epochs and all time (calls, fees, royalties, top-10 share, HHI, Gini), and the top models
// by calls with their revenue and share, from the node's `modelhub_*` JSON-RPC methods.
//
// node scripts/usage.mjs [--epochs N] [--top N] [--order calls|revenue|newest] [--json]
//   [--url ws://127.0.0.1:9944]
import { connect, formatOpg, parseArgs, run } from './lib.mjs';

const percent = (share) => `${(share * 100).toFixed(1)}%`;
const opg = (units) => (units === null || units === undefined ? '-' : formatOpg(BigInt(units)));

/** Lays `rows` (arrays of strings) out in columns under `header`; numeric columns right-aligned. */
function table(header, rows, right) {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

run(async () => {
  const { options } = parseArgs(process.argv.slice(2), { flags: ['json'] });
  const epochs = Number(options.epochs ?? 7);
  const top = Math.min(Number(options.top ?? 10), 100);
  const order = options.order ?? 'calls';
  const api = await connect(options.url ?? 'ws://127.0.0.1:9944');

  const windows = [
    ['last epoch', (await api.rpc.modelhub.marketStats(1)).toJSON()],
    [`last ${epochs} epochs`, (await api.rpc.modelhub.marketStats(epochs)).toJSON()],
    ['all time', (await api.rpc.modelhub.marketStats()).toJSON()],
  ];
  // `Json` keeps an array's entries under their indices.
  const models = Object.values((await api.rpc.modelhub.models(order, 0, top)).toJSON());
  const usage = [];
  for (const model of models) usage.push((await api.rpc.modelhub.modelUsage(model.id)).toJSON());
  await api.disconnect();

  if (options.json !== undefined) {
    console.log(JSON.stringify({ stats: Object.fromEntries(windows), models: models.map((m, i) => ({ ...m, usage: usage[i] })) }, null, 2));
    return;
  }
  console.log(table(
    ['window', 'epochs', 'calls', 'models called', 'fees', 'royalties', 'top-10 share', 'HHI', 'Gini'],
    windows.map(([name, s]) => [
      name, `${s.firstEpoch}-${s.lastEpoch}`, String(s.calls), String(s.modelsCalled), opg(s.fees), opg(s.royalties),
      percent(s.top10Share), s.hhi.toFixed(3), s.gini.toFixed(3),
    ]),
    [2, 3, 4, 5, 6, 7, 8],
  ));
  console.log();
  console.log(table(
    ['rank', 'model', 'name', 'state', 'price', 'calls', 'share', 'revenue', 'payers', 'failures'],
    models.map((m, i) => [
      String(usage[i]?.rank || '-'), String(m.id), m.name, m.state, opg(m.price), String(m.calls),
      percent(usage[i]?.share ?? 0), opg(m.revenue), String(m.payers), String(m.failures),
    ]),
    [0, 1, 4, 5, 6, 7, 8, 9],
  ));
});

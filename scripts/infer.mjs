#!/usr/bin/env node
// Pays for one inference call over JSON-RPC and prints its attested output, the fee breakdown
// and who was paid what.
//
// node scripts/infer.mjs MODEL --input FILE.json [--redundancy N] [--max-fee OPG]
//   [--suri //Bob] [--url ws://127.0.0.1:9944] [--timeout SECONDS] [--wait-ready SECONDS]
//   [--quiet]
// node scripts/infer.mjs MODEL --input FILE.json --fast [--deposit OPG] [--audit FRACTION]
//   [--dispute] [--suri //Bob] …
//
// With --fast the call goes straight to a worker that serves the model's fast path
// (`modelhub_fastWorkers`; docs/fast-path.md): the script finds or opens a channel to it
// (--deposit, default 10 OPG, for an hour; topped up by as much when it runs out), signs the voucher that pays for this one call,
// sends it with the input to the worker's endpoint and checks the worker's attestation of the
// output. The worker settles the channel's calls on chain later, in one transaction for many.
// A receipt naming a block more than 20 blocks behind the chain is refused (it could not be
// disputed for long). With --audit F a fraction F of calls (0 to 1) and with --dispute every
// call is taken to the court (`Inference.dispute`): two other workers run it again and a worker
// whose output is beyond the model's fraud margin of theirs is slashed, the caller compensated;
// otherwise the caller pays for the court's call.
//
// Workers are drawn only among those that declared the model's current version ready
// (`Verification.declare_ready`, after fetching and loading it); the script first waits up to
// --wait-ready seconds (default 120) for `redundancy` of them, reading `Verification.ReadyWorkers`.
//
// FILE.json holds {"inputs": {NAME: {"dtype", "shape", "data"}}} (as `modelhub-worker exec`
// reads). The script quotes the fee (`modelhub_quote`), signs `Inference.request_inference`
// with `@polkadot/api`, and hands it to `modelhub_submitAndWatchInference`, which refuses a
// request that would fail before anything is paid and streams the request's life: each step
// goes to stderr, the outcome to stdout as JSON.
import { readFileSync } from 'node:fs';
import { u8aToHex, stringToU8a, hexToU8a } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import { connect, decodeTensorSet, encodeTensorSet, formatOpg, parseArgs, parseOpg, run, signer, submit, waitReady, withTimeout } from './lib.mjs';
import { channelSeen, disputeReceipt, fastCall, fastWorkers, findChannel, openChannel, verifyReceipt } from './fast.mjs';

const DEV_NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

/** The account a `PalletId` derives (`modl` ++ id, zero-padded to 32 bytes). */
function palletAccount(id) {
  const bytes = new Uint8Array(32);
  bytes.set(stringToU8a(`modl${id}`));
  return encodeAddress(bytes, 42);
}

function names() {
  const known = new Map();
  for (const name of DEV_NAMES) {
    known.set(signer(`//${name}`).address, name);
    known.set(signer(`//${name}//stash`).address, `${name}//stash`);
  }
  known.set(palletAccount('py/trsry'), 'treasury');
  known.set(palletAccount('opg/vpot'), 'validators');
  return known;
}

const opg = (units) => formatOpg(BigInt(units));

async function fast(api, { model, input, options, quiet, label }) {
  const [worker] = await fastWorkers(api, Number(model), 1, Number(options['wait-ready'] ?? 120) * 1000, quiet);
  const payer = signer(options.suri ?? '//Bob');
  let channel = await findChannel(api, payer.address, worker.account);
  const deposit = parseOpg(options.deposit ?? '10');
  if (!channel) {
    channel = await openChannel(api, payer, worker.account, deposit, 600);
    if (!quiet) console.error(`opened channel ${channel.id} to ${label(worker.account)} holding ${formatOpg(deposit)}`);
  }
  await channelSeen(worker.endpoint, channel.id);
  const call = () => fastCall(api, {
    endpoint: worker.endpoint, channel: channel.id, model, input, pair: payer, timeoutMs: Number(options.timeout ?? 60) * 1000,
  });
  let made;
  try {
    made = await call();
  } catch (error) {
    if (error.data?.error !== 'voucherAboveDeposit') throw error;
    // The channel ran out: top it up and extend it, then call once the worker sees it.
    await submit(api, api.tx.channels.topUp(channel.id, deposit, 600), payer);
    if (!quiet) console.error(`topped channel ${channel.id} up with ${formatOpg(deposit)}`);
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        made = await call();
        break;
      } catch (again) {
        if (again.data?.error !== 'voucherAboveDeposit' || Date.now() > until) throw again;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
  const { answer, price, execution, ms } = made;
  const record = (await api.query.verification.workers(worker.account)).unwrap();
  const verified = verifyReceipt(api, answer, record.attestationKey.toU8a());
  const outputs = decodeTensorSet(hexToU8a(answer.output));
  const result = {
    model: String(model),
    payer: label(payer.address),
    worker: label(worker.account),
    endpoint: worker.endpoint,
    channel: String(channel.id),
    call: answer.call,
    fee: { total: opg(price + execution), royalty: opg(price), execution: opg(execution) },
    output_hash: answer.outputHash,
    attestation_verified: verified,
    outputs,
    latency_ms: Math.round(ms * 1000) / 1000,
  };
  if (outputs.label) result.prediction = outputs.label.data.length === 1 ? outputs.label.data[0] : outputs.label.data;
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  const fresh = Number(answer.block) <= best && best - Number(answer.block) <= 20;
  if (verified && fresh && (options.dispute !== undefined || Math.random() < Number(options.audit ?? 0))) {
    if (!quiet) console.error(`taking the receipt of call ${answer.call} to the court`);
    const court = await disputeReceipt(api, { answer, model, input, pair: payer });
    result.dispute = {
      request: court.request, verdict: court.verdict, court_fee_paid: opg(court.paid), slashed: opg(court.slashed), compensation: opg(court.compensation),
    };
  }
  console.log(JSON.stringify(result, null, 2));
  if (!verified) throw new Error('the worker\'s attestation does not verify');
  if (!fresh) throw new Error(`the receipt names block ${answer.block}, not a recent one (best ${best})`);
}

run(async () => {
  const { options, positional } = parseArgs(process.argv.slice(2), { flags: ['quiet', 'fast', 'dispute'] });
  const [model] = positional;
  if (model === undefined || !options.input) {
    throw new Error('usage: infer.mjs MODEL --input FILE.json [--redundancy N] [--max-fee OPG] [--suri //Bob]');
  }
  const document = JSON.parse(readFileSync(options.input, 'utf8'));
  const input = encodeTensorSet(document.inputs ?? document);
  const redundancy = Number(options.redundancy ?? 1);
  const timeoutMs = Number(options.timeout ?? 180) * 1000;
  const quiet = options.quiet !== undefined;
  const known = names();
  const label = (address) => known.get(address) ?? address;

  const api = await connect(options.url ?? 'ws://127.0.0.1:9944');
  if (options.fast !== undefined) {
    await fast(api, { model, input, options, quiet, label });
    await api.disconnect();
    return;
  }
  await waitReady(api, Number(model), redundancy, Number(options['wait-ready'] ?? 120) * 1000, quiet);
  const quote = (await api.rpc.modelhub.quote(Number(model), input.length, redundancy)).toJSON();
  const maxFee = options['max-fee'] !== undefined ? parseOpg(options['max-fee']) : BigInt(quote.total);
  const payer = signer(options.suri ?? '//Bob');
  const tx = api.tx.inference.requestInference(model, u8aToHex(input), maxFee, redundancy);
  await tx.signAsync(payer, { nonce: -1 });

  const started = Date.now();
  const steps = [];
  let unsubscribe = () => {};
  const ended = new Promise((resolve, reject) => {
    api.rpc.modelhub.submitAndWatchInference(tx, (json) => {
      const update = json.toJSON();
      update.ms = Date.now() - started;
      steps.push(update);
      if (!quiet) console.error(`${String(update.ms).padStart(6)} ms  ${update.event}${update.request !== undefined ? ` (request ${update.request})` : ''}`);
      if (['settled', 'refunded', 'failed', 'dropped', 'timedOut'].includes(update.event)) resolve(update);
    }).then((unsub) => { unsubscribe = unsub; }, reject);
  });
  const outcome = await withTimeout(ended, timeoutMs, 'waiting for the request to end');
  unsubscribe();

  const assigned = steps.find((step) => step.event === 'assigned');
  const inBlock = steps.find((step) => step.event === 'inBlock');
  const fee = assigned?.fee ?? quote;
  const result = {
    request: assigned?.request,
    model: String(model),
    payer: label(payer.address),
    status: outcome.event,
    requested_in: inBlock?.block,
    fee: {
      total: opg(fee.total),
      royalty: opg(fee.royalty),
      execution: opg(fee.execution),
      validators: opg(fee.validators),
      treasury: opg(fee.treasury),
      workers: opg(fee.workers),
      chain: opg(fee.chain),
    },
    workers: (assigned?.workers ?? []).map(label),
    latency_ms: outcome.ms,
    steps: steps.map(({ event, ms }) => ({ event, ms })),
  };
  if (outcome.event === 'settled') {
    const outputs = decodeTensorSet(hexToU8a(outcome.output));
    result.ended_in = outcome.block;
    result.output_hash = outcome.outputHash;
    result.outputs = outputs;
    if (outputs.label) result.prediction = outputs.label.data.length === 1 ? outputs.label.data[0] : outputs.label.data;
    result.payouts = outcome.payouts.map(({ account, amount }) => ({ account: label(account), amount: opg(amount) }));
    // What the call cost: the payouts; the unused part of the chain fee came back.
    result.fee.paid = opg(outcome.payouts.reduce((sum, { amount }) => sum + BigInt(amount), 0n));
  } else if (outcome.event === 'refunded') {
    result.ended_in = outcome.block;
    result.reason = outcome.reason;
    result.refunded = opg(outcome.amount);
  } else {
    result.error = outcome.error ?? outcome.reason ?? `not ended after ${outcome.blocks} blocks`;
  }
  console.log(JSON.stringify(result, null, 2));
  await api.disconnect();
  if (result.status !== 'settled') process.exit(2);
});

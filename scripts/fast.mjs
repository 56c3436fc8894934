// The fast path's client side (docs/fast-path.md): channels, vouchers and calls straight to a
// worker's JSON-RPC endpoint.
import { hexToU8a, stringToU8a, u8aConcat, u8aToHex, bnToU8a } from '@polkadot/util';
import { decodeAddress, signatureVerify } from '@polkadot/util-crypto';
import { submit, withTimeout } from './lib.mjs';

const VOUCHER_CONTEXT = stringToU8a('opg:voucher:v1');
const ATTESTATION_CONTEXT = stringToU8a('opg:fast-attestation:v1');

/** Calls `method` on the worker's JSON-RPC endpoint (HTTP); throws its error as `Error` with
 * `.code` and `.data`. */
export async function rpc(endpoint, method, params, timeoutMs = 60_000) {
  const url = endpoint.replace(/^ws(s?):/, 'http$1:');
  const response = await withTimeout(fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  }), timeoutMs, `calling ${method} at ${url}`);
  const body = await response.json();
  if (body.error) {
    const error = new Error(`${method}: ${body.error.data?.error ?? body.error.code}: ${body.error.message}`);
    error.code = body.error.code;
    error.data = body.error.data;
    throw error;
  }
  return body.result;
}

/** The type name of `Channels.settle`'s voucher in the chain's metadata. */
function voucherType(api) {
  return api.tx.channels.settle.meta.args[1].type.toString();
}

/** A voucher from its SCALE bytes, as `{ channel, calls, total, entries }` with BigInts. */
export function decodeVoucher(api, hex) {
  // A decoded struct is a `Map`: @polkadot/types names its `entries` field `entries_`.
  const voucher = api.createType(voucherType(api), hexToU8a(hex));
  return {
    channel: voucher.get('channel').toBigInt(),
    calls: voucher.get('calls').toBigInt(),
    total: voucher.get('total').toBigInt(),
    entries: voucher.get('entries_').map((entry) => ({
      model: entry.model.toBigInt(),
      price: entry.price.toBigInt(),
      execution: entry.execution.toBigInt(),
      calls: entry.calls.toBigInt(),
    })),
  };
}

/** `voucher` plus one call of `model` at `price` and `execution`; entries stay ordered by
 * (model, price, execution). */
export function nextVoucher(voucher, model, price, execution) {
  const key = (entry) => [entry.model, entry.price, entry.execution];
  const compare = (a, b) => {
    for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
  };
  const wanted = [BigInt(model), BigInt(price), BigInt(execution)];
  const entries = voucher.entries.map((entry) => ({ ...entry }));
  const found = entries.find((entry) => compare(key(entry), wanted) === 0);
  if (found) found.calls += 1n;
  else {
    entries.push({ model: wanted[0], price: wanted[1], execution: wanted[2], calls: 1n });
    entries.sort((a, b) => compare(key(a), key(b)));
  }
  return {
    channel: voucher.channel,
    calls: voucher.calls + 1n,
    total: voucher.total + wanted[1] + wanted[2],
    entries,
  };
}

/** The SCALE encoding of `voucher` and the payer's MultiSignature over it (hex both). */
export function signVoucher(api, voucher, pair) {
  const bytes = api.createType(voucherType(api), {
    channel: voucher.channel,
    calls: voucher.calls,
    total: voucher.total,
    entries: voucher.entries,
  }).toU8a();
  const message = u8aConcat(VOUCHER_CONTEXT, api.genesisHash.toU8a(), bytes);
  const signature = api.createType('MultiSignature', { Sr25519: pair.sign(message) });
  return { voucher: u8aToHex(bytes), signature: u8aToHex(signature.toU8a()) };
}

/** Whether `answer` (what `fast_infer` returned) carries the attestation of `attestationKey`. */
export function verifyReceipt(api, answer, attestationKey) {
  const message = u8aConcat(
    ATTESTATION_CONTEXT,
    api.genesisHash.toU8a(),
    bnToU8a(BigInt(answer.channel), { bitLength: 64 }),
    bnToU8a(BigInt(answer.call), { bitLength: 64 }),
    bnToU8a(BigInt(answer.block), { bitLength: 32 }),
    hexToU8a(answer.artifactHash),
    hexToU8a(answer.inputHash),
    hexToU8a(answer.outputHash),
    hexToU8a(answer.worker),
  );
  return signatureVerify(message, hexToU8a(answer.signature), attestationKey).isValid;
}

/** An open channel from `payer` to `worker` with at least `minBlocks` left, if any. */
export async function findChannel(api, payer, worker, minBlocks = 10) {
  const now = (await api.rpc.chain.getHeader()).number.toNumber();
  const payerKey = u8aToHex(decodeAddress(payer));
  const workerKey = u8aToHex(decodeAddress(worker));
  for (const [key, value] of await api.query.channels.channels.entries()) {
    const channel = value.unwrap();
    if (u8aToHex(channel.payer.toU8a()) === payerKey && u8aToHex(channel.worker.toU8a()) === workerKey
        && channel.closing.isNone && channel.expiresAt.toNumber() > now + minBlocks) {
      return { id: key.args[0].toBigInt(), deposit: channel.deposit.toBigInt() };
    }
  }
  return undefined;
}

/** Opens a channel from `pair` to `worker` holding `deposit` for `lifetime` blocks. */
export async function openChannel(api, pair, worker, deposit, lifetime) {
  const { events } = await submit(api, api.tx.channels.openChannel(worker, deposit, lifetime), pair);
  const opened = events.find(({ event }) => api.events.channels.ChannelOpened.is(event));
  if (!opened) throw new Error('no ChannelOpened event');
  return { id: opened.event.data.channel.toBigInt(), deposit: BigInt(deposit) };
}

/** Waits (up to `timeoutMs`) until at least `count` workers serve fast calls of `model`;
 * returns them all as `{ account, endpoint, bond, capacity }`. */
export async function fastWorkers(api, model, count, timeoutMs, quiet = true) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // `Json` answers keep an array's elements under its indices.
    const workers = Object.values((await api.rpc.modelhub.fastWorkers(model)).toJSON() ?? {});
    if (workers.length >= count) return workers;
    if (Date.now() > deadline) {
      throw new Error(`${workers.length} of ${count} workers serve fast calls of model ${model} after ${timeoutMs / 1000} s`);
    }
    if (!quiet) console.error(`waiting for ${count} workers serving fast calls of model ${model}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Waits (up to `timeoutMs`) until the worker at `endpoint` knows `channel` (it reads channels
 * at the blocks it follows); returns the channel's latest voucher as `fast_latest` gives it. */
export async function channelSeen(endpoint, channel, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await rpc(endpoint, 'fast_latest', [Number(channel)]);
    } catch (error) {
      if (error.data?.error !== 'channelNotFound' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Makes one fast call: the next voucher of `channel` for `input` (bytes), signed by `pair`,
 * sent to `endpoint`. Returns the worker's answer with the voucher sent and the latency. */
export async function fastCall(api, { endpoint, channel, model, input, pair, timeoutMs }) {
  const quote = await rpc(endpoint, 'fast_quote', [Number(model), input.length]);
  const latest = await rpc(endpoint, 'fast_latest', [Number(channel)]);
  const voucher = nextVoucher(decodeVoucher(api, latest.voucher), model, BigInt(quote.price), BigInt(quote.execution));
  const signed = signVoucher(api, voucher, pair);
  const started = performance.now();
  const answer = await rpc(endpoint, 'fast_infer', { model: Number(model), input: u8aToHex(input), ...signed }, timeoutMs);
  return { answer, voucher, price: BigInt(quote.price), execution: BigInt(quote.execution), ms: performance.now() - started };
}

/** The receipt of a fast call (what the worker attested to), as `Inference.dispute` takes it. */
export function receiptOf(api, answer) {
  return {
    genesisHash: api.genesisHash.toHex(),
    channel: BigInt(answer.channel),
    call: BigInt(answer.call),
    block: Number(answer.block),
    artifactHash: answer.artifactHash,
    inputHash: answer.inputHash,
    outputHash: answer.outputHash,
    worker: answer.worker,
  };
}

/**
 * Takes a fast call's receipt to the court (`Inference.dispute`, docs/fast-path.md): the call
 * runs again on the commit–reveal path with `redundancy` other workers. Resolves, once the
 * court request ends, to `{ request, verdict, slashed, compensation, paid }`: verdict `upheld`
 * (the worker lied: slashed, the disputer compensated), `dismissed` (the disputer paid the
 * court's fee) or `refunded` (the court could not settle; nothing paid).
 */
export async function disputeReceipt(api, { answer, model, input, pair, redundancy = 2, timeoutMs = 300_000 }) {
  const quote = (await api.rpc.modelhub.quote(Number(model), input.length, redundancy + 1)).toJSON();
  const tx = api.tx.inference.dispute(model, receiptOf(api, answer), answer.signature, u8aToHex(input),
    answer.output, BigInt(quote.total), redundancy);
  const { events } = await submit(api, tx, pair, 120_000);
  const requested = events.find(({ event }) => api.events.inference.ReceiptDisputed.is(event));
  if (!requested) throw new Error('no ReceiptDisputed event');
  const request = requested.event.data.request.toString();
  let unsubscribe = () => {};
  const verdict = new Promise((resolve) => {
    const found = { request, verdict: null, slashed: 0n, compensation: 0n, paid: 0n };
    api.query.system.events((records) => {
      for (const { event } of records) {
        if (event.data.request?.toString() !== request) continue;
        if (api.events.inference.DisputeUpheld.is(event)) {
          Object.assign(found, { verdict: 'upheld', slashed: event.data.slashed.toBigInt(), compensation: event.data.compensation.toBigInt() });
        } else if (api.events.inference.DisputeDismissed.is(event)) {
          found.verdict = 'dismissed';
        } else if (api.events.inference.InferenceSettled.is(event)) {
          found.paid = event.data.payouts.reduce((sum, [, amount]) => sum + amount.toBigInt(), 0n);
          found.verdict ??= 'settled';
        } else if (api.events.inference.InferenceRefunded.is(event)) {
          found.verdict = 'refunded';
        }
      }
      if (found.verdict !== null && found.verdict !== 'settled') resolve(found);
    }).then((stop) => { unsubscribe = stop; });
  });
  try {
    return await withTimeout(verdict, timeoutMs, `the court request ${request}`);
  } finally {
    unsubscribe();
  }
}

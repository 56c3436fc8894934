#!/usr/bin/env node
// OpenGov from the command line, with the same queries and calls as polkadot.js Apps'
// Governance pages (referenda, conviction voting, preimages).
//
// node scripts/governance.mjs tracks [--json]
//   the referendum tracks: id, name, deposit, periods (blocks) and concurrency
// node scripts/governance.mjs referenda [--json]
//   every referendum: track, state, and for ongoing ones the tally and deciding status
// node scripts/governance.mjs propose --seed //Alice --track protocol_parameters
//     (--call 0xENCODED | --tx section.method --args '[JSON args]')
//   notes the call's preimage and submits the referendum on the track in one `utility.batchAll`
//   (dispatched with the track's origin, enacted the track's minimum enactment period after it
//   passes), then places the decision deposit; prints the referendum's index
// node scripts/governance.mjs vote --seed //Bob --referendum N (--aye | --nay) --balance 1000
//     [--conviction Locked1x]
//   votes with conviction (None, Locked1x … Locked6x) on referendum N
//
// Every command takes --url (default ws://127.0.0.1:9944). Amounts are in OPG.
import { connect, formatOpg, parseArgs, parseOpg, run, signer, submit } from './lib.mjs';

/** The origin a track's referenda dispatch with (runtime/src/configs/governance.rs). */
const TRACK_ORIGINS = {
  root: { system: 'Root' },
  protocol_parameters: { GovernanceOrigins: 'ProtocolParameters' },
  model_moderation: { GovernanceOrigins: 'ModelModeration' },
};

function tracks(api) {
  return api.consts.referenda.tracks.map(([id, info]) => ({
    id: id.toNumber(),
    // A fixed 25-byte name on chain, padded with NULs.
    name: info.name.toString().replace(/\0+$/, ''),
    maxDeciding: info.maxDeciding.toNumber(),
    decisionDeposit: info.decisionDeposit.toBigInt(),
    preparePeriod: info.preparePeriod.toNumber(),
    decisionPeriod: info.decisionPeriod.toNumber(),
    confirmPeriod: info.confirmPeriod.toNumber(),
    minEnactmentPeriod: info.minEnactmentPeriod.toNumber(),
  }));
}

async function referenda(api) {
  const entries = await api.query.referenda.referendumInfoFor.entries();
  const list = entries.map(([key, info]) => {
    const index = key.args[0].toNumber();
    const value = info.unwrap();
    if (value.isOngoing) {
      const ongoing = value.asOngoing;
      return {
        index,
        state: 'ongoing',
        track: ongoing.track.toNumber(),
        proposal: ongoing.proposal.toJSON(),
        deciding: ongoing.deciding.isSome,
        decisionDeposit: ongoing.decisionDeposit.isSome,
        ayes: ongoing.tally.ayes.toBigInt(),
        nays: ongoing.tally.nays.toBigInt(),
        support: ongoing.tally.support.toBigInt(),
      };
    }
    return { index, state: value.type.toLowerCase() };
  });
  return list.sort((a, b) => a.index - b.index);
}

/** The call a proposal dispatches: `--call HEX` or `--tx section.method --args JSON`. */
function proposalCall(api, options) {
  if (options.call) return api.createType('Call', options.call);
  if (!options.tx) throw new Error('propose needs --call or --tx');
  const [section, method] = options.tx.split('.');
  const build = api.tx[section]?.[method];
  if (!build) throw new Error(`no call ${options.tx} in the metadata`);
  return build(...JSON.parse(options.args ?? '[]')).method;
}

const json = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2);

run(async () => {
  const { options, positional } = parseArgs(process.argv.slice(2), { flags: ['json', 'aye', 'nay'] });
  const command = positional[0] ?? 'referenda';
  const api = await connect(options.url ?? 'ws://127.0.0.1:9944');
  try {
    if (command === 'tracks') {
      const list = tracks(api);
      if (options.json) return console.log(json(list));
      for (const t of list) {
        console.log(`${t.id} ${t.name}: deposit ${formatOpg(t.decisionDeposit)}, prepare ${t.preparePeriod}, decide ${t.decisionPeriod}, confirm ${t.confirmPeriod}, enact after ${t.minEnactmentPeriod} blocks, ${t.maxDeciding} at once`);
      }
    } else if (command === 'referenda') {
      const list = await referenda(api);
      if (options.json) return console.log(json(list));
      if (!list.length) console.log('no referenda');
      for (const r of list) {
        console.log(r.state === 'ongoing'
          ? `#${r.index} track ${r.track} ${r.deciding ? 'deciding' : 'preparing'}: ayes ${formatOpg(r.ayes)}, nays ${formatOpg(r.nays)}, support ${formatOpg(r.support)}`
          : `#${r.index} ${r.state}`);
      }
    } else if (command === 'propose') {
      if (!options.seed || !options.track) throw new Error('propose needs --seed and --track');
      const track = tracks(api).find((t) => t.name === options.track);
      const origin = TRACK_ORIGINS[options.track];
      if (!track || !origin) throw new Error(`unknown track ${options.track}: ${Object.keys(TRACK_ORIGINS).join(', ')}`);
      const call = proposalCall(api, options);
      const proposal = { Lookup: { hash: call.hash, len: call.encodedLength } };
      const calls = [
        api.tx.preimage.notePreimage(call.toHex()),
        api.tx.referenda.submit(origin, proposal, { After: track.minEnactmentPeriod }),
      ];
      const pair = signer(options.seed);
      const { events } = await submit(api, api.tx.utility.batchAll(calls), pair);
      const submitted = events.find(({ event }) => api.events.referenda.Submitted.is(event));
      if (!submitted) throw new Error('no Referenda.Submitted event');
      const index = submitted.event.data[0].toNumber();
      const { blockHash } = await submit(api, api.tx.referenda.placeDecisionDeposit(index), pair);
      console.log(json({ referendum: index, track: track.id, call: call.toHex(), blockHash }));
    } else if (command === 'vote') {
      if (!options.seed || options.referendum === undefined || !options.balance) throw new Error('vote needs --seed, --referendum and --balance');
      if (!options.aye === !options.nay) throw new Error('vote needs one of --aye or --nay');
      const vote = { Standard: { vote: { aye: !!options.aye, conviction: options.conviction ?? 'Locked1x' }, balance: parseOpg(options.balance) } };
      const { blockHash } = await submit(api, api.tx.convictionVoting.vote(Number(options.referendum), vote), signer(options.seed));
      console.log(json({ referendum: Number(options.referendum), aye: !!options.aye, blockHash }));
    } else {
      throw new Error(`unknown command ${command}: tracks, referenda, propose or vote`);
    }
  } finally {
    await api.disconnect();
  }
});

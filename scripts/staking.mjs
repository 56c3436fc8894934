#!/usr/bin/env node
// Staking from the command line, through the same @polkadot/api derives that polkadot.js Apps'
// Staking pages read.
//
// node scripts/staking.mjs overview [--json]
//   the active era, the session and how far into the era it is, the elected validators with
//   their stake and era points, and the candidates waiting for the next election
// node scripts/staking.mjs validate --seed //Dave --bond 20000 [--commission 5]
//   asks the node at --url for new session keys and the proof that they belong to the stash
//   (`author_rotateKeysWithOwner`, an unsafe RPC method: the validator's own node), then bonds,
//   sets the keys and declares the intent to validate in one `utility.batchAll`; the stash
//   joins the set at the next election
// node scripts/staking.mjs nominate --seed //Eve --bond 1000 --target ADDR [--target ADDR]
//   bonds and nominates validators in one `utility.batchAll`
//
// Every command takes --url (default ws://127.0.0.1:9944). Amounts are in OPG.
import { u8aToHex } from '@polkadot/util';
import { connect, formatOpg, parseArgs, parseOpg, run, signer, submit } from './lib.mjs';

/** The active era and session, validators, nominators and waiting candidates. */
async function overview(api) {
  const [info, overview, waiting] = await Promise.all([
    api.derive.session.info(),
    api.derive.staking.overview(),
    api.derive.staking.waitingInfo(),
  ]);
  const era = info.activeEra.toNumber();
  const session = info.currentIndex.toNumber();
  const eraStart = (await api.query.staking.erasStartSessionIndex(era)).unwrapOr(null)?.toNumber() ?? 0;
  const points = await api.derive.staking.currentPoints();
  const pointsOf = new Map([...points.individual.entries()].map(([stash, p]) => [stash.toString(), p.toNumber()]));
  const validators = [];
  for (const stash of overview.validators) {
    const exposure = (await api.query.staking.erasStakersOverview(era, stash)).unwrapOr(null);
    validators.push({
      stash: stash.toString(),
      own: exposure ? exposure.own.toBigInt() : 0n,
      total: exposure ? exposure.total.toBigInt() : 0n,
      nominators: exposure ? exposure.nominatorCount.toNumber() : 0,
      points: pointsOf.get(stash.toString()) ?? 0,
    });
  }
  const nominators = (await api.query.staking.counterForNominators()).toNumber();
  return {
    era,
    session,
    sessionOfEra: session - eraStart + 1,
    sessionsPerEra: api.consts.staking.sessionsPerEra.toNumber(),
    validators,
    nextElected: overview.nextElected.map((stash) => stash.toString()),
    waiting: waiting.waiting.map((stash) => stash.toString()),
    nominators,
  };
}

function printOverview(view) {
  console.log(`era ${view.era}, session ${view.session} (${view.sessionOfEra} of ${view.sessionsPerEra} in the era)`);
  console.log(`validators (${view.validators.length}):`);
  for (const v of view.validators) {
    console.log(`  ${v.stash}  own ${formatOpg(v.own)}  total ${formatOpg(v.total)}  nominators ${v.nominators}  points ${v.points}`);
  }
  console.log(`waiting candidates: ${view.waiting.length ? view.waiting.join(', ') : 'none'}`);
  console.log(`nominators: ${view.nominators}`);
}

run(async () => {
  const { options, positional } = parseArgs(process.argv.slice(2), { repeatable: ['target'], flags: ['json'] });
  const command = positional[0] ?? 'overview';
  const api = await connect(options.url ?? 'ws://127.0.0.1:9944');
  try {
    if (command === 'overview') {
      const view = await overview(api);
      if (options.json) {
        console.log(JSON.stringify(view, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2));
      } else {
        printOverview(view);
      }
    } else if (command === 'validate') {
      if (!options.seed || !options.bond) throw new Error('validate needs --seed and --bond');
      const pair = signer(options.seed);
      // The keys sign the stash's account id; `session.setKeys` checks that proof.
      const { keys, proof } = (await api.rpc.author.rotateKeysWithOwner(u8aToHex(pair.publicKey))).toJSON();
      const commission = Math.round(Number(options.commission ?? 0) * 10_000_000);
      const calls = [
        api.tx.staking.bond(parseOpg(options.bond), 'Staked'),
        api.tx.session.setKeys(keys, proof ?? '0x'),
        api.tx.staking.validate({ commission, blocked: false }),
      ];
      const { blockHash } = await submit(api, api.tx.utility.batchAll(calls), pair);
      console.log(JSON.stringify({ stash: pair.address, sessionKeys: keys, bond: parseOpg(options.bond).toString(), blockHash }));
    } else if (command === 'nominate') {
      if (!options.seed || !options.bond || !options.target) throw new Error('nominate needs --seed, --bond and --target');
      const pair = signer(options.seed);
      const calls = [
        api.tx.staking.bond(parseOpg(options.bond), 'Staked'),
        api.tx.staking.nominate(options.target),
      ];
      const { blockHash } = await submit(api, api.tx.utility.batchAll(calls), pair);
      console.log(JSON.stringify({ nominator: pair.address, targets: options.target, blockHash }));
    } else {
      throw new Error(`unknown command ${command}: overview, validate or nominate`);
    }
  } finally {
    await api.disconnect();
  }
});

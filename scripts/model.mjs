#!/usr/bin/env node
// Manages a published model on the OPG Model Hub through the chain's metadata.
//
// node scripts/model.mjs COMMAND ID [ARGS] [--url ws://127.0.0.1:9944] [--suri //Alice]
//
//   show ID                          the model, its current version and usage (no signing)
//   publish-version ID FILE.onnx     a new artifact [--uri URI] [--schema FILE.schema.json]
//   set-price ID OPG                 price per call for requests made from now on
//   set-royalties ID ADDR=PERCENT..  a new royalty split (shares sum to 100)
//   pause ID | resume ID | retire ID status changes (retiring is final; the deposits stay held)
//   remove ID                        delete a retired model's records a week after retiring,
//                                    releasing the deposits
//   transfer ID ADDR                 hand the model to another account
//   delist ID                        moderation, through sudo (dev chain; elsewhere a referendum)
//
// ADDR is an SS58 address or a dev secret URI such as //Bob. Each command prints the model as
// read back from chain after its transaction is in a block.
import { accountOf, connect, parseArgs, parseOpg, parseRoyalties, readModelFile, run, signer, submit } from './lib.mjs';

async function show(api, id) {
  const [model, usage] = await Promise.all([
    api.query.modelRegistry.models(id),
    api.query.modelRegistry.modelUsage(id),
  ]);
  if (model.isNone) throw new Error(`model ${id} not found`);
  const record = model.unwrap();
  const version = await api.query.modelRegistry.versions(id, record.version);
  return { model: String(id), record: model.toJSON(), version: version.toJSON(), usage: usage.toJSON() };
}

run(async () => {
  const { options, positional } = parseArgs(process.argv.slice(2));
  const [command, id, ...rest] = positional;
  if (!command || id === undefined) throw new Error('usage: model.mjs COMMAND ID [ARGS] (see the header of this file)');
  const api = await connect(options.url ?? 'ws://127.0.0.1:9944');
  const registry = api.tx.modelRegistry;
  const status = { pause: 'Paused', resume: 'Active', retire: 'Retired' };

  let tx = null;
  switch (command) {
    case 'show':
      break;
    case 'publish-version': {
      const { artifact, schema, roundingBits, agreement } = readModelFile(rest[0] ?? '', { uri: options.uri, schemaFile: options.schema });
      tx = registry.publishVersion(id, artifact, schema, roundingBits, agreement);
      break;
    }
    case 'set-price':
      tx = registry.setPrice(id, parseOpg(rest[0]));
      break;
    case 'set-royalties':
      tx = registry.setRoyalties(id, parseRoyalties(rest));
      break;
    case 'pause':
    case 'resume':
    case 'retire':
      tx = registry.setStatus(id, status[command]);
      break;
    case 'transfer':
      tx = registry.transferOwnership(id, accountOf(rest[0]));
      break;
    case 'delist':
      tx = api.tx.sudo.sudo(registry.delistModel(id));
      break;
    case 'remove':
      tx = registry.removeModel(id);
      break;
    default:
      throw new Error(`unknown command ${command}`);
  }
  if (tx) {
    const { events } = await submit(api, tx, signer(options.suri ?? '//Alice'));
    const sudid = events.find(({ event }) => api.events.sudo?.Sudid?.is(event));
    if (sudid && sudid.event.data.sudoResult.isErr) {
      const error = sudid.event.data.sudoResult.asErr;
      const meta = error.isModule ? api.registry.findMetaError(error.asModule) : null;
      throw new Error(meta ? `${meta.section}.${meta.name}: ${meta.docs.join(' ')}` : error.toString());
    }
  }
  if (command === 'remove') {
    console.log(JSON.stringify({ model: String(id), removed: (await api.query.modelRegistry.models(id)).isNone }));
  } else {
    console.log(JSON.stringify(await show(api, id), null, 2));
  }
  await api.disconnect();
});

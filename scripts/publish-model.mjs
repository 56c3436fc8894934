#!/usr/bin/env node
// Publishes an ONNX model to the OPG Model Hub, using nothing but the chain's metadata.
//
// node scripts/publish-model.mjs FILE.onnx --name NAME --price OPG --royalty ADDR=PERCENT ...
//   [--description TEXT] [--uri URI] [--schema FILE.schema.json] [--parent ID=PERCENT]
//   [--url ws://127.0.0.1:9944] [--suri //Alice]
//
// The file is hashed (blake2-256) and its size taken; the URI defaults to file://<its path>;
// the schema defaults to FILE.schema.json beside it (as make-sample-models.py writes). ADDR is
// an SS58 address or a dev secret URI such as //Bob. Prints the model as read back from chain.
import { connect, parseArgs, parseOpg, parsePercent, parseRoyalties, readModelFile, run, signer, submit } from './lib.mjs';

run(async () => {
  const { options, positional } = parseArgs(process.argv.slice(2), { repeatable: ['royalty'] });
  const [file] = positional;
  if (!file || !options.name || options.price === undefined || !options.royalty) {
    throw new Error('usage: publish-model.mjs FILE.onnx --name NAME --price OPG --royalty ADDR=PERCENT ...');
  }
  const { artifact, schema, roundingBits, agreement } = readModelFile(file, { uri: options.uri, schemaFile: options.schema });
  const royalties = parseRoyalties(options.royalty);
  let parent = null;
  if (options.parent) {
    const [model, share] = options.parent.split('=');
    parent = { model: BigInt(model), share: parsePercent(share) };
  }

  const api = await connect(options.url ?? 'ws://127.0.0.1:9944');
  const tx = api.tx.modelRegistry.publishModel(
    options.name,
    options.description ?? '',
    artifact,
    schema,
    roundingBits,
    agreement,
    parseOpg(options.price),
    royalties,
    parent,
  );
  const { blockHash, events } = await submit(api, tx, signer(options.suri ?? '//Alice'));
  const published = events.find(({ event }) => api.events.modelRegistry.ModelPublished.is(event));
  if (!published) throw new Error('no ModelPublished event');
  const id = published.event.data.model.toString();

  const model = await api.query.modelRegistry.models(id);
  const version = await api.query.modelRegistry.versions(id, 1);
  console.log(JSON.stringify({ model: id, block: blockHash, record: model.toJSON(), version: version.toJSON() }, null, 2));
  await api.disconnect();
});

/**
 * A model's page (`#/model/<id>`, `hubindex_model`): its terms, lineage, versions and royalty
 * split; its calls, fees, royalties and payers over the chosen window, day by day; who pays
 * most; which workers serve it; and a form to pay for one call ("try it").
 */
import { fillDays, usageCharts } from '../charts.js';
import { count, dateTime, h, perbill } from '../format.js';
import {
  accountLink, balance, bigBalance, facts, figure, figures, heading, link, modelLink, section, stateBadge, table,
  windowOf, windowPicker,
} from '../ui.js';

/** The try-it form of the last model shown, kept so a new window does not reset it. */
let tryIt = null;

/**
 * Loads and draws a model's page.
 *
 * @param {{ client: any, params: { id: string }, query: URLSearchParams, setQuery: Function }} context
 * @returns {Promise<HTMLElement>}
 */
export async function render({ client, params, query, setQuery }) {
  if (!/^\d+$/.test(params.id)) {
    throw Object.assign(new Error(`“${params.id}” is not a model id`), { kind: 'notFound' });
  }
  const id = Number(params.id);
  const span = windowOf(query);
  const answer = await client.call('hubindex_model', [id, span.param]);
  if (!answer) throw Object.assign(new Error(`No model has id ${id}.`), { kind: 'notFound' });
  const { model, totals } = answer;
  const daily = fillDays(answer.daily ?? [], ['calls', 'fees', 'royalties', 'payers'], answer.window);

  const lineage = model.lineage?.length
    ? h('span.lineage', null, [...model.lineage.map((ancestor) => [modelLink(ancestor, `#${ancestor}`), h('span.arrow', null, ' → ')]), h('strong', null, `#${model.id}`)])
    : null;
  const terms = section('Terms', facts([
    ['Price', h('span', null, balance(model.price), ' per call')],
    ['State', stateBadge(model.state)],
    ['Version', String(model.version)],
    ['Owner', accountLink(model.owner)],
    ['Published', `block #${count(model.created)} · ${dateTime(model.createdAt)}`],
    ['Parent', model.parent === null || model.parent === undefined ? 'none' : modelLink(model.parent, `#${model.parent}`)],
    lineage ? ['Lineage', lineage] : null,
    ['Children', model.children?.length ? h('span.links', null, model.children.map((child) => modelLink(child, `#${child}`))) : 'none'],
  ]));
  const split = section('Royalty split', table([
    { label: 'Beneficiary', cell: (s) => accountLink(s.account) },
    { label: 'Share', cell: (s) => perbill(s.perbill), numeric: true },
  ], model.split ?? [], { empty: 'No royalty split.' }));
  const versions = section('Versions', table([
    { label: 'Version', cell: (v) => (v.version === model.version ? h('strong', null, `${v.version} (current)`) : String(v.version)) },
    { label: 'Block', cell: (v) => `#${count(v.block)}`, numeric: true },
    { label: 'Artifact hash', cell: (v) => h('code.hash', { title: v.artifactHash }, v.artifactHash) },
  ], [...(model.versions ?? [])].reverse(), { empty: 'No versions.' }));

  const usage = section('Usage',
    windowPicker(span, answer.window, (entries) => setQuery(entries)),
    figures(
      figure('Calls', count(totals.calls), { testid: 'model-calls', value: totals.calls }),
      figure('Fees paid', bigBalance(totals.fees), { testid: 'model-fees', value: totals.fees }),
      figure('Royalties', bigBalance(totals.royalties), { testid: 'model-royalties', value: totals.royalties }),
      figure('Payers', count(totals.payers), { testid: 'model-payers', value: totals.payers }),
    ),
    usageCharts(daily));

  const payers = section('Top payers', table([
    { label: 'Account', cell: (p) => accountLink(p.account) },
    { label: 'Calls', cell: (p) => count(p.calls), numeric: true },
    { label: 'Fees paid', cell: (p) => balance(p.fees), numeric: true },
  ], answer.payers ?? [], {
    testid: 'payers-table',
    rowAttributes: (p) => ({ 'data-testid': 'payer-row', 'data-account': p.account }),
    empty: 'No calls in this window.',
  }));
  const workers = section('Workers serving it', table([
    { label: 'Worker', cell: (w) => accountLink(w.account, 'worker') },
    { label: 'Version ready', cell: (w) => String(w.version), numeric: true },
  ], answer.workers ?? [], {
    testid: 'workers-table',
    rowAttributes: (w) => ({ 'data-testid': 'worker-row', 'data-account': w.account }),
    empty: 'No worker holds this model ready.',
  }));

  return h('div.page', { dataset: { title: model.name || `Model #${model.id}` } },
    heading(h('span', null, link('#/', 'Catalog'), ' / Model'), model.name || `Model #${model.id}`,
      h('span.chip', null, `#${model.id}`), stateBadge(model.state)),
    model.description ? h('p.lede', null, model.description) : null,
    h('div.two-columns', null, terms, split),
    usage,
    h('div.two-columns', null, payers, workers),
    versions,
    tryItSection(client, model));
}

/** The try-it panel: the form itself loads with `@polkadot/api`, after the page is shown. */
function tryItSection(client, model) {
  if (tryIt && tryIt.id === model.id && tryIt.version === model.version) return tryIt.element;
  const body = h('div.try-body', null, h('p.muted', null, 'Loading the signer…'));
  const element = section('Try it', body);
  element.dataset.testid = 'try-it';
  element.dataset.state = 'loading';
  element.id = 'try-it';
  tryIt = { id: model.id, version: model.version, element };
  import('../tryit.js').then(
    (module) => module.mountTryIt(body, { client, model, panel: element }),
    (error) => {
      element.dataset.state = 'error';
      body.replaceChildren(h('p.error-text', null, `The form could not load: ${error.message}`));
    },
  );
  return element;
}

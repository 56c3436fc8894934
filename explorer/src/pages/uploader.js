/**
 * An uploader's page (`#/uploader/<ss58>`, `hubindex_uploader`): the models the account owns
 * and what they earned over the chosen window, in total, per model and day by day.
 */
import { fillDays, usageCharts } from '../charts.js';
import { account, count, h } from '../format.js';
import { balance, bigBalance, figure, figures, heading, link, modelLink, section, table, windowOf, windowPicker } from '../ui.js';

/**
 * Loads and draws an uploader's page.
 *
 * @param {{ client: any, params: { account: string }, query: URLSearchParams, setQuery: Function }} context
 * @returns {Promise<HTMLElement>}
 */
export async function render({ client, params, query, setQuery }) {
  const span = windowOf(query);
  const answer = await client.call('hubindex_uploader', [params.account, span.param]);
  const { totals } = answer;
  const daily = fillDays(answer.daily ?? [], ['calls', 'fees', 'royalties'], answer.window);

  return h('div.page', { dataset: { title: `Uploader ${account(answer.account)}` } },
    heading(h('span', null, link('#/', 'Catalog'), ' / Uploader'), account(answer.account)),
    h('p.address', null, h('code', null, answer.account), ' · ', link(`#/worker/${answer.account}`, 'as a worker')),
    section(null,
      windowPicker(span, answer.window, (entries) => setQuery(entries)),
      figures(
        figure('Models', count(totals.models), { testid: 'uploader-models', value: totals.models }),
        figure('Calls', count(totals.calls), { testid: 'uploader-calls', value: totals.calls }),
        figure('Fees paid by callers', bigBalance(totals.fees), { testid: 'uploader-fees', value: totals.fees }),
        figure('Royalties', bigBalance(totals.royalties), { testid: 'uploader-royalties', value: totals.royalties }),
      ),
      usageCharts(daily)),
    section('Models', table([
      { label: 'Model', cell: (m) => h('span.nowrap', null, modelLink(m.id, m.name), h('span.muted.id', null, ` #${m.id}`)) },
      { label: 'Calls', cell: (m) => count(m.calls), numeric: true },
      { label: 'Fees', cell: (m) => balance(m.fees), numeric: true },
      { label: 'Royalties', cell: (m) => balance(m.royalties), numeric: true },
    ], answer.models ?? [], {
      testid: 'uploader-models-table',
      rowAttributes: (m) => ({ 'data-testid': 'uploader-model-row', 'data-model-id': String(m.id) }),
      empty: 'This account owns no models.',
    })));
}

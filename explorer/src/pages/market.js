/**
 * The market (`#/market`, `hubindex_market`): where demand goes across the hub's models over
 * the chosen window. Headline figures (calls, models called, the top-10 share, HHI, Gini and
 * the royalty shares of the bottom half and bottom 80% of models), the Lorenz curves of calls
 * and royalties, and how concentration moved day by day.
 */
import { compact, dailyChart, fillDays, lorenzChart } from '../charts.js';
import { count, h, percent, ratio } from '../format.js';
import { bigBalance, figure, figures, heading, section, windowOf, windowPicker } from '../ui.js';

/** Points of the Lorenz curves asked of the node. */
const LORENZ_POINTS = 20;

/**
 * Loads and draws the market page.
 *
 * @param {{ client: any, query: URLSearchParams, setQuery: Function }} context
 * @returns {Promise<HTMLElement>}
 */
export async function render({ client, query, setQuery }) {
  const span = windowOf(query);
  const m = await client.call('hubindex_market', [span.param, LORENZ_POINTS]);
  const daily = fillDays(m.daily ?? [], ['calls', 'fees', 'royalties', 'modelsCalled'], m.window);
  const dates = daily.map((d) => d.date);
  // Days without calls have no concentration: the lines break there.
  const share = (d, field) => (d.calls ? d[field] ?? null : null);
  const pct = (v) => `${Math.round(v * 100)}%`;

  return h('div.page', { dataset: { title: 'Market' } },
    heading('Market', 'Where demand goes'),
    section(null,
      windowPicker(span, m.window, (entries) => setQuery(entries)),
      figures(
        figure('Calls', count(m.calls), { testid: 'market-calls', value: m.calls }),
        figure('Models called', h('span', null, count(m.modelsCalled), h('span.muted.small', null, ` of ${count(m.models)}`)),
          { testid: 'market-models-called', value: m.modelsCalled }),
        figure('Top-10 share', percent(m.top10Share), { testid: 'market-top10', value: m.top10Share, hint: 'Share of calls that went to the 10 most-called models' }),
        figure('HHI', ratio(m.hhi), { testid: 'market-hhi', value: m.hhi, hint: 'Herfindahl–Hirschman index of call shares: 1/n when n models share demand evenly, 1 when one takes it all' }),
        figure('Gini', ratio(m.gini), { testid: 'market-gini', value: m.gini, hint: 'Gini coefficient of calls across all models: 0 for equal demand, near 1 when one model takes it all' }),
        figure('Bottom 50% royalties', percent(m.bottom50RoyaltyShare), { testid: 'market-bottom50', value: m.bottom50RoyaltyShare, hint: 'Share of royalties earned by the least-earning half of models' }),
        figure('Bottom 80% royalties', percent(m.bottom80RoyaltyShare), { testid: 'market-bottom80', value: m.bottom80RoyaltyShare, hint: 'Share of royalties earned by the least-earning 80% of models' }),
        figure('Fees', bigBalance(m.fees), { testid: 'market-fees', value: m.fees }),
        figure('Royalties', bigBalance(m.royalties), { testid: 'market-royalties', value: m.royalties }),
      )),
    h('div.two-columns.wide-first', null,
      section('Lorenz curves', lorenzChart('Cumulative share of calls and royalties, models ordered from least to most', [
        { label: 'Calls', points: m.calls ? m.lorenz : [] },
        { label: 'Royalties', points: BigInt(m.royalties ?? 0) > 0n ? m.royaltyLorenz : [] },
      ])),
      section('Reading the figures', h('ul.notes', null,
        h('li', null, 'The further the curves bow below the diagonal, the more demand gathers on a few models.'),
        h('li', null, 'HHI is 1/n when n models share calls evenly and 1 when one model takes every call.'),
        h('li', null, 'Gini counts every model ever published, uncalled ones too: 0 is equal demand, near 1 is one model taking it all.'),
        h('li', null, 'The bottom shares say what the long tail of models earns.')))),
    section('Concentration over time', h('div.chart-grid', null,
      dailyChart('Daily top-10 share, HHI and Gini', dates, [
        { label: 'Top-10 share', values: daily.map((d) => share(d, 'top10Share')), type: 'line' },
        { label: 'HHI', values: daily.map((d) => share(d, 'hhi')), type: 'line' },
        { label: 'Gini', values: daily.map((d) => share(d, 'gini')), type: 'line' },
      ], { format: pct, max: 1, tooltip: (v, label) => (label === 'Top-10 share' ? percent(v) : ratio(v)) }),
      dailyChart('Daily calls', dates, [
        { label: 'Calls', values: daily.map((d) => d.calls) },
        { label: 'Models called', values: daily.map((d) => d.modelsCalled), type: 'line', axis: 'y2' },
      ], { format: compact, format2: compact }))));
}

import uPlot from 'uplot';
import { api } from '../api';
import { cards, esc, num } from '../format';

interface Networks {
  from: string;
  to: string;
  networks: Array<{ chain_id: string; packets_sent: number; packets_acknowledged: number; packets_timed_out: number; success_rate: number | null; avg_relay_time_ms: number | null; p95_relay_time_ms: number | null }>;
}

/** Platform: totals, and per chain over the last week with a chart of packets sent. */
export function platformPage(root: HTMLElement): () => void {
  root.innerHTML = `<section class="cards" id="totals"></section>
    <section><h2>Packets sent per chain, last 7 days</h2><div id="chains-chart" class="chart"></div></section>
    <section><h2>Networks</h2><table id="networks"><thead><tr><th>chain</th><th>sent</th><th>acknowledged</th><th>timed out</th><th>success</th><th>relay time avg / p95</th></tr></thead><tbody></tbody></table></section>`;
  let chart: uPlot | undefined;
  void (async () => {
    const [platform, networks] = await Promise.all([api<{ stats: Record<string, number | string | null> }>('/stats/platform'), api<Networks>('/stats/networks')]);
    const s = platform.stats;
    root.querySelector('#totals')!.innerHTML = cards([
      ['packets tracked', s.packets_tracked],
      ['completed', s.packets_completed],
      ['stuck now', s.stuck_now],
      ['clearing operations', s.clearing_operations],
      ['packets cleared', s.packets_cleared],
      ['clearing success', s.clearing_success_rate === null ? null : s.clearing_success_rate],
    ] as Array<[string, unknown]>);
    root.querySelector('#networks tbody')!.innerHTML = networks.networks
      .map((n) => `<tr><td>${esc(n.chain_id)}</td><td>${num(n.packets_sent)}</td><td>${num(n.packets_acknowledged)}</td><td>${num(n.packets_timed_out)}</td><td>${n.success_rate === null ? '—' : `${num(n.success_rate, 1)} %`}</td><td>${num(n.avg_relay_time_ms)} / ${num(n.p95_relay_time_ms)} ms</td></tr>`)
      .join('');
    const el = root.querySelector<HTMLElement>('#chains-chart')!;
    const xs = networks.networks.map((_, i) => i);
    chart = new uPlot(
      {
        width: el.clientWidth || 800,
        height: 200,
        series: [{}, { label: 'packets sent', stroke: '#16a34a', fill: 'rgba(22,163,74,0.25)', paths: uPlot.paths.bars!({ size: [0.6] }) }],
        axes: [{ values: (_u, ticks) => ticks.map((t) => networks.networks[t]?.chain_id ?? '') }, { size: 60 }],
        scales: { x: { time: false } },
        legend: { show: false },
      },
      [xs, networks.networks.map((n) => n.packets_sent)],
      el,
    );
  })();
  return () => chart?.destroy();
}

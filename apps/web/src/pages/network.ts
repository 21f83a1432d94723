import uPlot from 'uplot';
import { api } from '../api';
import { cards, esc, num, short } from '../format';
import type { Live, LiveMessage } from '../live';

interface Congestion {
  channels: Array<{ chain_id: string; channel_id: string; counterparty_chain_id: string | null; congestion_score: number | null; pending_backlog: number; stuck_count: number; success_rate: number | null }>;
}
interface Relayers {
  relayers: Array<{ relayer_address: string; chain_id: string; packets_relayed: number; packets_effected: number; packets_frontrun: number; reputation_score: number | null }>;
}
interface Platform {
  stats: Record<string, number | string | null>;
}

/** Network, live: packets/s, the live feed, congestion, the relayer leaderboard, stuck packets by kind. */
export function networkPage(root: HTMLElement, live: Live): () => void {
  root.innerHTML = `
    <section class="cards" id="stuck-cards"></section>
    <section><h2>Packets per second</h2><div id="rate-chart" class="chart"></div></section>
    <div class="columns">
      <section><h2>Live packets</h2><ol id="feed" class="feed" aria-live="polite"></ol></section>
      <section><h2>Channel congestion</h2><table id="congestion"><thead><tr><th>channel</th><th>to</th><th>congestion</th><th>backlog</th><th>stuck</th><th>success</th></tr></thead><tbody></tbody></table></section>
    </div>
    <section><h2>Relayer leaderboard</h2><table id="relayers"><thead><tr><th>relayer</th><th>chain</th><th>relayed</th><th>won</th><th>frontrun</th><th>reputation</th></tr></thead><tbody></tbody></table></section>`;

  // Packets/s over the last two minutes, counted from the live feed.
  const seconds = 120;
  const xs = Array.from({ length: seconds }, (_, i) => Math.floor(Date.now() / 1000) - seconds + i + 1);
  const ys = new Array<number>(seconds).fill(0);
  const chartEl = root.querySelector<HTMLElement>('#rate-chart')!;
  const chart = new uPlot(
    { width: chartEl.clientWidth || 800, height: 180, series: [{}, { label: 'packets/s', stroke: '#2563eb', fill: 'rgba(37,99,235,0.1)' }], axes: [{}, { size: 50 }], legend: { show: false } },
    [xs, ys],
    chartEl,
  );
  const tick = window.setInterval(() => {
    const now = Math.floor(Date.now() / 1000);
    while (xs[xs.length - 1]! < now) {
      xs.push(xs[xs.length - 1]! + 1);
      ys.push(0);
      xs.shift();
      ys.shift();
    }
    chart.setData([xs, ys]);
  }, 1000);

  const feed = root.querySelector<HTMLOListElement>('#feed')!;
  const onPackets = (messages: LiveMessage[]) => {
    // Counted as they arrive: a chain's block time can lag the wall clock, and this chart is about now.
    const sent = messages.filter((m) => m.event === 'packet.sent').length;
    const i = xs.indexOf(Math.floor(Date.now() / 1000));
    if (i >= 0) ys[i] = (ys[i] ?? 0) + sent;
    for (const m of messages) {
      const p = m.data.packet;
      const li = document.createElement('li');
      li.className = `event ${m.event.replace('.', '-')}`;
      li.innerHTML = `<span class="what">${esc(m.event.replace('packet.', ''))}</span> <span class="packet">${esc(p.src_chain_id)}/${esc(p.src_channel)} #${esc(p.sequence)}</span>${
        m.data.relayer ? ` <span class="relayer">${m.data.effected === false ? 'frontrun' : 'by'} ${esc(short(m.data.relayer))}</span>` : ''
      }`;
      feed.prepend(li);
    }
    while (feed.children.length > 50) feed.lastElementChild!.remove();
  };
  void live.subscribe('packets:live', onPackets);

  const renderStuck = (stats: Platform['stats']) => {
    root.querySelector('#stuck-cards')!.innerHTML = cards([
      ['stuck now', stats.stuck_now],
      ['never received', stats.stuck_awaiting_recv],
      ['ack not relayed', stats.stuck_awaiting_ack],
      ['timeout not relayed', stats.stuck_timeout_pending],
      ['packets tracked', stats.packets_tracked],
    ] as Array<[string, unknown]>);
  };
  const onPlatform = (messages: LiveMessage[]) => renderStuck(messages[messages.length - 1]!.data.stats);
  void live.subscribe('platform:stats', onPlatform);

  const refresh = async () => {
    const [platform, congestion, relayers] = await Promise.all([
      api<Platform>('/stats/platform'),
      api<Congestion>('/channels/congestion?limit=10'),
      api<Relayers>('/stats/relayers?limit=10'),
    ]);
    renderStuck(platform.stats);
    root.querySelector('#congestion tbody')!.innerHTML = congestion.channels
      .map((c) => `<tr><td>${esc(c.chain_id)}/${esc(c.channel_id)}</td><td>${esc(c.counterparty_chain_id ?? '—')}</td><td><meter min="0" max="100" value="${c.congestion_score ?? 0}"></meter> ${num(c.congestion_score)}</td><td>${num(c.pending_backlog)}</td><td>${num(c.stuck_count)}</td><td>${c.success_rate === null ? '—' : `${num(c.success_rate, 1)} %`}</td></tr>`)
      .join('');
    root.querySelector('#relayers tbody')!.innerHTML = relayers.relayers
      .map((r) => `<tr><td title="${esc(r.relayer_address)}">${esc(short(r.relayer_address))}</td><td>${esc(r.chain_id)}</td><td>${num(r.packets_relayed)}</td><td>${num(r.packets_effected)}</td><td>${num(r.packets_frontrun)}</td><td>${num(r.reputation_score)}</td></tr>`)
      .join('');
  };
  void refresh().catch(() => undefined);
  const poll = window.setInterval(() => void refresh().catch(() => undefined), 15_000);

  return () => {
    window.clearInterval(tick);
    window.clearInterval(poll);
    live.unsubscribe('packets:live', onPackets);
    live.unsubscribe('platform:stats', onPlatform);
    chart.destroy();
  };
}

/** Small formatting helpers shared by the pages. */
export const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function duration(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  const text = s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} d`;
  return seconds < 0 ? `${text} ago` : text;
}

export const num = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export const short = (address: string | null | undefined) => (address ? `${address.slice(0, 10)}…${address.slice(-6)}` : '—');

export const KIND_LABELS: Record<string, string> = {
  awaiting_recv: 'never received',
  awaiting_ack: 'acknowledgement not relayed back',
  timeout_pending: 'timed out, refund not relayed',
};

/** A row of figure cards. */
export const cards = (items: Array<[string, unknown]>) =>
  items.map(([label, value]) => `<div class="card"><div class="value">${num(value as number)}</div><div class="label">${esc(label)}</div></div>`).join('');

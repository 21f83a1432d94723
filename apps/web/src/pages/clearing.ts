import { api, ApiError, type WebConfig } from '../api';
import { payFromPage, paymentChainOf, type PaymentInstructions } from '../pay';
import { hasKeplr } from '../wallet';
import { duration, esc } from '../format';
import type { Live, LiveMessage } from '../live';

type PacketId = { src_chain_id: string; src_port: string; src_channel: string; sequence: string };
type State = 'quoted' | 'paid' | 'clearing' | 'completed' | 'failed' | 'refunded' | 'expired';

export interface Quote {
  operation_id: string;
  token: string;
  expires_at: string;
  payment: PaymentInstructions;
  fee: { base: string; per_packet: string; gas: string; total: string; denom: string };
}

interface Operation {
  state: State;
  expires_at: string | null;
  progress: { total: number; cleared: number };
  packets: Array<{ packet: PacketId; state: string; tx_hash?: string }>;
  paid: { tx_hash: string; amount: string; excess: string; detected_by: 'user' | 'ingest' } | null;
  refunds: Array<{ reason: 'failure' | 'excess' | 'rejected'; amount: string; denom: string; status: string; tx_hash: string | null }>;
  error: string | null;
}

const STORAGE_KEY = 'unstuck.clearing';
const SAY: Record<State, string> = {
  quoted: 'Waiting for your payment',
  paid: 'Payment received; clearing starts',
  clearing: 'Relaying your packets',
  completed: 'Cleared',
  failed: 'Clearing failed; your payment is being refunded',
  refunded: 'Clearing failed; your payment was refunded',
  expired: 'The quote expired before a payment arrived',
};
const REFUND_REASON = { failure: 'clearing failed', excess: 'paid more than quoted', rejected: 'payment refused' } as const;

/** Where the bar stands: payment, relaying (by packets cleared), done. */
function percent(op: Operation): number {
  if (op.state === 'quoted' || op.state === 'expired') return 5;
  if (op.state === 'paid') return 30;
  if (op.state === 'clearing') return 30 + Math.round((60 * op.progress.cleared) / Math.max(1, op.progress.total));
  return 100;
}

/** Whether nothing more will change: a final state and every refund settled. */
const settled = (op: Operation) =>
  (op.state === 'completed' || op.state === 'refunded' || op.state === 'expired') && op.refunds.every((r) => r.status === 'confirmed' || r.status === 'failed');

async function copy(text: string, button: HTMLButtonElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Select and copy';
  }
  window.setTimeout(() => (button.textContent = 'Copy'), 1500);
}

/** The quote the wallet is paying now, kept for the session so a reload shows it again. */
export const savedQuote = (): Quote | undefined => {
  const text = sessionStorage.getItem(STORAGE_KEY);
  return text ? (JSON.parse(text) as Quote) : undefined;
};

/**
 * One clearing operation, from the quote to the receipt: payment instructions (amount, denom, address, memo, each
 * with a copy button), a form for the payment's tx hash (Unstuck also notices the payment by itself), a progress
 * bar moved by the `clearing:<token>` room's live updates (polled every 10 s as well, in case the live connection
 * is down), then the receipt with the transaction hashes, or the refund.
 */
export function clearingPanel(root: HTMLElement, live: Live, config: WebConfig, quote: Quote, onFinished: () => void): () => void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(quote));
  const p = quote.payment;
  const payable = paymentChainOf(config, p.chain_id) !== undefined;
  const payButtons = payable
    ? `${config.demo_wallet.enabled ? '<button type="button" id="pay-demo">Pay with the demo wallet</button> ' : ''}${hasKeplr() ? '<button type="button" id="pay-keplr">Pay with Keplr</button>' : ''}`
    : '';
  root.innerHTML = `
    <section id="clearing" data-state="quoted">
      <h2>Clearing operation <code>${esc(quote.operation_id.slice(0, 8))}</code></h2>
      <progress id="clearing-progress" max="100" value="5"></progress>
      <p><b id="clearing-state">${SAY.quoted}</b> <span id="clearing-detail"></span></p>
      <div id="instructions">
        <p>Send exactly this from your wallet on <b>${esc(p.chain_id)}</b>, with the memo — it ties the payment to this quote:</p>
        <dl class="pay">
          <dt>Amount</dt><dd><code id="pay-amount">${esc(p.amount)}</code> <code>${esc(p.denom)}</code> <button type="button" data-copy="${esc(p.amount)}">Copy</button></dd>
          <dt>To</dt><dd><code id="pay-address">${esc(p.address)}</code> <button type="button" data-copy="${esc(p.address)}">Copy</button></dd>
          <dt>Memo</dt><dd><code id="pay-memo">${esc(p.memo)}</code> <button type="button" data-copy="${esc(p.memo)}">Copy</button></dd>
          <dt>Pay before</dt><dd id="pay-deadline">${esc(new Date(quote.expires_at).toLocaleTimeString())}</dd>
        </dl>
        <p class="fee">Fee: ${esc(quote.fee.base)} base + ${esc(quote.fee.per_packet)} per packet + ${esc(quote.fee.gas)} estimated gas = ${esc(quote.fee.total)} ${esc(quote.fee.denom)}.
          Payments that cannot pay (too little, too late, another denom) are sent back to the sender; anything above the quote is refunded.</p>
        ${payButtons ? `<p class="pay-here">${payButtons}</p>` : ''}
        <form id="verify">Unstuck notices the payment by itself. Or paste its transaction hash:
          <input name="tx_hash" placeholder="64 hex digits" size="66" autocomplete="off" spellcheck="false"> <button>Check payment</button></form>
      </div>
      <div id="receipt"></div>
      <p id="clearing-message" role="status"></p>
      <p><button type="button" id="clearing-close">Close</button></p>
    </section>`;
  const section = root.querySelector<HTMLElement>('#clearing')!;
  const message = root.querySelector<HTMLElement>('#clearing-message')!;
  let current: Operation | undefined;
  let closed = false;

  const render = (op: Operation) => {
    if (current && current.state !== op.state) message.textContent = '';
    current = op;
    section.dataset.state = op.state;
    root.querySelector<HTMLProgressElement>('#clearing-progress')!.value = percent(op);
    root.querySelector('#clearing-state')!.textContent = SAY[op.state];
    root.querySelector('#clearing-detail')!.textContent =
      op.state === 'clearing' || op.state === 'completed' ? `${op.progress.cleared} of ${op.progress.total} packets cleared` : '';
    root.querySelector<HTMLElement>('#instructions')!.hidden = op.state !== 'quoted';
    const packets = op.packets
      .map((x) => `<li>${esc(x.packet.src_chain_id)}/${esc(x.packet.src_channel)} #${esc(x.packet.sequence)}: ${esc(x.state)}${x.tx_hash ? ` in <code class="tx">${esc(x.tx_hash)}</code>` : ''}</li>`)
      .join('');
    const refunds = op.refunds
      .map((r) => `<li>${esc(r.amount)} ${esc(r.denom)} (${REFUND_REASON[r.reason]}): ${esc(r.status)}${r.tx_hash ? ` in <code class="tx">${esc(r.tx_hash)}</code>` : ''}</li>`)
      .join('');
    root.querySelector('#receipt')!.innerHTML = `
      ${op.paid ? `<p>Paid ${esc(op.paid.amount)} ${esc(quote.payment.denom)} in <code class="tx" id="payment-tx">${esc(op.paid.tx_hash)}</code> (${op.paid.detected_by === 'ingest' ? 'noticed on chain' : 'hash given'}).</p>` : ''}
      ${op.paid ? `<ul class="packets">${packets}</ul>` : ''}
      ${op.error ? `<p class="error">${esc(op.error)}</p>` : ''}
      ${refunds ? `<h3>Refunds</h3><ul class="refunds">${refunds}</ul>` : ''}`;
    if (settled(op)) {
      sessionStorage.removeItem(STORAGE_KEY);
      onFinished();
    }
  };

  const refresh = async () => {
    try {
      render(await api<Operation>(`/clearing/${encodeURIComponent(quote.token)}`));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        // Not this wallet's, or gone: nothing to show.
        sessionStorage.removeItem(STORAGE_KEY);
        message.textContent = 'This clearing operation is not visible to the signed-in wallet.';
      } else message.textContent = e instanceof Error ? e.message : 'Could not read the operation; retrying.';
    }
  };
  const onUpdate = (_: LiveMessage[]) => void refresh();
  void live.subscribe(`clearing:${quote.token}`, onUpdate).then((refused) => {
    if (refused) message.textContent = `Live updates refused: ${refused}. The status is checked every 10 s.`;
  });
  const poll = window.setInterval(() => {
    if (!current || !settled(current)) void refresh();
    if (current?.state === 'quoted') {
      const left = (Date.parse(quote.expires_at) - Date.now()) / 1000;
      root.querySelector('#pay-deadline')!.textContent = `${new Date(quote.expires_at).toLocaleTimeString()} (${left > 0 ? `in ${duration(left)}` : 'passed'})`;
    }
  }, 10_000);
  void refresh();

  for (const b of root.querySelectorAll<HTMLButtonElement>('button[data-copy]')) b.addEventListener('click', () => void copy(b.dataset.copy!, b));
  const checkPayment = (txHash: string) =>
    api<Operation>('/clearing/verify-payment', { method: 'POST', body: { token: quote.token, tx_hash: txHash } }).then(
      (op) => {
        message.textContent = '';
        render(op);
      },
      async (err: unknown) => {
        const said = err instanceof ApiError ? err.message : 'The check failed; try again.';
        // The operation may have moved on meanwhile (ingest noticed the payment first): then there is nothing to say.
        await refresh();
        if (current?.state === 'quoted') message.textContent = said;
      },
    );
  for (const [id, wallet] of [['#pay-demo', 'demo'], ['#pay-keplr', 'keplr']] as const) {
    root.querySelector<HTMLButtonElement>(id)?.addEventListener('click', (e) => {
      const button = e.currentTarget as HTMLButtonElement;
      button.disabled = true;
      message.textContent = 'Signing and sending the payment…';
      payFromPage(wallet, p, config).then(
        (txHash) => {
          // Ingest may have noticed the payment on chain and moved the operation on before the wallet answered.
          if (current && current.state !== 'quoted') return;
          message.textContent = `Payment ${txHash} is in a block; checking it…`;
          return checkPayment(txHash);
        },
        (err: unknown) => {
          button.disabled = false;
          message.textContent = `The payment was not sent: ${err instanceof Error ? err.message : String(err)}`;
        },
      );
    });
  }
  root.querySelector<HTMLFormElement>('#verify')!.addEventListener('submit', (e) => {
    e.preventDefault();
    const txHash = (new FormData(e.target as HTMLFormElement).get('tx_hash') as string).trim();
    message.textContent = 'Checking the payment on chain…';
    void checkPayment(txHash);
  });
  const leave = () => {
    if (closed) return;
    closed = true;
    window.clearInterval(poll);
    live.unsubscribe(`clearing:${quote.token}`, onUpdate);
  };
  root.querySelector('#clearing-close')!.addEventListener('click', () => {
    leave();
    sessionStorage.removeItem(STORAGE_KEY);
    root.innerHTML = '';
  });
  return leave;
}

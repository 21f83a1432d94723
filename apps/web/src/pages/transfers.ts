import { api, ApiError, getToken, type StuckPacket, type WebConfig } from '../api';
import { duration, esc, KIND_LABELS, num, short } from '../format';
import type { Live, LiveMessage } from '../live';
import { hasKeplr, signInWithDemoWallet, signInWithKeplr } from '../wallet';
import { clearingPanel, savedQuote, type Quote } from './clearing';

/**
 * My transfers: sign in (Keplr, or the demo wallet in development) or look up any address read-only; the
 * wallet's stuck packets with kind, age and time to timeout, kept current by the wallet's live events; selected
 * packets quoted for clearing and followed live to the receipt (./clearing.ts).
 */
export function transfersPage(root: HTMLElement, live: Live, config: WebConfig, session: { address?: string }, onSignedIn: (token: string) => void): () => void {
  root.innerHTML = `
    <section class="wallet">
      <form id="lookup"><label>Address <input name="address" placeholder="cosmos1…" autocomplete="off" size="50" value="${esc(session.address ?? '')}"></label> <button>Look up</button></form>
      <div class="sign-in">
        ${hasKeplr() ? '<button id="keplr">Sign in with Keplr</button>' : ''}
        ${config.demo_wallet.enabled ? '<button id="demo">Sign in with the demo wallet</button>' : ''}
        <span id="who">${session.address && getToken() ? `signed in as <b>${esc(session.address)}</b>` : 'not signed in: lookups are read-only'}</span>
      </div>
      <p id="message" role="status"></p>
    </section>
    <section><h2>Stuck packets</h2>
      <table id="stuck"><thead><tr><th></th><th>packet</th><th>to</th><th>amount</th><th>stuck</th><th>age</th><th>timeout</th><th>role</th></tr></thead><tbody></tbody></table>
      <p><button id="quote" disabled>Get a quote to clear the selected packets</button></p>
    </section>
    <div id="clearing-panel"></div>`;
  const message = root.querySelector<HTMLElement>('#message')!;
  const tbody = root.querySelector<HTMLElement>('#stuck tbody')!;
  let address = session.address;
  let following: string | undefined;
  const panel = root.querySelector<HTMLElement>('#clearing-panel')!;
  let leavePanel: (() => void) | undefined;
  const showOperation = (quote: Quote) => {
    leavePanel?.();
    leavePanel = clearingPanel(panel, live, config, quote, () => void load());
  };

  const load = async () => {
    if (!address) return;
    try {
      const { items } = await api<{ items: StuckPacket[] }>(`/packets/stuck?wallet=${encodeURIComponent(address)}&limit=500`);
      message.textContent = items.length ? '' : 'No stuck packets for this address.';
      tbody.innerHTML = items
        .map(
          (p) => `<tr data-key="${esc(`${p.src_chain_id}/${p.src_port}/${p.src_channel}/${p.sequence}`)}">
            <td><input type="checkbox" aria-label="select"></td>
            <td>${esc(p.src_chain_id)}/${esc(p.src_channel)} #${esc(p.sequence)}</td><td>${esc(p.dst_chain_id ?? '—')}</td>
            <td>${num(Number(p.amount ?? 0))} ${esc(p.denom ?? '')}</td>
            <td class="kind ${esc(p.stuck_kind)}">${esc(KIND_LABELS[p.stuck_kind ?? ''] ?? p.stuck_kind)}</td>
            <td>${duration(p.age_seconds)}</td>
            <td>${p.seconds_to_timeout === null ? '—' : p.seconds_to_timeout < 0 ? `passed ${duration(-p.seconds_to_timeout)} ago` : `in ${duration(p.seconds_to_timeout)}`}</td>
            <td>${esc(p.role)}</td></tr>`,
        )
        .join('');
    } catch (e) {
      tbody.innerHTML = '';
      message.textContent = e instanceof ApiError ? e.message : 'The lookup failed; try again.';
    }
  };
  const onWalletEvent = (_: LiveMessage[]) => void load();
  const follow = (wallet: string) => {
    if (following) live.unsubscribe(`wallet:${following}`, onWalletEvent);
    following = wallet;
    void live.subscribe(`wallet:${wallet}`, onWalletEvent);
  };

  root.querySelector<HTMLFormElement>('#lookup')!.addEventListener('submit', (e) => {
    e.preventDefault();
    address = (new FormData(e.target as HTMLFormElement).get('address') as string).trim();
    void load();
  });
  const signedIn = (result: { address: string; token: string }) => {
    address = session.address = result.address;
    root.querySelector('#who')!.innerHTML = `signed in as <b>${esc(result.address)}</b>`;
    root.querySelector<HTMLInputElement>('input[name=address]')!.value = result.address;
    onSignedIn(result.token);
    follow(result.address);
    void load();
  };
  const failed = (e: unknown) => (message.textContent = e instanceof Error ? `Sign-in failed: ${e.message}` : 'Sign-in failed.');
  root.querySelector('#keplr')?.addEventListener('click', () => void signInWithKeplr().then(signedIn, failed));
  root.querySelector('#demo')?.addEventListener('click', () => void signInWithDemoWallet(config.demo_wallet).then(signedIn, failed));
  tbody.addEventListener('change', () => {
    root.querySelector<HTMLButtonElement>('#quote')!.disabled = !tbody.querySelector('input:checked');
  });
  root.querySelector('#quote')!.addEventListener('click', () => {
    if (!getToken() || address !== session.address) {
      message.textContent = 'Sign in with the wallet that owns these packets to clear them: a quote is for your own packets.';
      return;
    }
    const packets = [...tbody.querySelectorAll<HTMLInputElement>('input:checked')].map((box) => {
      const [src_chain_id, src_port, src_channel, sequence] = box.closest('tr')!.dataset.key!.split('/');
      return { src_chain_id, src_port, src_channel, sequence };
    });
    message.textContent = 'Getting a quote…';
    api<Quote>('/clearing/quote', { method: 'POST', body: { packets } }).then(
      (quote) => {
        message.textContent = '';
        showOperation(quote);
      },
      (e: unknown) => (message.textContent = e instanceof ApiError ? e.message : 'The quote failed; try again.'),
    );
  });

  if (address) {
    void load();
    if (getToken()) follow(address);
  }
  const saved = getToken() ? savedQuote() : undefined;
  if (saved) showOperation(saved);
  return () => {
    leavePanel?.();
    if (following) live.unsubscribe(`wallet:${following}`, onWalletEvent);
  };
}

export { short };

import 'uplot/dist/uPlot.min.css';
import './style.css';
import { api, getToken, setToken, type WebConfig } from './api';
import { Live, type ConnectionState } from './live';
import { networkPage } from './pages/network';
import { platformPage } from './pages/platform';
import { transfersPage } from './pages/transfers';

const LABELS: Record<ConnectionState, string> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', offline: 'offline' };

async function start(): Promise<void> {
  const config = await api<WebConfig>('/config');
  const indicator = document.querySelector<HTMLElement>('#connection')!;
  const live = new Live(config.notifier_url ?? `${location.protocol}//${location.hostname}:3004`, (state, detail) => {
    indicator.dataset.state = state;
    indicator.textContent = LABELS[state];
    indicator.title = detail ?? 'live updates';
  });
  const session: { address?: string } = { address: sessionStorage.getItem('unstuck.address') ?? undefined };
  live.connect(getToken());

  const root = document.querySelector<HTMLElement>('#page')!;
  let leave: (() => void) | undefined;
  const route = () => {
    leave?.();
    const page = location.hash.replace(/^#\//, '') || 'network';
    for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) a.classList.toggle('active', a.dataset.page === page);
    leave =
      page === 'transfers'
        ? transfersPage(root, live, config, session, (token) => {
            setToken(token);
            sessionStorage.setItem('unstuck.address', session.address ?? '');
            live.reconnectAs(token);
          })
        : page === 'platform'
          ? platformPage(root)
          : networkPage(root, live);
  };
  window.addEventListener('hashchange', route);
  route();
}

start().catch((e: unknown) => {
  document.querySelector('#page')!.textContent = `Unstuck could not start: ${e instanceof Error ? e.message : String(e)}`;
});

import type { GatewayDb } from '../data/gateway-db';
import type { AppEnv } from '../env';
import { StuckWalletIndex } from './stuck-wallet-index';

/** The index's bookkeeping (its SQL runs in test/gateway.int-spec.ts): a query whose answer the test releases. */
function indexWith(max = 10) {
  let release!: (rows: Array<{ w: string }>) => void;
  const db = { queryNamed: () => new Promise((resolve) => (release = resolve)) } as unknown as GatewayDb;
  const index = new StuckWalletIndex(db, { STUCK_INDEX_REFRESH_SECONDS: 0, STUCK_INDEX_MAX_WALLETS: max } as AppEnv);
  const answer = (...w: string[]) => release(w.map((x) => ({ w: x })));
  /** A whole rebuild whose query finds these wallets. */
  const build = async (...w: string[]) => {
    const built = index.rebuild();
    answer(...w);
    await built;
  };
  return { index, answer, build };
}

describe('StuckWalletIndex', () => {
  it('says "maybe" for every wallet until built, then only for the wallets it holds', async () => {
    const { index, build } = indexWith();
    expect(index.mayHaveStuck('cosmos1a')).toBe(true);
    await build('cosmos1a');
    expect(index.mayHaveStuck('cosmos1a')).toBe(true);
    expect(index.mayHaveStuck('cosmos1b')).toBe(false);
  });

  it('keeps a wallet added while a rebuild read the database', async () => {
    const { index, answer, build } = indexWith();
    await build();
    const second = index.rebuild();
    index.add(['cosmos1new']);
    answer('cosmos1old');
    await second;
    expect(index.mayHaveStuck('cosmos1new')).toBe(true);
    expect(index.mayHaveStuck('cosmos1old')).toBe(true);
  });

  it('drops a wallet whose load found nothing, unless an event named it after the load began', async () => {
    const { index, build } = indexWith();
    await build('cosmos1a', 'cosmos1b');
    const loadA = index.mark();
    index.forget('cosmos1a', loadA);
    expect(index.mayHaveStuck('cosmos1a')).toBe(false);
    const loadB = index.mark();
    index.add(['cosmos1b']); // its packet became stuck while the (empty) load ran
    index.forget('cosmos1b', loadB);
    expect(index.mayHaveStuck('cosmos1b')).toBe(true);
  });

  it('turns itself off above its cap: every wallet is "maybe" again', async () => {
    const { index, build } = indexWith(2);
    await build('cosmos1a', 'cosmos1b', 'cosmos1c');
    expect(index.mayHaveStuck('cosmos1zzz')).toBe(true);
  });
});

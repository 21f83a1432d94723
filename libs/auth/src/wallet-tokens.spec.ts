import { assertProductionInternalSecret, assertProductionSecret, DEV_INTERNAL_SECRET, DEV_SECRET, WalletTokens } from './wallet-tokens';

describe('WalletTokens', () => {
  const tokens = new WalletTokens('s'.repeat(32));
  it('names the wallet a token was issued to', async () => {
    const token = await tokens.issue('cosmos1abc', new Date(Date.now() + 60_000));
    expect(await tokens.verify(token)).toEqual({ wallet: 'cosmos1abc' });
  });
  it('refuses expired tokens, tokens of another secret and garbage, saying why', async () => {
    expect(await tokens.verify(await tokens.issue('cosmos1abc', new Date(Date.now() - 1_000)))).toEqual({ error: 'the token has expired; sign in again' });
    expect(await new WalletTokens('t'.repeat(32)).verify(await tokens.issue('cosmos1abc', new Date(Date.now() + 60_000)))).toEqual({ error: 'the token is not valid' });
    expect(await tokens.verify('x.y.z')).toEqual({ error: 'the token is not valid' });
  });
});

describe('assertProductionSecret', () => {
  it('refuses the development secret in production only', () => {
    expect(() => assertProductionSecret({ NODE_ENV: 'production', GATEWAY_SECRET: DEV_SECRET })).toThrow(/GATEWAY_SECRET/);
    expect(() => assertProductionSecret({ NODE_ENV: 'production', GATEWAY_SECRET: 'p'.repeat(40) })).not.toThrow();
    expect(() => assertProductionSecret({ NODE_ENV: 'development', GATEWAY_SECRET: DEV_SECRET })).not.toThrow();
  });
});

describe('assertProductionInternalSecret', () => {
  it('refuses in production the development internal secret and one equal to GATEWAY_SECRET', () => {
    expect(() => assertProductionInternalSecret({ NODE_ENV: 'production', INTERNAL_SERVICE_SECRET: DEV_INTERNAL_SECRET })).toThrow(/INTERNAL_SERVICE_SECRET is the development default/);
    expect(() => assertProductionInternalSecret({ NODE_ENV: 'production', INTERNAL_SERVICE_SECRET: 'g'.repeat(40), GATEWAY_SECRET: 'g'.repeat(40) })).toThrow(/must differ from GATEWAY_SECRET/);
    expect(() => assertProductionInternalSecret({ NODE_ENV: 'production', INTERNAL_SERVICE_SECRET: 'i'.repeat(40), GATEWAY_SECRET: 'g'.repeat(40) })).not.toThrow();
    expect(() => assertProductionInternalSecret({ NODE_ENV: 'development', INTERNAL_SERVICE_SECRET: DEV_INTERNAL_SECRET })).not.toThrow();
  });
});

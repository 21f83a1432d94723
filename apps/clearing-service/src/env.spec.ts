import { DEV_HOT_WALLET_MNEMONIC, productionProblems } from './env';

describe('clearing-service production settings', () => {
  const own = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

  it('refuses the sim relayer and the development mnemonic in production, naming each', () => {
    const problems = productionProblems({ NODE_ENV: 'production', HOT_WALLET_MNEMONIC: DEV_HOT_WALLET_MNEMONIC, CLEARING_RELAYER: 'sim' });
    expect(problems).toEqual([expect.stringContaining('HOT_WALLET_MNEMONIC is the public development mnemonic'), expect.stringContaining('CLEARING_RELAYER=sim relays through chain-sim')]);
    expect(productionProblems({ NODE_ENV: 'production', HOT_WALLET_MNEMONIC: own, CLEARING_RELAYER: 'hermes' })).toEqual([]);
  });

  it('allows both in development and test', () => {
    for (const NODE_ENV of ['development', 'test'] as const) {
      expect(productionProblems({ NODE_ENV, HOT_WALLET_MNEMONIC: DEV_HOT_WALLET_MNEMONIC, CLEARING_RELAYER: 'sim' })).toEqual([]);
    }
  });
});

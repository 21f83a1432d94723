import { api, setToken, type WebConfig } from './api';

interface StdSignature {
  pub_key: { type: string; value: string };
  signature: string;
}
interface Keplr {
  enable(chainId: string): Promise<void>;
  getKey(chainId: string): Promise<{ bech32Address: string }>;
  signArbitrary(chainId: string, signer: string, data: string): Promise<StdSignature>;
  getOfflineSigner(chainId: string): unknown;
}
declare global {
  interface Window {
    keplr?: Keplr;
  }
}

export const hasKeplr = () => typeof window.keplr !== 'undefined';

/** Sign-in with ADR-036: challenge → signArbitrary → verify → bearer token. */
async function signIn(address: string, sign: (message: string) => Promise<StdSignature>): Promise<string> {
  const challenge = await api<{ nonce: string; message: string }>('/auth/challenge', { method: 'POST', body: { address } });
  const signature = await sign(challenge.message);
  const { token } = await api<{ token: string }>('/auth/verify', { method: 'POST', body: { address, nonce: challenge.nonce, signature } });
  setToken(token);
  return token;
}

export async function signInWithKeplr(chainId = 'cosmoshub-4'): Promise<{ address: string; token: string }> {
  const keplr = window.keplr!;
  await keplr.enable(chainId);
  const { bech32Address } = await keplr.getKey(chainId);
  const token = await signIn(bech32Address, (message) => keplr.signArbitrary(chainId, bech32Address, message));
  return { address: bech32Address, token };
}

/**
 * The development demo wallet: signs ADR-036 in the browser with @cosmjs/amino from the configured demo mnemonic,
 * so the flow runs without Keplr. Off unless the gateway's WEB_DEMO_WALLET enables it; loaded only when used.
 */
export async function signInWithDemoWallet(config: WebConfig['demo_wallet']): Promise<{ address: string; token: string }> {
  const [{ Secp256k1HdWallet }, { toBase64, toUtf8 }] = await Promise.all([import('@cosmjs/amino'), import('@cosmjs/encoding')]);
  const wallet = await Secp256k1HdWallet.fromMnemonic(config.mnemonic!, { prefix: config.prefix ?? 'cosmos' });
  const [account] = await wallet.getAccounts();
  const address = account!.address;
  const token = await signIn(address, async (message) => {
    const doc = {
      chain_id: '',
      account_number: '0',
      sequence: '0',
      fee: { gas: '0', amount: [] },
      msgs: [{ type: 'sign/MsgSignData', value: { signer: address, data: toBase64(toUtf8(message)) } }],
      memo: '',
    };
    return (await wallet.signAmino(address, doc)).signature;
  });
  return { address, token };
}

import { Secp256k1HdWallet } from '@cosmjs/amino';
import { adr036SignDoc, verifyAdr036 } from './adr036';

const MNEMONIC = 'surround miss nominee dream gap cross assault thank captain prosper drop duty group candy wealth weather scale put';

describe('ADR-036 verification', () => {
  async function signed(data: string, prefix = 'cosmos') {
    const wallet = await Secp256k1HdWallet.fromMnemonic(MNEMONIC, { prefix });
    const [account] = await wallet.getAccounts();
    const { signature } = await wallet.signAmino(account!.address, adr036SignDoc(account!.address, data));
    return { address: account!.address, signature };
  }

  it('accepts a signature made by @cosmjs over the ADR-036 doc', async () => {
    const { address, signature } = await signed('hello');
    expect(await verifyAdr036(address, 'cosmos', 'hello', signature)).toBeNull();
  });

  it('refuses other data, another signer, another key type and garbage', async () => {
    const { address, signature } = await signed('hello');
    expect(await verifyAdr036(address, 'cosmos', 'hello!', signature)).toBe('bad_signature');
    const other = await signed('hello', 'osmo');
    // Same key, but the doc named the osmo address as signer: the signature is bound to the signer it was made for.
    expect(await verifyAdr036(address, 'cosmos', 'hello', other.signature)).toBe('bad_signature');
    expect(await verifyAdr036(other.address, 'osmo', 'hello', signature)).toBe('bad_signature');
    const stranger = 'cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu';
    expect(await verifyAdr036(stranger, 'cosmos', 'hello', signature)).toBe('signer_mismatch');
    expect(await verifyAdr036(address, 'cosmos', 'hello', { ...signature, pub_key: { ...signature.pub_key, type: 'tendermint/PubKeyEd25519' } })).toBe('unsupported_key');
    expect(await verifyAdr036(address, 'cosmos', 'hello', { ...signature, signature: 'AAAA' })).toBe('malformed_signature');
  });
});

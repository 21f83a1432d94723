import { pubkeyToAddress, serializeSignDoc, type StdSignDoc } from '@cosmjs/amino';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import { fromBase64, toBase64, toUtf8 } from '@cosmjs/encoding';

/** What Keplr's `signArbitrary` (and @cosmjs/amino's signAmino over an ADR-036 doc) returns. */
export interface StdSignatureInput {
  pub_key: { type: string; value: string };
  signature: string;
}

/** The amino sign doc ADR-036 defines for signing arbitrary data: no chain, no fee, one MsgSignData. */
export function adr036SignDoc(signer: string, data: string): StdSignDoc {
  return {
    chain_id: '',
    account_number: '0',
    sequence: '0',
    fee: { gas: '0', amount: [] },
    msgs: [{ type: 'sign/MsgSignData', value: { signer, data: toBase64(toUtf8(data)) } }],
    memo: '',
  };
}

export type Adr036Failure = 'unsupported_key' | 'malformed_signature' | 'bad_signature' | 'signer_mismatch';

/**
 * Verifies an ADR-036 signature of `data` by `signer`: the secp256k1 signature over sha256 of the canonical amino
 * JSON sign doc must check against the given public key, and that key's address (with the signer's prefix) must be
 * the signer. Returns why not, or null when it holds.
 */
export async function verifyAdr036(signer: string, prefix: string, data: string, sig: StdSignatureInput): Promise<Adr036Failure | null> {
  if (sig.pub_key.type !== 'tendermint/PubKeySecp256k1') return 'unsupported_key';
  let pubkey: Uint8Array;
  let signature: Secp256k1Signature;
  try {
    pubkey = fromBase64(sig.pub_key.value);
    const raw = fromBase64(sig.signature);
    if (pubkey.length !== 33 || raw.length !== 64) return 'malformed_signature';
    signature = Secp256k1Signature.fromFixedLength(raw);
  } catch {
    return 'malformed_signature';
  }
  if (pubkeyToAddress({ type: 'tendermint/PubKeySecp256k1', value: sig.pub_key.value }, prefix) !== signer) return 'signer_mismatch';
  const hash = sha256(serializeSignDoc(adr036SignDoc(signer, data)));
  try {
    return (await Secp256k1.verifySignature(signature, hash, pubkey)) ? null : 'bad_signature';
  } catch {
    return 'malformed_signature';
  }
}

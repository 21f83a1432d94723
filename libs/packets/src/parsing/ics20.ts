import type { TransferData } from '@unstuck/contracts';
import { MalformedEventError } from './errors';

/**
 * ICS-20 FungibleTokenPacketData from packet bytes (JSON). Returns null for packets of other applications (ICA,
 * CCV, wasm): those are tracked as packets, without transfer details. A transfer port whose data is not valid
 * ICS-20 JSON is malformed.
 */
export function decodeTransferData(dataHex: string | undefined, port: string): TransferData | null {
  if (!dataHex) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(dataHex, 'hex').toString('utf8'));
  } catch (e) {
    if (port === 'transfer') throw new MalformedEventError('invalid_json', `ICS-20 packet data is not JSON: ${(e as Error).message}`);
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const d = parsed as Record<string, unknown>;
  const looksLikeTransfer = 'denom' in d && 'amount' in d && 'sender' in d && 'receiver' in d;
  if (!looksLikeTransfer) {
    if (port === 'transfer') throw new MalformedEventError('missing_attribute', 'ICS-20 packet data lacks denom, amount, sender or receiver');
    return null;
  }
  // Amounts are uint256 decimal strings; a few old relayers/chains wrote JSON numbers.
  const amount = typeof d.amount === 'number' && Number.isSafeInteger(d.amount) && d.amount >= 0 ? String(d.amount) : d.amount;
  if (typeof amount !== 'string' || !/^(0|[1-9][0-9]{0,77})$/.test(amount)) {
    throw new MalformedEventError('absurd_value', `ICS-20 amount is not an unsigned integer: ${String(d.amount).slice(0, 80)}`);
  }
  for (const f of ['denom', 'sender', 'receiver'] as const) {
    if (typeof d[f] !== 'string' || d[f] === '') throw new MalformedEventError('missing_attribute', `ICS-20 ${f} is empty`);
  }
  const transfer: TransferData = {
    denom: (d.denom as string).slice(0, 512),
    amount,
    sender: (d.sender as string).slice(0, 256),
    receiver: (d.receiver as string).slice(0, 256),
  };
  if (typeof d.memo === 'string' && d.memo !== '') transfer.memo = d.memo.slice(0, 32768);
  return transfer;
}

/**
 * Whether an acknowledgement reports success. The standard envelope is JSON {"result": ...} or {"error": ...};
 * anything else (an application's own ack format) is undefined rather than guessed.
 */
export function acknowledgementSucceeded(ackHex: string | undefined): boolean | undefined {
  if (!ackHex) return undefined;
  try {
    const ack = JSON.parse(Buffer.from(ackHex, 'hex').toString('utf8')) as Record<string, unknown>;
    if (typeof ack !== 'object' || ack === null) return undefined;
    if ('result' in ack) return true;
    if ('error' in ack) return false;
  } catch {
    return undefined;
  }
  return undefined;
}

import { createHash } from 'node:crypto';
import { TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgMultiSend, MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { MsgTransfer } from 'cosmjs-types/ibc/applications/transfer/v1/tx';
import { MsgAcknowledgement, MsgRecvPacket, MsgTimeout, MsgTimeoutOnClose } from 'cosmjs-types/ibc/core/channel/v1/tx';
import type { Packet } from 'cosmjs-types/ibc/core/channel/v1/channel';

export type RelayKind = 'recv' | 'ack' | 'timeout';

/** A relay message inside a transaction: who signed it, and the packet it carries. */
export interface RelayMessage {
  kind: RelayKind;
  msgIndex: number;
  signer: string;
  packet: Packet;
  /** MsgAcknowledgement only: the acknowledgement bytes relayed back. */
  acknowledgement?: Uint8Array;
}

/**
 * Coins moved from one account to another by a bank message: MsgSend, one output of a MsgMultiSend (the SDK allows
 * one input since v0.46; `from` is that input), or either inside an authz MsgExec (`from` is the granter whose
 * funds moved, not the grantee who signed). `msgIndex` is the top-level message's index.
 */
export interface BankSend {
  msgIndex: number;
  from: string;
  to: string;
  amount: Array<{ denom: string; amount: string }>;
  /** The message as nested: `MsgSend`, `MsgMultiSend`, `MsgExec/MsgSend`, … */
  via: string;
}

/** authz lets a MsgExec carry another MsgExec; deeper than this is not read (the SDK has no limit, a hostile tx might). */
const MAX_EXEC_DEPTH = 4;

function bankSendsOf(any: Any, msgIndex: number, via: string, depth: number): BankSend[] {
  switch (any.typeUrl) {
    case MsgSend.typeUrl: {
      const m = MsgSend.decode(any.value);
      return [{ msgIndex, from: m.fromAddress, to: m.toAddress, amount: m.amount.map((c) => ({ denom: c.denom, amount: c.amount })), via: `${via}MsgSend` }];
    }
    case MsgMultiSend.typeUrl: {
      const m = MsgMultiSend.decode(any.value);
      const from = m.inputs[0]?.address ?? '';
      return m.outputs.map((o) => ({ msgIndex, from, to: o.address, amount: o.coins.map((c) => ({ denom: c.denom, amount: c.amount })), via: `${via}MsgMultiSend` }));
    }
    case MsgExec.typeUrl: {
      if (depth >= MAX_EXEC_DEPTH) return [];
      return MsgExec.decode(any.value).msgs.flatMap((inner) => bankSendsOf(inner, msgIndex, `${via}MsgExec/`, depth + 1));
    }
    default:
      return [];
  }
}

export interface DecodedTx {
  /** Upper-case hex SHA-256 of the raw bytes: what explorers and /tx?hash= use. */
  hash: string;
  memo: string;
  relays: RelayMessage[];
  transfers: Array<{ msgIndex: number; sender: string }>;
  bankSends: BankSend[];
  messageCount: number;
}

export function txHash(raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('hex').toUpperCase();
}

/**
 * Decodes a transaction from /block's base64 `data.txs` (or its bytes, with their hash if already known). Throws
 * on bytes that are not a Cosmos SDK transaction.
 */
export function decodeTx(tx: string | Uint8Array, hash?: string): DecodedTx {
  const raw = typeof tx === 'string' ? Buffer.from(tx, 'base64') : tx;
  const body = TxBody.decode(TxRaw.decode(raw).bodyBytes);
  const decoded: DecodedTx = { hash: hash ?? txHash(raw), memo: body.memo, relays: [], transfers: [], bankSends: [], messageCount: body.messages.length };
  body.messages.forEach((any, msgIndex) => {
    switch (any.typeUrl) {
      case MsgRecvPacket.typeUrl: {
        const m = MsgRecvPacket.decode(any.value);
        if (m.packet) decoded.relays.push({ kind: 'recv', msgIndex, signer: m.signer, packet: m.packet });
        break;
      }
      case MsgAcknowledgement.typeUrl: {
        const m = MsgAcknowledgement.decode(any.value);
        if (m.packet) decoded.relays.push({ kind: 'ack', msgIndex, signer: m.signer, packet: m.packet, acknowledgement: m.acknowledgement });
        break;
      }
      case MsgTimeout.typeUrl: {
        const m = MsgTimeout.decode(any.value);
        if (m.packet) decoded.relays.push({ kind: 'timeout', msgIndex, signer: m.signer, packet: m.packet });
        break;
      }
      case MsgTimeoutOnClose.typeUrl: {
        const m = MsgTimeoutOnClose.decode(any.value);
        if (m.packet) decoded.relays.push({ kind: 'timeout', msgIndex, signer: m.signer, packet: m.packet });
        break;
      }
      case MsgTransfer.typeUrl:
        decoded.transfers.push({ msgIndex, sender: MsgTransfer.decode(any.value).sender });
        break;
      case MsgSend.typeUrl:
      case MsgMultiSend.typeUrl:
      case MsgExec.typeUrl:
        decoded.bankSends.push(...bankSendsOf(any, msgIndex, '', 0));
        break;
      default:
        break;
    }
  });
  return decoded;
}

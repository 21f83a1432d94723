import { Type, type Static } from '@sinclair/typebox';
import { Bech32Address, ChainPosition, IsoTime, PacketId, TxHash, UintString } from './common';

export const ClearingState = Type.Union([
  Type.Literal('quoted'),
  Type.Literal('paid'),
  Type.Literal('clearing'),
  Type.Literal('completed'),
  Type.Literal('failed'),
  Type.Literal('refunded'),
  Type.Literal('expired'),
]);
export type ClearingState = Static<typeof ClearingState>;

export const ClearingOperationUpdatedV1 = Type.Object(
  {
    operation_id: Type.String({ format: 'uuid' }),
    /** SHA-256 of the one-time token: lets the notifier match `clearing:<token>` rooms without the token itself. */
    token_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    wallet: Bech32Address,
    state: ClearingState,
    previous_state: Type.Union([ClearingState, Type.Null()]),
    /** Increases by one with every change of the operation, so consumers can drop stale or repeated updates. */
    version: Type.Integer({ minimum: 1 }),
    progress: Type.Object(
      { total: Type.Integer({ minimum: 0 }), cleared: Type.Integer({ minimum: 0 }) },
      { additionalProperties: false },
    ),
    packets: Type.Array(
      Type.Object(
        {
          packet: PacketId,
          state: Type.Union([Type.Literal('pending'), Type.Literal('relayed'), Type.Literal('cleared'), Type.Literal('failed')]),
          tx_hash: Type.Optional(TxHash),
        },
        { additionalProperties: false },
      ),
      { maxItems: 1000 },
    ),
    payment_tx_hash: Type.Optional(TxHash),
    refund_tx_hash: Type.Optional(TxHash),
    error: Type.Optional(Type.String({ maxLength: 2000 })),
    updated_at: IsoTime,
  },
  {
    $id: 'unstuck.clearing.operation_updated.v1',
    additionalProperties: false,
    description: 'a clearing operation changed state or progress',
  },
);
export type ClearingOperationUpdatedV1 = Static<typeof ClearingOperationUpdatedV1>;

/**
 * Ingest saw a bank send whose memo starts with `CLR-` (a clearing payment, or an attempt at one). The clearing
 * service verifies it against the chain itself; this event only says where to look.
 */
export const PaymentObservedV1 = Type.Object(
  {
    ...ChainPosition,
    from: Type.String({ minLength: 1, maxLength: 128 }),
    to: Type.String({ minLength: 1, maxLength: 128 }),
    amount: Type.Array(Type.Object({ denom: Type.String({ minLength: 1, maxLength: 256 }), amount: UintString }, { additionalProperties: false }), {
      maxItems: 64,
    }),
    memo: Type.String({ maxLength: 512 }),
  },
  { $id: 'unstuck.clearing.payment_observed.v1', additionalProperties: false, description: 'a bank send with a CLR- memo was seen on chain' },
);
export type PaymentObservedV1 = Static<typeof PaymentObservedV1>;

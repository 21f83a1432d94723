export { amountOf, gasCost, MoneyError, parseDecimal, quoteFee, type FeeSchedule, type Quote } from './money';
export { hashToken, isTokenShaped, MEMO_PREFIX, memoFor, newClearingToken, tokenFromMemo } from './tokens';
export { checkPayment, describeReturns, receivedBy, type CoinReturn, type PaymentCheck, type PaymentExpectation, type PaymentFacts, type PaymentRefusal } from './payment-check';
export { HermesRelayer, RelayerError, SimRelayer, type ClearRequest, type ClearResult, type RelayerPort } from './relayer';
export { HotWallet, type HotWalletChain, type SignedTx } from './hot-wallet';
export { hermesConfig, type HermesChainInput, type HermesConfig } from './hermes-config';
export {
  ClearingStore,
  operationEvent,
  PacketsHeldError,
  type CandidatePacket,
  type NewOperation,
  type OperationView,
  type PacketClearState,
  type PaymentRecord,
  type RefundRow,
  type StuckKind,
} from './clearing-store';
export { judgeClearable, revisionOf, timeoutPassed, type ChainHead, type ChannelEndFacts, type ClearabilityFacts, type ClearableCandidate, type Refusal } from './clearability';

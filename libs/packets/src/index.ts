export { decodeEvents, detectBase64Attributes, type AbciEvent, type CometVersion, type RawAttribute, type RawEvent } from './parsing/abci-events';
export { parseBlock, type BlockInput, type CounterpartyResolver, type ParsedBlock, type ParseProblem } from './parsing/block';
export { MalformedEventError } from './parsing/errors';
export { acknowledgementSucceeded, decodeTransferData } from './parsing/ics20';
export { parsePacketAttributes, type PacketAttributes } from './parsing/packet-attributes';
export { decodeTx, txHash, type BankSend, type DecodedTx, type RelayKind, type RelayMessage } from './parsing/tx';
export { foldEvents, PacketStore, type CommitResult } from './store/packet-store';

import { TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { RawEvent } from '../../parsing/abci-events';
import { MAINNET_COUNTERPARTIES } from '../../parsing/__fixtures__/mainnet';
import type { BlocksAnswer } from '../blocks-answer';
import { CounterpartyDirectory } from '../counterparty-directory';

const emptyTx = Buffer.from(
  TxRaw.encode(TxRaw.fromPartial({ bodyBytes: TxBody.encode(TxBody.fromPartial({})).finish(), authInfoBytes: new Uint8Array(), signatures: [] })).finish(),
).toString('base64');

/** A node's answer to a batch of /block + /block_results for `heights` (ids from 7), one tx per block. */
export function batchAnswer(heights: number[], events: RawEvent[], reorder = false): BlocksAnswer {
  const items = heights.flatMap((h, i) => [
    { jsonrpc: '2.0', id: 7 + 2 * i, result: { block: { header: { height: String(h), time: `2024-11-01T12:00:0${i}.5Z` }, data: { txs: [emptyTx] } } } },
    { jsonrpc: '2.0', id: 8 + 2 * i, result: { height: String(h), txs_results: [{ code: 0, events }] } },
  ]);
  return { url: 'http://node:26657', heights, firstId: 7, bodies: [bytes(JSON.stringify(reorder ? items.reverse() : items))] };
}

/** Text as the UTF-8 bytes a node would send. */
export const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

export const directory = CounterpartyDirectory.fromEntries(Object.entries(MAINNET_COUNTERPARTIES));

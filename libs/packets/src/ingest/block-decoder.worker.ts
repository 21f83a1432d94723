import { workerData } from 'piscina';
import { decodeBatch, type DecodedBatch, type DecodeTask, type DecoderWorkerData } from './block-decoder';
import { CounterpartyDirectory } from './counterparty-directory';

/** A BlockDecoder thread: decodes one batch per task, with the counterparties the main thread read. */
const directory = CounterpartyDirectory.fromEntries((workerData as DecoderWorkerData).counterparties);

export default function decode(task: DecodeTask): Promise<DecodedBatch> {
  return decodeBatch(task, directory.resolve);
}

import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { OutgoingEvent } from '@unstuck/messaging';
import { detectBase64Attributes } from '../parsing/abci-events';
import { parseBlock, type CounterpartyResolver, type ParseProblem, type UnsupportedTraffic } from '../parsing/block';
import type { CounterpartyDirectory } from './counterparty-directory';
import { readBlocksAnswer, type BlocksAnswer, type FetchedBlock } from './blocks-answer';

/** One batch to decode: the node's unparsed answer and how its chain encodes event attributes. */
export interface DecodeTask {
  chainId: string;
  answer: BlocksAnswer;
  /** CometBFT 0.34 base64 attributes; undefined until known (from the chains file, or detected in a batch). */
  base64: boolean | undefined;
  /** Counterparties learned at run time (from chain state) for this chain's channels: `chain/port/channel` → chain id. */
  learned?: Array<[string, string]>;
}

/** A batch's contract events and malformed parts, with the blocks' heights and times and the attribute encoding. */
export interface DecodedBatch {
  blocks: Array<{ height: number; time: string }>;
  events: OutgoingEvent[];
  problems: ParseProblem[];
  /** Traffic not tracked yet (IBC v2, multi-token ICS-20 v2), counted, never dead-lettered. */
  unsupported: UnsupportedTraffic[];
  base64: boolean | undefined;
  /** This chain's channels whose counterparty no directory knew (the follower asks chain state about them). */
  unknownChannels: Array<{ port: string; channel: string }>;
}

/** A block's attribute encoding, detected from the first of its transactions' events that has attributes. */
function detectEncoding(block: FetchedBlock): boolean | undefined {
  const all = [...block.txResults.flatMap((r) => r.events ?? []), ...block.blockEvents];
  return all.some((e) => (e.attributes?.length ?? 0) > 0) ? detectBase64Attributes(all) : undefined;
}

/**
 * Parses a batch answer into contract events, block by block; `between` runs after each block (the main thread
 * yields there, so that database round trips and acknowledgements are handled while a batch is parsed).
 */
export async function decodeBatch(task: DecodeTask, known: CounterpartyResolver, between?: () => Promise<void>): Promise<DecodedBatch> {
  const out: DecodedBatch = { blocks: [], events: [], problems: [], unsupported: [], base64: task.base64, unknownChannels: [] };
  const learned = new Map(task.learned ?? []);
  const unknown = new Set<string>();
  const counterparty: CounterpartyResolver = (chainId, port, channel) => {
    const hit = known(chainId, port, channel) ?? learned.get(`${chainId}/${port}/${channel}`);
    if (hit === undefined && chainId === task.chainId && !unknown.has(`${port}\u0000${channel}`)) {
      unknown.add(`${port}\u0000${channel}`);
      out.unknownChannels.push({ port, channel });
    }
    return hit;
  };
  for (const b of readBlocksAnswer(task.answer)) {
    out.base64 ??= detectEncoding(b);
    const parsed = parseBlock(
      { chainId: task.chainId, height: String(b.height), time: b.time, txs: b.txs, txResults: b.txResults, blockEvents: b.blockEvents, base64Attributes: out.base64 ?? false },
      counterparty,
    );
    out.blocks.push({ height: b.height, time: b.time });
    for (const e of parsed.events) out.events.push(e);
    for (const p of parsed.problems) out.problems.push(p);
    for (const u of parsed.unsupported) out.unsupported.push(u);
    await between?.();
  }
  return out;
}

/** What a decoding worker is started with: the counterparty map (chain-registry is read once, by the main thread). */
export interface DecoderWorkerData {
  counterparties: Array<[string, string]>;
}

/**
 * Turns batch answers into events. Parsing a busy chain's blocks (tens of megabytes of JSON per batch, every
 * transaction decoded and hashed) is most of ingest's CPU, so with `threads` > 0 it runs on a pool of worker
 * threads and the main thread keeps publishing and committing; with 0 it runs on the main thread.
 */
export class BlockDecoder {
  private readonly pool: Piscina | undefined;

  constructor(
    threads: number,
    private readonly directory: CounterpartyDirectory,
    /** The compiled worker module; tests that run this file from source name the built one. */
    workerFile = join(__dirname, 'block-decoder.worker.js'),
  ) {
    if (threads > 0) {
      const workerData: DecoderWorkerData = { counterparties: directory.entries() };
      // Idle threads stay: a batch must not wait for a thread to start.
      this.pool = new Piscina({ filename: workerFile, minThreads: threads, maxThreads: threads, idleTimeout: Infinity, workerData });
    }
  }

  decode(task: DecodeTask): Promise<DecodedBatch> {
    // The answer's bytes move to the thread (no copy; the buffer is the answer's own), which decodes them.
    if (this.pool) return this.pool.run(task, { transferList: task.answer.bodies.map((b) => b.buffer) }) as Promise<DecodedBatch>;
    return decodeBatch(task, this.directory.resolve, () => new Promise<void>((resolve) => setImmediate(resolve)));
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}

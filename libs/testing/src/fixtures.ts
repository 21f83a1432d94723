import type { PacketSentV1 } from '@unstuck/contracts';

/** A valid packet.sent payload for chain `chainId`, sequence `sequence`; no ICS-20 data. */
export function packetSentFixture(chainId: string, sequence: number, overrides: Partial<PacketSentV1> = {}): PacketSentV1 {
  return {
    packet: { src_chain_id: chainId, src_port: 'transfer', src_channel: 'channel-0', sequence: String(sequence) },
    dst_port: 'transfer',
    dst_channel: 'channel-141',
    timeout_height: { revision_number: '0', revision_height: '0' },
    timeout_timestamp_ns: '1700000000000000000',
    chain_id: chainId,
    height: '100',
    block_time: '2024-05-01T00:00:00.000Z',
    tx_hash: 'AB'.repeat(32),
    msg_index: 0,
    transfer: null,
    ...overrides,
  };
}

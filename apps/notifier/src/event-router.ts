import { Inject, Injectable } from '@nestjs/common';
import { packetKey, type EventName, type PacketId } from '@unstuck/contracts';
import { Database } from '@unstuck/db';
import { PacketStore } from '@unstuck/packets';
import { packetRooms, statsRooms } from './topics';

export interface RoutableEvent {
  event: EventName;
  payload: unknown;
}

/**
 * Which rooms an event goes to. Packet events that do not name their wallets (receive, acknowledgement, timeout)
 * are looked up in packet_flow, in one query per batch, so a wallet's room sees its packets' whole lifecycle.
 */
@Injectable()
export class EventRouter {
  private readonly packets: PacketStore;

  constructor(@Inject(Database) db: Database) {
    this.packets = new PacketStore(db);
  }

  async route(events: readonly RoutableEvent[]): Promise<string[][]> {
    const unknown: PacketId[] = [];
    for (const e of events) {
      const p = e.payload as { packet?: PacketId; sender?: string; receiver?: string; transfer?: unknown };
      if (e.event.startsWith('packet.') && p.packet && !p.sender && !p.receiver && !p.transfer) unknown.push(p.packet);
    }
    const wallets = await this.packets.walletsOf(unknown);
    return events.map((e) => {
      if (e.event === 'stats.updated') return statsRooms(e.payload as { scope: string; key: string });
      if (e.event === 'clearing.operation_updated') return [`clearing:${(e.payload as { token_hash: string }).token_hash}`];
      const p = e.payload as Parameters<typeof packetRooms>[0];
      return p.packet ? packetRooms(p, wallets.get(packetKey(p.packet as PacketId)) ?? []) : [];
    });
  }
}

import { createServer } from 'node:http';
import { Server } from 'socket.io';

/**
 * The ceiling for bench:notifier: a bare socket.io server, websocket only, whose clients join rooms and which
 * emits events straight to them (no NATS, no Redis adapter, no batching, no auth). Driven over IPC by the bench.
 */
const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
io.on('connection', (socket) => {
  socket.on('subscribe', (p: { topics: string[] }, ack: (a: unknown) => void) => {
    void socket.join(p.topics);
    ack({ subscribed: p.topics });
  });
});
let timer: NodeJS.Timeout | undefined;
process.on('message', (m: { cmd: string; rate?: number; topics?: number }) => {
  if (m.cmd === 'memory') process.send!({ rss: process.memoryUsage().rss });
  if (m.cmd === 'start') {
    let k = 0;
    const perTick = Math.max(1, Math.round((m.rate ?? 1000) / 100));
    timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const topic = `channel:bench/channel-${k++ % (m.topics ?? 1000)}`;
        io.to(topic).emit('event', { t: Date.now(), topic });
      }
    }, 10);
  }
  if (m.cmd === 'stop') clearInterval(timer);
});
http.listen(Number(process.env.PORT ?? 23398), '127.0.0.1', () => process.send?.({ ready: true }));

import Fastify from 'fastify';

/**
 * The ceiling for bench:api: a bare Fastify server with the gateway's keep-alive, answering a small JSON body, on
 * `/hello` and on the gateway's stuck-lookup path (so it can be sent the very requests the gateway is sent).
 */
const app = Fastify({ keepAliveTimeout: 65_000 });
const hello = async () => ({ hello: 'world' });
app.get('/hello', hello);
app.get('/api/v1/packets/stuck', hello);
app.listen({ port: Number(process.env.PORT ?? 23399), host: '127.0.0.1' }).catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});

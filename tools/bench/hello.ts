import Fastify from 'fastify';

/** The ceiling for bench:api: a bare Fastify server with the gateway's keep-alive, answering a small JSON body. */
const app = Fastify({ keepAliveTimeout: 65_000 });
app.get('/hello', async () => ({ hello: 'world' }));
app.listen({ port: Number(process.env.PORT ?? 23399), host: '127.0.0.1' }).catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});

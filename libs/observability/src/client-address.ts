import type { IncomingMessage } from 'node:http';
import proxyaddr from '@fastify/proxy-addr';
import { trustProxyOption } from '@unstuck/config';

/**
 * TRUST_PROXY (see libs/config) as a trust function, the way Fastify reads its `trustProxy` option: whose
 * X-Forwarded-For entries are believed, hop by hop from the connection's own address.
 */
export function proxyTrust(value: string): (addr: string, hop: number) => boolean {
  const option = trustProxyOption(value);
  if (option === true) return () => true;
  if (option === false) return () => false;
  if (typeof option === 'number') return (_addr, hop) => hop < option;
  return proxyaddr.compile(option.split(',').map((a) => a.trim()).filter(Boolean));
}

/** The client's address: the connection's, or the nearest X-Forwarded-For entry not vouched for by a trusted proxy. */
export function clientAddress(req: IncomingMessage, trust: (addr: string, hop: number) => boolean): string {
  return proxyaddr(req, trust);
}

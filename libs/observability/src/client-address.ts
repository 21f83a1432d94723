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

/**
 * The address a limit is kept for: an IPv4 address as is; an IPv6 address by its /64 (one subscriber's whole
 * prefix — a host picks any of its 2^64 addresses at will, so per-address limits would be no limit at all); an
 * IPv4-mapped IPv6 address as its IPv4.
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => (g.replace(/^0+(?=.)/, '') || '0')).join(':')}::/64`;
}

import type { IncomingMessage } from 'node:http';
import { clientAddress, proxyTrust } from './client-address';

const request = (peer: string, forwarded?: string) =>
  ({ socket: { remoteAddress: peer }, connection: { remoteAddress: peer }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} }) as unknown as IncomingMessage;

describe('clientAddress', () => {
  it('believes X-Forwarded-For from a proxy on a private network (the default), not from anyone else', () => {
    const trust = proxyTrust('loopback,linklocal,uniquelocal');
    expect(clientAddress(request('10.0.3.7', '203.0.113.9'), trust)).toBe('203.0.113.9');
    expect(clientAddress(request('127.0.0.1', '203.0.113.9'), trust)).toBe('203.0.113.9');
    expect(clientAddress(request('198.51.100.4', '203.0.113.9'), trust)).toBe('198.51.100.4');
  });

  it('stops at the first address no trusted proxy vouches for, so a forged chain does not help', () => {
    const trust = proxyTrust('loopback,linklocal,uniquelocal');
    // The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
    expect(clientAddress(request('10.0.3.7', '1.2.3.4, 203.0.113.9'), trust)).toBe('203.0.113.9');
  });

  it('takes true, false and a hop count as Fastify does', () => {
    expect(clientAddress(request('198.51.100.4', '203.0.113.9'), proxyTrust('true'))).toBe('203.0.113.9');
    expect(clientAddress(request('10.0.3.7', '203.0.113.9'), proxyTrust('false'))).toBe('10.0.3.7');
    expect(clientAddress(request('198.51.100.4', '1.2.3.4, 203.0.113.9'), proxyTrust('1'))).toBe('203.0.113.9');
  });
});

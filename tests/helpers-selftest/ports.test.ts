import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bindUdp, closeTcp, closeUdp, freePort, listenTcp } from '../helpers/ports.js';

describe('freePort', () => {
  it('returns a port that can be bound for UDP and TCP on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const udp = createSocket('udp4');
    const tcp = createServer();
    expect(await bindUdp(udp, port, '127.0.0.1')).toBe(port);
    expect(await listenTcp(tcp, port, '127.0.0.1')).toBe(port);
    await Promise.all([closeUdp(udp), closeTcp(tcp)]);
  });

  it('refuses non-loopback hosts', async () => {
    await expect(freePort('0.0.0.0')).rejects.toThrow(/loopback/);
  });
});

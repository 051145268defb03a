import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { assertLoopback } from './loopback.js';

/**
 * A port that is free for both UDP and TCP on `host` (default 127.0.0.1) right now: a UDP socket takes an
 * ephemeral port, a TCP listener must get the same number, both are closed again. Retries on conflict.
 * The port can still be taken by someone else before the caller binds it; callers that spawn servers
 * should retry on EADDRINUSE.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  assertLoopback(host);
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      const port = await bindUdp(udp, 0, host);
      const tcp = createServer();
      try {
        await listenTcp(tcp, port, host);
        return port;
      } catch (err) {
        lastError = err;
      } finally {
        await closeTcp(tcp);
      }
    } catch (err) {
      lastError = err;
    } finally {
      await closeUdp(udp);
    }
  }
  throw new Error(`freePort: no port free for both UDP and TCP on ${host} after 50 attempts: ${String(lastError)}`);
}

export function bindUdp(socket: UdpSocket, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket.address().port);
    });
  });
}

export function listenTcp(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}

export function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // not bound or already closed
    }
  });
}

export function closeTcp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

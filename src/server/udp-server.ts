import dgram from 'node:dgram';
import type { HostPort } from '../config/host-port.js';
import type { QueryHandler } from './query-handler.js';

/** Socket buffers sized for bursts: at 100k q/s the kernel default (~200 KB) fills in milliseconds. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Replies go back to the address a datagram came from, always an IP literal: dgram's default
 * lookup (dns.lookup) would defer every send by a process.nextTick and allocate for it, which at
 * 100k answers a second is a measurable share of the garbage the young generation has to collect.
 */
function literalAddress(family: 4 | 6) {
  return (address: string, _options: unknown, callback: (error: Error | null, address: string, family: number) => void): void =>
    callback(null, address, family);
}

/**
 * A reply still waiting for an upstream. Its own function so that the message listener holds no
 * closure: V8 allocates a context for a function's captured variables on every call, even on
 * the (far more common) path that never makes the closure.
 */
function sendWhenReady(socket: dgram.Socket, reply: Promise<Buffer>, port: number, address: string): void {
  void reply.then((bytes) => socket.send(bytes, port, address));
}

/** DNS over UDP on one address. One datagram is one query; the reply goes to its source. */
export class UdpServer {
  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
  ) {}

  static bind(address: HostPort, handler: QueryHandler): Promise<UdpServer> {
    const socket = dgram.createSocket({
      type: address.family === 6 ? 'udp6' : 'udp4',
      ipv6Only: address.family === 6,
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
      lookup: literalAddress(address.family === 6 ? 6 : 4) as unknown as dgram.SocketOptions['lookup'],
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(address.port, address.host, () => {
        socket.off('error', reject);
        // After bind, a send error (e.g. EPERM from a firewall) must not take the process down.
        socket.on('error', () => {});
        socket.on('message', (packet, remote) => {
          const reply = handler.handle(packet, 'udp', remote.address, remote.port, remote.family as 'IPv4' | 'IPv6');
          if (reply === undefined) return;
          if (reply instanceof Promise) sendWhenReady(socket, reply, remote.port, remote.address);
          else socket.send(reply, remote.port, remote.address);
        });
        resolve(new UdpServer(socket, socket.address().port));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

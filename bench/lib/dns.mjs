// A minimal DNS-over-UDP client: enough to poll a server until it answers (load time) and to check
// that answers are what the benchmark expects. Never used for throughput (dnsperf does that).
import dgram from 'node:dgram';

export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };

/** A query packet for `name` (type A = 1), RD set. */
export function buildQuery(name, id, type = 1) {
  const labels = name.replace(/\.$/, '').split('.');
  const size = 12 + labels.reduce((sum, label) => sum + 1 + label.length, 0) + 1 + 4;
  const packet = Buffer.alloc(size);
  packet.writeUInt16BE(id & 0xffff, 0);
  packet.writeUInt16BE(0x0100, 2); // RD
  packet.writeUInt16BE(1, 4); // QDCOUNT
  let offset = 12;
  for (const label of labels) {
    packet[offset++] = label.length;
    offset += packet.write(label, offset, 'ascii');
  }
  packet[offset++] = 0;
  packet.writeUInt16BE(type, offset);
  packet.writeUInt16BE(1, offset + 2); // IN
  return packet;
}

export function parseHeader(packet) {
  if (packet.length < 12) return null;
  const flags = packet.readUInt16BE(2);
  return {
    id: packet.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    tc: (flags & 0x0200) !== 0,
    rcode: flags & 0x000f,
    ancount: packet.readUInt16BE(6),
  };
}

/**
 * Sends a query for `name` every `intervalMs` until an answer arrives whose rcode is in
 * `acceptRcodes` (anything else, e.g. REFUSED or SERVFAIL while a server starts, keeps polling).
 * Resolves with the time (performance.now()) the first acceptable answer arrived.
 */
export function pollUntilAnswer(port, name, { acceptRcodes = [RCODE.NOERROR, RCODE.NXDOMAIN], intervalMs = 20, timeoutMs = 600_000, isDead = () => false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    let id = 1;
    let timer;
    const finish = (error, value) => {
      clearInterval(timer);
      socket.close();
      if (error) reject(error);
      else resolve(value);
    };
    const deadline = performance.now() + timeoutMs;
    socket.on('error', () => {}); // ICMP port unreachable before the server binds: keep polling
    socket.on('message', (packet) => {
      const header = parseHeader(packet);
      if (header?.qr && acceptRcodes.includes(header.rcode)) finish(null, { at: performance.now(), rcode: header.rcode, ancount: header.ancount });
    });
    socket.bind(0, '127.0.0.1', () => {
      const tick = () => {
        if (isDead()) return finish(new Error('the server exited while starting'));
        if (performance.now() > deadline) return finish(new Error(`no answer for ${name} on 127.0.0.1#${port} within ${timeoutMs} ms`));
        socket.send(buildQuery(name, id++), port, '127.0.0.1', () => {});
      };
      tick();
      timer = setInterval(tick, intervalMs);
    });
  });
}

/** One query, one answer (or null after timeoutMs). */
export function queryOnce(port, name, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const id = Math.floor(Math.random() * 65535);
    const timer = setTimeout(() => {
      socket.close();
      resolve(null);
    }, timeoutMs);
    socket.on('error', () => {});
    socket.on('message', (packet) => {
      const header = parseHeader(packet);
      if (header?.id !== id) return;
      clearTimeout(timer);
      socket.close();
      resolve(header);
    });
    socket.send(buildQuery(name, id), port, '127.0.0.1');
  });
}

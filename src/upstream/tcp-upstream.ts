import net from 'node:net';
import { formatHostPort, type HostPort } from '../config/host-port.js';
import { FLAG_QR, HEADER_SIZE, sameQuestion } from '../dns/wire.js';
import type { MessageIdSource } from './message-id.js';
import { UpstreamError } from './upstream-error.js';

/**
 * Sends one query per connection to an upstream over TCP (RFC 7766 framing), for TCP clients
 * (a UDP client that got TC=1 retries over TCP itself and so lands here). Connection reuse is a
 * later optimisation; the contract (fresh ID, question checked, bounded by the timeout) stays.
 */
export class TcpUpstream {
  readonly label: string;

  constructor(
    readonly address: HostPort,
    private readonly ids: MessageIdSource,
  ) {
    this.label = formatHostPort(address);
  }

  /** `message` is a private copy: its ID is overwritten with a fresh random one. */
  query(message: Buffer, questionEnd: number, timeoutMs: number): Promise<Buffer> {
    const id = this.ids.take();
    message.writeUInt16BE(id, 0);
    const frame = Buffer.allocUnsafe(2 + message.length);
    frame.writeUInt16BE(message.length, 0);
    message.copy(frame, 2);

    return new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect({ host: this.address.host, port: this.address.port, noDelay: true });
      const chunks: Buffer[] = [];
      let received = 0;
      let settled = false;
      const finish = (outcome: Buffer | UpstreamError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (outcome instanceof UpstreamError) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(
        () => finish(new UpstreamError('timeout', this.label, `no TCP answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.on('connect', () => socket.write(frame));
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received < 2) return;
        const buffered = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
        chunks.length = 0;
        chunks.push(buffered);
        const length = buffered.readUInt16BE(0);
        if (received < 2 + length) return;
        const answer = buffered.subarray(2, 2 + length);
        if (answer.length < HEADER_SIZE || (answer.readUInt16BE(2) & FLAG_QR) === 0 || answer.readUInt16BE(0) !== id) {
          finish(new UpstreamError('mismatch', this.label, 'TCP answer with a wrong ID or no QR bit'));
        } else if (!sameQuestion(message, questionEnd, answer)) {
          finish(new UpstreamError('mismatch', this.label, 'TCP answer for a different question'));
        } else {
          finish(answer);
        }
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        const reason = error.code === 'ECONNREFUSED' ? 'refused' : 'network';
        finish(new UpstreamError(reason, this.label, `${error.code ?? error.message} on TCP`));
      });
      socket.on('close', () => finish(new UpstreamError('network', this.label, 'TCP connection closed before a full answer')));
    });
  }
}

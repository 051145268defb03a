import { randomFillSync } from 'node:crypto';

/**
 * Unpredictable 16-bit message IDs (RFC 5452 §9.2) drawn from a buffer of CSPRNG output, refilled
 * in blocks so that one query does not pay for one crypto call.
 */
export class MessageIdSource {
  private readonly pool = new Uint16Array(2048);
  private next = this.pool.length;

  take(): number {
    if (this.next === this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++]!;
  }
}

import { randomBytes } from 'node:crypto';
import { encodeName } from '../dns/response-writer.js';
import { HEADER_SIZE, QClass, QType } from '../dns/wire.js';
import type { Logger } from '../log/logger.js';
import type { Forwarder } from './forwarder.js';

/**
 * Probe names live under a name nobody serves, so a probe that escapes to the internet costs one
 * NXDOMAIN from the root and nothing else.
 */
export const LOOP_PROBE_SUFFIX = 'fraudwall-loop-probe.arpa';

function probeQuery(name: string): { message: Buffer; questionEnd: number } {
  const qname = encodeName(name);
  const message = Buffer.alloc(HEADER_SIZE + qname.length + 4);
  message.writeUInt16BE(0x0100, 2); // RD
  message.writeUInt16BE(1, 4);
  qname.copy(message, HEADER_SIZE);
  message.writeUInt16BE(QType.A, HEADER_SIZE + qname.length);
  message.writeUInt16BE(QClass.IN, HEADER_SIZE + qname.length + 2);
  return { message, questionEnd: message.length };
}

export interface LoopGuardOptions {
  readonly probeTimeoutMs: number;
  readonly intervalMs: number;
  /** Wait after a probe's answer before judging it (cluster workers: news of other workers' sightings). */
  readonly settleMs: number;
  /** Called for a probe name this guard did not send (with workers: maybe a sibling's probe). */
  readonly onForeignProbe?: ((name: string) => void) | undefined;
}

/**
 * Finds upstreams that forward our queries back to us (directly or through other resolvers): it
 * sends each upstream a query for a fresh random probe name and watches whether that name arrives
 * at our own listeners. Such an upstream is reported and skipped; probes repeat on an interval, so
 * a loop created (or fixed) at run time is noticed too.
 */
export class LoopGuard {
  /** Probe name → index of the upstream it was sent to; at most one entry per upstream. */
  private readonly pending = new Map<string, number>();
  private readonly hits = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly forwarder: Forwarder,
    private readonly logger: Logger,
    private readonly options: LoopGuardOptions,
  ) {}

  /** True when `name` is a loop probe (the caller refuses it so the loop ends here). */
  noteQuery(name: string): boolean {
    if (!name.endsWith(LOOP_PROBE_SUFFIX)) return false;
    if (this.pending.has(name)) this.hits.add(name);
    else this.options.onForeignProbe?.(name);
    return true;
  }

  /** A probe that came back to another worker of this server (the shared socket picks the reader). */
  noteProbeSeenElsewhere(name: string): void {
    if (this.pending.has(name)) this.hits.add(name);
  }

  async probeAll(): Promise<void> {
    await Promise.all(this.forwarder.servers.map((_, index) => this.probe(index)));
  }

  private async probe(index: number): Promise<void> {
    const server = this.forwarder.servers[index]!;
    const name = `${randomBytes(8).toString('hex')}.${LOOP_PROBE_SUFFIX}`;
    const { message, questionEnd } = probeQuery(name);
    this.pending.set(name, index);
    try {
      await server.udp.query(message, questionEnd, this.options.probeTimeoutMs).catch(() => undefined);
      // Word that another worker saw the probe travels through the primary: give it a moment.
      if (this.options.settleMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.settleMs));
      const looping = this.hits.has(name);
      const wasLooping = this.forwarder.health.isLooping(index);
      this.forwarder.health.setLooping(index, looping);
      if (looping && !wasLooping) {
        this.logger.error(`forwarding loop: upstream ${server.label} sends our queries back to fraudwall; it is skipped until this is fixed`);
      } else if (!looping && wasLooping) {
        this.logger.info(`upstream ${server.label} no longer loops back to fraudwall; using it again`);
      }
    } finally {
      this.pending.delete(name);
      this.hits.delete(name);
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.probeAll(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

import { EDE_NETWORK_ERROR, EDE_OTHER } from '../dns/response-writer.js';
import type { Synthesizer } from '../dns/synthesizer.js';
import { Rcode } from '../dns/wire.js';
import type { Forwarder } from '../upstream/forwarder.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';

/**
 * The end of the chain: forwards to the upstreams; when none answers in time, SERVFAIL. Sheds
 * load when `maxInFlight` queries are already waiting: an immediate SERVFAIL costs nothing, while
 * queueing more would only grow memory and make every answer late.
 */
export class UpstreamResolver implements Resolver {
  private inFlight = 0;

  constructor(
    private readonly forwarder: Forwarder,
    private readonly synthesizer: Synthesizer,
    private readonly maxInFlight: number = Number.POSITIVE_INFINITY,
    private readonly onShed: () => void = () => {},
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    if (this.inFlight >= this.maxInFlight) {
      this.onShed();
      const bytes = this.synthesizer.error(ctx.packet, ctx.query.questionEnd, ctx.query.edns, Rcode.SERVFAIL, {
        infoCode: EDE_OTHER,
        text: 'fraudwall is overloaded: too many queries waiting for upstreams',
      });
      return { bytes, source: 'error' };
    }
    return this.forward(ctx);
  }

  private forward(ctx: QueryContext): Promise<Answer> {
    this.inFlight++;
    // then() rather than an async function: fewer promises and microtasks on every forwarded query.
    return this.forwarder.forward(ctx).then(
      (bytes): Answer => {
        this.inFlight--;
        return { bytes, source: 'upstream' };
      },
      (error: unknown): Answer => {
        this.inFlight--;
        const text = `fraudwall: no upstream answered (${error instanceof Error ? error.message : String(error)})`;
        const bytes = this.synthesizer.error(ctx.packet, ctx.query.questionEnd, ctx.query.edns, Rcode.SERVFAIL, {
          infoCode: EDE_NETWORK_ERROR,
          text,
        });
        return { bytes, source: 'error' };
      },
    );
  }
}

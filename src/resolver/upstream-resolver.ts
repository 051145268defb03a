import { EDE_NETWORK_ERROR } from '../dns/response-writer.js';
import type { Synthesizer } from '../dns/synthesizer.js';
import { Rcode } from '../dns/wire.js';
import type { Forwarder } from '../upstream/forwarder.js';
import type { Answer, QueryContext, Resolver } from './resolver.js';

/** The end of the chain: forwards to the upstreams; when none answers in time, SERVFAIL. */
export class UpstreamResolver implements Resolver {
  constructor(
    private readonly forwarder: Forwarder,
    private readonly synthesizer: Synthesizer,
  ) {}

  async resolve(ctx: QueryContext): Promise<Answer> {
    try {
      return { bytes: await this.forwarder.forward(ctx), source: 'upstream' };
    } catch (error) {
      const text = `fraudwall: no upstream answered (${error instanceof Error ? error.message : String(error)})`;
      const bytes = this.synthesizer.error(ctx.packet, ctx.query.questionEnd, ctx.query.edns, Rcode.SERVFAIL, {
        infoCode: EDE_NETWORK_ERROR,
        text,
      });
      return { bytes, source: 'error' };
    }
  }
}

import { encodeRecord, QUESTION_NAME_POINTER, writeResponse } from '../dns/response-writer.js';
import type { Synthesizer } from '../dns/synthesizer.js';
import { QType, Rcode } from '../dns/wire.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';

const TYPE_HINFO = 13;

/** HINFO "RFC8482" "": the conventional minimal answer (RFC 8482 §4.2). */
function hinfoRdata(): Buffer {
  const cpu = Buffer.from('RFC8482', 'ascii');
  return Buffer.concat([Buffer.from([cpu.length]), cpu, Buffer.from([0])]);
}

/**
 * Answers ANY queries with a single synthesized HINFO record instead of forwarding them
 * (RFC 8482): ANY is the favourite query of amplification attacks and no real client needs it.
 */
export class MinimalAnyResolver implements Resolver {
  private readonly hinfo = encodeRecord(QUESTION_NAME_POINTER, TYPE_HINFO, 3600, hinfoRdata());

  constructor(
    private readonly synthesizer: Synthesizer,
    private readonly next: Resolver,
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    if (ctx.query.type !== QType.ANY) return this.next.resolve(ctx);
    const bytes = writeResponse(ctx.packet, ctx.query.questionEnd, {
      rcode: Rcode.NOERROR,
      answers: [this.hinfo],
      opt: this.synthesizer.opt(ctx.query.edns),
    });
    return { bytes, source: 'local' };
  }
}

import { EDE_PROHIBITED } from '../dns/response-writer.js';
import type { Synthesizer } from '../dns/synthesizer.js';
import { Rcode } from '../dns/wire.js';
import type { LoopGuard } from '../upstream/loop-guard.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';

/** Refuses loop probes (ours, coming back, or anyone's) so they never travel round the loop again. */
export class LoopGuardResolver implements Resolver {
  constructor(
    private readonly guard: LoopGuard,
    private readonly synthesizer: Synthesizer,
    private readonly next: Resolver,
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    if (!this.guard.noteQuery(ctx.query.name)) return this.next.resolve(ctx);
    const bytes = this.synthesizer.error(ctx.packet, ctx.query.questionEnd, ctx.query.edns, Rcode.REFUSED, {
      infoCode: EDE_PROHIBITED,
      text: 'fraudwall loop probe',
    });
    return { bytes, source: 'refused' };
  }
}

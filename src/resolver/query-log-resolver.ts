import { QTYPE_LABELS, RCODE_NAMES } from '../metrics/metrics.js';
import { anonymizeAddress } from '../querylog/anonymize.js';
import type { QueryLog } from '../querylog/query-log.js';
import type { Answer, QueryContext, Resolver } from '../query/resolver.js';
import type { Config } from '../config/options.js';

/** This component's section of the settings (see config/options.ts for what each means). */
export type QueryLogResolverOptions = Pick<Config, 'queryLogAnonymize' | 'queryLogBlockedOnly'>;

/** Writes one NDJSON line per answered query to the query log (a chain element only when enabled). */
export class QueryLogResolver implements Resolver {
  constructor(
    private readonly log: QueryLog,
    private readonly options: QueryLogResolverOptions,
    private readonly next: Resolver,
  ) {}

  resolve(ctx: QueryContext): Answer | Promise<Answer> {
    const result = this.next.resolve(ctx);
    if (result instanceof Promise) return result.then((answer) => this.record(ctx, answer));
    return this.record(ctx, result);
  }

  private record(ctx: QueryContext, answer: Answer): Answer {
    if (this.options.queryLogBlockedOnly && answer.source !== 'blocked' && answer.verdict?.lookalike === undefined) return answer;
    const rule = answer.verdict?.rule;
    const rcode = answer.bytes[3]! & 0xf;
    const entry = {
      time: new Date().toISOString(),
      client: this.options.queryLogAnonymize ? anonymizeAddress(ctx.clientAddress) : ctx.clientAddress,
      transport: ctx.transport,
      // The DoT SNI or DoH path name, when the client gave one (JSON.stringify leaves undefined out);
      // it names a device, so an anonymized log leaves it out.
      clientName: this.options.queryLogAnonymize ? undefined : ctx.clientName,
      name: ctx.query.name,
      type: QTYPE_LABELS.get(ctx.query.type) ?? `TYPE${ctx.query.type}`,
      verdict: answer.verdict?.action ?? 'none',
      reason: rule === undefined ? undefined : answer.verdict?.reason,
      target: answer.verdict?.target,
      list: rule?.list,
      category: rule?.category,
      rule: rule?.text,
      // #13: the protected domain a name imitates and the test that said so (observe and block).
      lookalike: answer.verdict?.lookalike ? { of: answer.verdict.lookalike.protectedDomain, test: answer.verdict.lookalike.test } : undefined,
      rcode: RCODE_NAMES[rcode < 6 ? rcode : 6],
      source: answer.source,
      ms: Math.round((performance.now() - ctx.receivedAt) * 1000) / 1000,
    };
    this.log.write(`${JSON.stringify(entry)}\n`);
    return answer;
  }
}

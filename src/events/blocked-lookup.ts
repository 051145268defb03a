// What the resolver chain hands the events pipeline for one blocked lookup: plain values read off
// the query and its answer, nothing decoded again and nothing that keeps the packet alive.
import type { VerdictReason } from '../query/rule.js';

/** Why the lookup was blocked: the verdict's reason (the name itself, a CNAME target, an answer address …). */
export type BlockReason = VerdictReason;

export interface BlockedLookup {
  /** Date.now() when the answer was given. */
  readonly at: number;
  /** The raw client address: used for dedupe and rate bounds in memory, written out only as --events-client says. */
  readonly clientAddress: string;
  /** The question name as the policy saw it (lowercase, no trailing dot). */
  readonly name: string;
  readonly qtype: number;
  readonly transport: string;
  readonly list: string;
  readonly category: string;
  /** The list entry as written. */
  readonly rule: string;
  readonly reason: BlockReason;
  /** The client's policy group whose lists decided, when groups are configured. */
  readonly group?: string | undefined;
  /** What answer inspection matched (reason cname: the target name; ip: the address). */
  readonly target?: string | undefined;
  /** The name a DoT client gave in its SNI or a DoH client in its URL path (written out only with --events-client full). */
  readonly clientName?: string | undefined;
}

// What the primary and its workers say to each other over the cluster IPC channel (advanced
// serialization: structured clone, so typed arrays travel as bytes, not JSON).
import type { Config } from '../../config/options.js';
import type { ErrorCode } from '../../errors.js';
import type { EncodedEdit, EncodedList } from '../../lists/list-transfer.js';
import type { BlockedLookup } from '../../events/blocked-lookup.js';

/** A policy generation: the list names in policy order, and the lists the worker does not have yet. */
export interface PolicyUpdate {
  readonly generation: number;
  readonly order: readonly string[];
  readonly lists: readonly EncodedList[];
  /** Lists changed by a delta, sent as edits of the version the worker holds (see list-transfer.ts). */
  readonly edits: readonly EncodedEdit[];
}

export type ToWorker =
  | { readonly type: 'start'; readonly index: number; readonly config: Config; readonly policy: PolicyUpdate }
  | { readonly type: 'policy'; readonly policy: PolicyUpdate }
  | { readonly type: 'metrics'; readonly id: number }
  | { readonly type: 'probe-seen'; readonly name: string }
  /** SIGHUP reached the primary: reopen the files this worker appends to (its query log). */
  | { readonly type: 'reopen' }
  | { readonly type: 'stop' };

export type FromWorker =
  /** The worker listens for messages now (cluster's 'online' comes before an ES module has run). */
  | { readonly type: 'waiting' }
  | { readonly type: 'ready'; readonly listeners: readonly { readonly host: string; readonly port: number }[] }
  | { readonly type: 'start-failed'; readonly code: ErrorCode; readonly message: string }
  | { readonly type: 'policy-applied'; readonly generation: number }
  | { readonly type: 'policy-failed'; readonly generation: number; readonly message: string }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: unknown[] }
  | { readonly type: 'probe-seen'; readonly name: string }
  /** A blocked lookup the worker's events gate admitted: the primary's pipeline makes the event (--events-url). */
  | { readonly type: 'blocked'; readonly lookup: BlockedLookup };

/** Messages of other modules on the same channel (Node's own cluster traffic, prom-client) are ignored. */
export function isFromWorker(message: unknown): message is FromWorker {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string';
}

export function isToWorker(message: unknown): message is ToWorker {
  return isFromWorker(message);
}

import type { Worker } from 'node:cluster';
import type { Logger } from '../../log/logger.js';
import type { ParsedList } from '../../policy/parse-list.js';
import type { ToWorker } from './messages.js';

/** One worker process as the primary sees it. A restarted worker is a new Member in the same slot (index). */
export interface Member {
  readonly index: number;
  readonly process: Worker;
  readonly startedAt: number;
  /** The lists this worker holds, as the primary sent them (identity tells what changed). */
  lists: Map<string, ParsedList>;
  /** The start message (with the policy of that moment) went out; later policies follow it. */
  started: boolean;
  ready: boolean;
  /** Generation of the policy in the start message; 'ready' confirms it. */
  startGeneration: number;
  /** Policy messages for this worker, in order (see PolicyDelivery). */
  outbox: Promise<void>;
  /** Highest generation the worker confirmed. */
  applied: number;
}

export function newMember(index: number, process: Worker): Member {
  return { index, process, startedAt: Date.now(), lists: new Map(), started: false, ready: false, startGeneration: 0, applied: 0, outbox: Promise.resolve() };
}

/** Sends over the IPC channel if it is still open; a failed send is logged, never thrown. */
export function sendToMember(member: Member, message: ToWorker, logger: Logger): void {
  if (!member.process.isConnected()) return;
  member.process.send(message, (error: Error | null) => {
    if (error) logger.warn(`message to worker ${member.index} failed (${error.message})`);
  });
}

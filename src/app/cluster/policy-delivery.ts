import path from 'node:path';
import type { Config } from '../../config/options.js';
import type { ListRecord } from '../../lists/list-registry.js';
import { encodeEdit, writeListFile, type EncodedEdit, type EncodedList } from '../../lists/list-transfer.js';
import type { Logger } from '../../log/logger.js';
import type { ParsedList } from '../../policy/parse-list.js';
import type { Member } from './member.js';
import type { PolicyUpdate, ToWorker } from './messages.js';
import { closeTransferDir, openTransferDir, removeListFiles } from './transfer-dir.js';
import type { Waiters } from './waiters.js';
import { workerConfig } from './worker-config.js';

/** A worker that has not confirmed a policy by then is restarted (it gets the current one at start). */
const POLICY_ACK_TIMEOUT_MS = 15_000;
/** List files of a delivery are removed once confirmed, or after this long at the latest. */
const FILE_LIFETIME_MS = 60_000;

export interface PolicySnapshot {
  readonly records: readonly ListRecord[];
  readonly generation: number;
}

/** What delivery needs of the worker pool. */
export interface DeliveryTarget {
  readonly config: Config;
  readonly waiters: Waiters;
  members(): readonly Member[];
  /** False once the worker in this member's slot was replaced or is gone. */
  isCurrent(member: Member): boolean;
  send(member: Member, message: ToWorker): void;
  /** Ends the worker (drain for graceMs, then SIGKILL) so the pool starts a new one. */
  replace(member: Member, graceMs: number): void;
}

/**
 * Hands the policy to the workers: the start message carries the policy of its moment, and every
 * later generation follows in order. Lists travel as files (only those a worker lacks) and are
 * removed once the worker confirmed that generation.
 */
export class PolicyDelivery {
  private snapshot: PolicySnapshot;
  private readonly transferDir = openTransferDir();
  private nextFile = 1;

  constructor(
    private readonly pool: DeliveryTarget,
    private readonly logger: Logger,
    initial: PolicySnapshot,
  ) {
    this.snapshot = initial;
  }

  /** The start message for a worker that said it is waiting. */
  sendStart(member: Member): void {
    this.deliver(member, async () => {
      // From here on, updates queue behind this start; the ones before it are in this.snapshot.
      member.started = true;
      const snapshot = this.snapshot;
      member.startGeneration = snapshot.generation;
      const update = await this.transfer(member, snapshot);
      const message: ToWorker = { type: 'start', index: member.index, config: workerConfig(this.pool.config), policy: update };
      return { message, generation: snapshot.generation, files: update.lists };
    });
  }

  /** Sends the new policy to every worker and waits (bounded) until each confirms it. */
  async propagate(records: readonly ListRecord[], generation: number): Promise<void> {
    const snapshot = { records, generation };
    this.snapshot = snapshot;
    // Workers still starting get this policy with their start; they are waited for all the same.
    const targets = this.pool.members();
    for (const member of targets) {
      if (!member.started) continue;
      this.deliver(member, async () => {
        const update = await this.transfer(member, snapshot);
        return { message: { type: 'policy', policy: update }, generation, files: update.lists };
      });
    }
    // A worker that died meanwhile is out of the question: its replacement starts with this policy.
    const settled = (member: Member): boolean => member.applied >= generation || !this.pool.isCurrent(member);
    const confirmed = await this.pool.waiters.until(() => targets.every(settled), POLICY_ACK_TIMEOUT_MS);
    if (confirmed) return;
    for (const member of targets) {
      if (settled(member)) continue;
      // Silent for that long: stuck, so no graceful drain (it would not run).
      this.logger.error(`worker ${member.index} did not confirm policy ${generation} within ${POLICY_ACK_TIMEOUT_MS / 1000} s; killing it, it restarts with the current policy`);
      this.pool.replace(member, 0);
    }
  }

  close(): void {
    closeTransferDir(this.transferDir);
  }

  /**
   * Messages that carry a policy go to a worker one at a time, in order, each built when its turn
   * comes (writing list files takes a while): a worker never sees generations out of order, and a
   * start always carries the newest policy of its moment.
   */
  private deliver(member: Member, build: () => Promise<{ message: ToWorker; generation: number; files: readonly EncodedList[] }>): void {
    member.outbox = member.outbox
      .then(async () => {
        if (!this.pool.isCurrent(member)) return;
        const { message, generation, files } = await build();
        this.pool.send(member, message);
        const done = (): boolean => member.applied >= generation || !this.pool.isCurrent(member);
        void this.pool.waiters.until(done, FILE_LIFETIME_MS).then(() => removeListFiles(files));
      })
      .catch((error: unknown) => {
        this.logger.error(`could not hand the lists to worker ${member.index}; restarting it`, { err: error });
        this.pool.replace(member, 0);
      });
  }

  /**
   * The lists `member` lacks for `snapshot`: a delta of a list it holds as an edit (over IPC, so the
   * worker patches its policy instead of rebuilding it), any other list written to its own file.
   */
  private async transfer(member: Member, snapshot: PolicySnapshot): Promise<PolicyUpdate> {
    const missing: ParsedList[] = [];
    const edits: EncodedEdit[] = [];
    const held = new Map<string, ParsedList>();
    for (const { list } of snapshot.records) {
      held.set(list.name, list);
      const theirs = member.lists.get(list.name);
      if (theirs === list) continue;
      const edit = encodeEdit(list, theirs);
      if (edit !== undefined) edits.push(edit);
      else missing.push(list);
    }
    member.lists = held;
    const lists = await Promise.all(missing.map((list) => writeListFile(list, path.join(this.transferDir, `${this.nextFile++}.list`))));
    return { generation: snapshot.generation, order: snapshot.records.map((record) => record.list.name), lists, edits };
  }
}

/**
 * Live list updates under load: a 200,000-entry list is replaced through the admin API several
 * times (alternating between two contents, so names flip in and out) while several UDP senders
 * query without pause. No query may time out, get SERVFAIL or get an answer that no policy in
 * effect during its flight would give; a PUT's change must be visible right after its 200.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { buildQuery, decode, udpQuery } from '../helpers/dns-client.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { sleep } from '../helpers/built-cli.js';
import { admin, listLists } from './admin-helpers.js';
import { startTestServer, TEST_TOKEN } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const LIST = 'stress';
const ENTRIES = 200_000;
/** Names in both contents (blocked from the first push on); the rest of each content is its own. */
const SHARED = 100_000;
const SENDERS = 8;
const CLIENT_TIMEOUT_MS = 3000;
const MIN_QUERIES = 2000;
const CLEAN_NAMES = 100;
/** Pause between PUTs so every content is in effect, under load, for a while. */
const SETTLE_MS = 400;
const UPSTREAM_ADDRESS = '192.0.2.1';

type NameKind = 'always-blocked' | 'clean' | 'shared' | 'only-a' | 'only-b';

interface Outcome {
  readonly name: string;
  readonly kind: NameKind;
  readonly sentAt: number;
  readonly receivedAt: number;
  /** DNS rcode, or 'timeout' / 'error'. */
  readonly result: number | 'timeout' | 'error';
  readonly addresses: readonly string[];
  readonly detail: string;
}

interface Push {
  /** Index into `contents` of the content this PUT installs. */
  readonly content: number;
  readonly startedAt: number;
  endedAt: number;
  status: number;
  ms: number;
  generation: number;
}

function generateNames(count: number, tag: string): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) names.push(`d${i}-${tag}${randomBytes(3).toString('hex')}.stress.test`);
  return names;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

describe('replacing a 200k-entry list under query load', () => {
  it('never times out, never SERVFAILs, never answers wrongly, and shows each change right after its 200', { timeout: 120_000 }, async () => {
    const upstream = await startFakeUpstream();
    cleanups.push(() => upstream.close());
    const fw = await startTestServer(
      { upstream: [`127.0.0.1:${upstream.port}`], 'watch-lists': 'false' },
      { 'fixed.txt': '# category: phishing\nalways.blocked.test\n' },
      { FRAUDWALL_ADMIN_TOKEN: TEST_TOKEN },
    );
    cleanups.push(() => fw.close());

    const shared = generateNames(SHARED, 's');
    const onlyA = generateNames(ENTRIES - SHARED, 'a');
    const onlyB = generateNames(ENTRIES - SHARED, 'b');
    const textA = [...shared, ...onlyA].join('\n');
    const textB = [...shared, ...onlyB].join('\n');
    // contents[0]: before the first push the list does not exist. Then A, B, A, B.
    const contents: { readonly blocks: (kind: NameKind) => boolean }[] = [
      { blocks: () => false },
      { blocks: (kind) => kind === 'shared' || kind === 'only-a' },
      { blocks: (kind) => kind === 'shared' || kind === 'only-b' },
    ];
    const plan = [1, 2, 1, 2];
    const cleanNames = Array.from({ length: CLEAN_NAMES }, (_, i) => `clean-${i}.example`);
    const alwaysBlocked = ['always.blocked.test', 'www.always.blocked.test', 'x1.always.blocked.test'];

    // Sanity before load: the fixed list blocks and clean names resolve.
    expect(decode(await udpQuery(fw.port, buildQuery('always.blocked.test', 'A'))).rcode).toBe(3);
    expect(decode(await udpQuery(fw.port, buildQuery('clean-0.example', 'A'))).answers.map((a) => a.data)).toEqual([UPSTREAM_ADDRESS]);

    const outcomes: Outcome[] = [];
    let stopping = false;

    const sender = async (index: number): Promise<void> => {
      let id = (index * 8191) & 0xffff;
      while (!stopping) {
        id = (id + 1) & 0xffff;
        const roll = Math.random();
        let kind: NameKind;
        let name: string;
        if (roll < 0.15) [kind, name] = ['always-blocked', pick(alwaysBlocked)];
        else if (roll < 0.3) [kind, name] = ['clean', pick(cleanNames)];
        else if (roll < 0.53) [kind, name] = ['shared', pick(shared)];
        else if (roll < 0.76) [kind, name] = ['only-a', pick(onlyA)];
        else [kind, name] = ['only-b', pick(onlyB)];
        const sentAt = performance.now();
        try {
          // One attempt per query, no retry: a lost or late answer is a failure.
          const reply = decode(await udpQuery(fw.port, buildQuery(name, 'A', { id }), { timeoutMs: CLIENT_TIMEOUT_MS }));
          const receivedAt = performance.now();
          const problems: string[] = [];
          if (reply.id !== id) problems.push(`id ${reply.id} != ${id}`);
          if (reply.questions[0]?.name.toLowerCase().replace(/\.$/, '') !== name) problems.push(`question ${reply.questions[0]?.name}`);
          const addresses = reply.answers.map((a) => String(a.data));
          outcomes.push({ name, kind, sentAt, receivedAt, result: reply.rcode, addresses, detail: problems.join('; ') });
        } catch (error) {
          const message = (error as Error).message;
          const result = message.includes('no reply') ? 'timeout' : 'error';
          outcomes.push({ name, kind, sentAt, receivedAt: performance.now(), result, addresses: [], detail: message });
        }
      }
    };

    const pushes: Push[] = [];
    const pushAll = async (): Promise<void> => {
      await sleep(SETTLE_MS); // content 0 under load first
      for (const content of plan) {
        const push: Push = { content, startedAt: performance.now(), endedAt: 0, status: 0, ms: 0, generation: 0 };
        pushes.push(push);
        const reply = await admin(fw.httpPort, 'PUT', `/v1/lists/${LIST}?category=stress`, {
          token: TEST_TOKEN,
          body: content === 1 ? textA : textB,
          timeoutMs: 30_000,
        });
        push.endedAt = performance.now();
        push.status = reply.status;
        push.ms = reply.ms;
        push.generation = Number(reply.body['generation']);
        if (reply.status >= 300) throw new Error(`PUT answered ${reply.status}: ${JSON.stringify(reply.body)}`);
        await sleep(SETTLE_MS);
      }
    };

    const senders = Array.from({ length: SENDERS }, (_, i) => sender(i));
    try {
      await pushAll();
    } finally {
      stopping = true;
      await Promise.all(senders);
    }

    // Which contents a query may have seen: content j is possibly in effect from the start of the
    // PUT that installs it until the 200 of the PUT that replaces it.
    const mayHaveSeen = (o: Outcome): number[] => {
      const seen: number[] = [];
      for (let j = 0; j <= pushes.length; j++) {
        const from = j === 0 ? -Infinity : pushes[j - 1]!.startedAt;
        const until = j === pushes.length ? Infinity : pushes[j]!.endedAt;
        if (from <= o.receivedAt && o.sentAt <= until) seen.push(j === 0 ? 0 : pushes[j - 1]!.content);
      }
      return seen;
    };
    const isBlockAnswer = (o: Outcome): boolean => o.result === 3 && o.addresses.length === 0;
    const isCleanAnswer = (o: Outcome): boolean => o.result === 0 && o.addresses.length === 1 && o.addresses[0] === UPSTREAM_ADDRESS;

    const timeouts = outcomes.filter((o) => o.result === 'timeout');
    const errors = outcomes.filter((o) => o.result === 'error');
    const servfails = outcomes.filter((o) => o.result === 2);
    const wrong = outcomes.filter((o) => {
      if (typeof o.result !== 'number' || o.result === 2) return false;
      if (o.detail !== '') return true;
      if (o.kind === 'always-blocked') return !isBlockAnswer(o);
      if (o.kind === 'clean') return !isCleanAnswer(o);
      const verdicts = new Set(mayHaveSeen(o).map((j) => contents[j]!.blocks(o.kind)));
      return !((verdicts.has(true) && isBlockAnswer(o)) || (verdicts.has(false) && isCleanAnswer(o)));
    });

    // Visibility: the first answer showing the new content for a name that flips with this PUT,
    // measured from the PUT's 200 (negative: already visible before the 200 reached the client).
    const visibility = pushes.map((push, k) => {
      const before = k === 0 ? 0 : pushes[k - 1]!.content;
      const after = push.content;
      const showsNew = (o: Outcome): boolean => {
        if (o.kind === 'always-blocked' || o.kind === 'clean') return false;
        const was = contents[before]!.blocks(o.kind);
        const now = contents[after]!.blocks(o.kind);
        if (was === now) return false;
        return now ? isBlockAnswer(o) : isCleanAnswer(o);
      };
      const firstSeen = outcomes.filter((o) => o.receivedAt >= push.startedAt && showsNew(o)).reduce((min, o) => Math.min(min, o.receivedAt), Infinity);
      const firstSentAfter = outcomes
        .filter((o) => o.sentAt >= push.endedAt && showsNew(o))
        .reduce((min, o) => Math.min(min, o.receivedAt), Infinity);
      return { seenMs: firstSeen - push.endedAt, afterMs: firstSentAfter - push.endedAt };
    });

    const byKind = new Map<string, number>();
    for (const o of outcomes) byKind.set(o.kind, (byKind.get(o.kind) ?? 0) + 1);
    const durationS = (pushes.at(-1)!.endedAt - pushes[0]!.startedAt + 2 * SETTLE_MS) / 1000;
    console.log(
      [
        `[live-update-stress] ${outcomes.length} UDP queries from ${SENDERS} senders over ~${durationS.toFixed(1)} s ` +
          `(${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`,
        `[live-update-stress] timeouts ${timeouts.length}, errors ${errors.length}, SERVFAIL ${servfails.length}, wrong ${wrong.length}`,
        `[live-update-stress] PUT of ${ENTRIES} entries (${(textA.length / 1e6).toFixed(1)} MB): ` +
          pushes.map((p) => `${Math.round(p.ms)} ms`).join(', '),
        `[live-update-stress] change visible, relative to the PUT's 200 (first answer showing it): ` +
          visibility.map((v) => `${Math.round(v.seenMs)} ms`).join(', '),
        `[live-update-stress] first answer to a query sent after the 200 (always new content): ` +
          visibility.map((v) => `+${Math.round(v.afterMs)} ms`).join(', '),
      ].join('\n'),
    );
    const show = (list: Outcome[]): string =>
      list
        .slice(0, 5)
        .map((o) => `${o.kind} ${o.name}: ${o.result} [${o.addresses.join(',')}] ${o.detail} (sent ${Math.round(o.sentAt)}, answered ${Math.round(o.receivedAt)})`)
        .join('\n');

    expect(pushes.map((p) => p.status)).toEqual([201, 200, 200, 200]);
    expect(outcomes.length).toBeGreaterThanOrEqual(MIN_QUERIES);
    expect(timeouts.length, `timeouts:\n${show(timeouts)}`).toBe(0);
    expect(errors.length, `errors:\n${show(errors)}`).toBe(0);
    expect(servfails.length, `SERVFAIL:\n${show(servfails)}`).toBe(0);
    expect(wrong.length, `wrong answers:\n${show(wrong)}\npushes ${JSON.stringify(pushes.map((p) => [Math.round(p.startedAt), Math.round(p.endedAt)]))}`).toBe(0);
    for (const [k, v] of visibility.entries()) {
      expect(v.seenMs, `PUT ${k + 1}: new content never seen`).toBeLessThan(1000);
      expect(v.afterMs, `PUT ${k + 1}: no query sent after the 200 saw the new content`).toBeLessThan(1000);
    }
    // Every kind was exercised, and the policy ends on the last content with all entries.
    for (const kind of ['always-blocked', 'clean', 'shared', 'only-a', 'only-b']) expect(byKind.get(kind) ?? 0).toBeGreaterThan(50);
    const { lists, generation } = await listLists(fw.httpPort, TEST_TOKEN);
    expect(lists.find((l) => l.name === LIST)?.entries).toBe(ENTRIES);
    expect(generation).toBe(pushes.at(-1)!.generation);
    expect(pushes.map((p) => p.generation)).toEqual([2, 3, 4, 5]);
  });
});

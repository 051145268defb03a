/**
 * Helpers of the `serve --workers N` suite: the worker processes of a cluster primary (from /proc),
 * running code on one worker alone (the others SIGSTOPped), many UDP queries from distinct source
 * ports, and an upstream that makes every loop probe come back to a worker other than its sender.
 * Everything talks to 127.0.0.1 only, and every wait is bounded.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { buildQuery, decode, udpSendNoReply, type DecodedMessage } from '../helpers/dns-client.js';
import { readName } from '../helpers/dns-wire.js';
import { bindUdp, closeUdp } from '../helpers/ports.js';
import { sleep, waitFor } from '../helpers/built-cli.js';
import { LOOP_PROBE_SUFFIX } from '../../src/upstream/loop-guard.js';

/** Direct children of `pid` (every thread's /proc/PID/task/TID/children); [] once it is gone. */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const task of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) {
        if (child !== '') out.add(Number(child));
      }
    } catch {
      // the thread ended meanwhile
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** The process state letter of /proc/PID/stat (R, S, T, Z…), or undefined when there is no such process. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** True while `pid` exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** The command line of `pid` ('' when gone); a worker's reads "fraudwall worker N" (process.title). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** A process this suite started: fraudwall's CLI, a worker (titled or not yet), nothing else. */
export function isFraudwallProcess(pid: number): boolean {
  const line = cmdline(pid);
  return line.includes('fraudwall worker') || line.includes('worker-entry.js') || line.includes('dist/cli.js');
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Waits (bounded) until `pid` is in the stopped state (T). */
async function waitStopped(pid: number, timeoutMs = 2000): Promise<void> {
  const stopped = await waitFor(() => procState(pid) === 'T' || procState(pid) === 't', timeoutMs, 5);
  if (!stopped) throw new Error(`process ${pid} did not stop within ${timeoutMs} ms (state ${procState(pid)})`);
}

/**
 * Runs `fn` while every worker but `keep` is SIGSTOPped, so the shared sockets have a single
 * reader: whatever answers during `fn` was answered by `keep`. The others continue afterwards.
 */
export async function withOnlyWorker<T>(workers: readonly number[], keep: number, fn: () => Promise<T>): Promise<T> {
  const others = workers.filter((pid) => pid !== keep);
  if (others.length === workers.length) throw new Error(`withOnlyWorker: ${keep} is not one of ${workers.join(', ')}`);
  try {
    for (const pid of others) signal(pid, 'SIGSTOP');
    for (const pid of others) await waitStopped(pid);
    return await fn();
  } finally {
    for (const pid of others) signal(pid, 'SIGCONT');
  }
}

export interface UdpOutcome {
  readonly name: string;
  /** null: no reply within the timeout (after every attempt). */
  readonly reply: DecodedMessage | null;
  readonly sourcePort: number;
  /** Sends it took (1 unless retried). */
  readonly attempts: number;
}

/**
 * A set of bound UDP sockets, one source port each, opened ahead of time so that a burst can go
 * out the moment it is needed (e.g. right after an admin API 200).
 */
export class PortFleet {
  private constructor(private readonly sockets: readonly Socket[]) {}

  static async open(count: number): Promise<PortFleet> {
    const sockets = await Promise.all(
      Array.from({ length: count }, async () => {
        const socket = createSocket('udp4');
        socket.on('error', () => undefined);
        await bindUdp(socket, 0, '127.0.0.1');
        return socket;
      }),
    );
    return new PortFleet(sockets);
  }

  get size(): number {
    return this.sockets.length;
  }

  /**
   * One A query per name (names.length <= size), the i-th from the i-th socket, all sent at once.
   * `attempts` > 1 resends a query still unanswered after `timeoutMs` (same socket, same ID).
   */
  ask(port: number, names: readonly string[], options: { timeoutMs?: number; attempts?: number } = {}): Promise<UdpOutcome[]> {
    if (names.length > this.sockets.length) throw new Error(`PortFleet: ${names.length} names for ${this.sockets.length} sockets`);
    const timeoutMs = options.timeoutMs ?? 2000;
    const attempts = options.attempts ?? 1;
    return Promise.all(
      names.map(
        (name, i) =>
          new Promise<UdpOutcome>((resolve) => {
            const socket = this.sockets[i]!;
            const query = buildQuery(name, 'A');
            const sourcePort = socket.address().port;
            let tries = 0;
            let timer: NodeJS.Timeout | undefined;
            const finish = (reply: DecodedMessage | null): void => {
              clearTimeout(timer);
              socket.removeListener('message', onMessage);
              resolve({ name, reply, sourcePort, attempts: tries });
            };
            const onMessage = (message: Buffer): void => {
              if (message.length < 2 || message.readUInt16BE(0) !== query.readUInt16BE(0)) return;
              let reply: DecodedMessage | null = null;
              try {
                reply = decode(message);
              } catch {
                reply = null;
              }
              finish(reply);
            };
            const attempt = (): void => {
              tries++;
              socket.send(query, port, '127.0.0.1');
              timer = setTimeout(() => (tries < attempts ? attempt() : finish(null)), timeoutMs);
            };
            socket.on('message', onMessage);
            attempt();
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((socket) => closeUdp(socket)));
  }
}

/** `names`, each from its own fresh source port (a fleet opened and closed around the burst). */
export async function queryFromManyPorts(port: number, names: readonly string[], options: { timeoutMs?: number; attempts?: number } = {}): Promise<UdpOutcome[]> {
  const fleet = await PortFleet.open(names.length);
  try {
    return await fleet.ask(port, names, options);
  } finally {
    await fleet.close();
  }
}

/** A one-line summary of outcomes that are not `expected` (rcode), for assertion messages. */
export function unexpected(outcomes: readonly UdpOutcome[], expected: (reply: DecodedMessage) => boolean): string[] {
  return outcomes
    .filter((outcome) => outcome.reply === null || !expected(outcome.reply))
    .map((outcome) => `${outcome.name} from :${outcome.sourcePort}: ${outcome.reply === null ? 'no reply' : `rcode ${outcome.reply.rcode} ${JSON.stringify(outcome.reply.answers.map((a) => a.data))}`}`);
}

/** The inode of the UDP (IPv4) socket bound to local `localPort` and connected to remote `remotePort`. */
function udpInode(localPort: number, remotePort: number): string | undefined {
  const lines = readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const local = Number.parseInt(fields[1]!.split(':')[1]!, 16);
    const remote = Number.parseInt(fields[2]!.split(':')[1]!, 16);
    if (local === localPort && (remote === remotePort || remote === 0)) return fields[9];
  }
  return undefined;
}

/** Which of `pids` holds the socket with `inode` open. */
function socketOwner(inode: string, pids: readonly number[]): number | undefined {
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** True when `pid` holds the UDP socket bound to local `port` (a worker got the shared DNS socket). */
function holdsUdpPort(pid: number, port: number): boolean {
  const inode = udpInode(port, 0);
  return inode !== undefined && socketOwner(inode, [pid]) === pid;
}

export interface ProbeRelay {
  readonly port: number;
  /** One entry per loop probe handled: its sender, and whether another worker answered the copy. */
  readonly probes: { name: string; sender: number; answeredByOther: boolean }[];
  /** Queries for other names (a worker that did not see the loop would send them here). */
  readonly otherQueries: string[];
  /** Anything that kept the relay from forcing the cross-worker path. */
  readonly problems: string[];
  close(): Promise<void>;
}

/**
 * A forwarding loop that always crosses workers: each loop probe a worker sends here is copied to
 * fraudwall's DNS port while its sender is SIGSTOPped, so only another worker can read the copy;
 * the sender is let go once that worker answered (plus a moment for its word to pass through the
 * primary), and then gets its reply. Probes are relayed one at a time, each once another worker
 * holds the shared DNS socket. Queries that are not probes get no answer.
 */
export async function startProbeRelay(options: { fraudwallPort: number; workers: () => number[] }): Promise<ProbeRelay> {
  const socket = createSocket('udp4');
  socket.on('error', () => undefined);
  const port = await bindUdp(socket, 0, '127.0.0.1');
  const waiting: { message: Buffer; remote: RemoteInfo; name: string; sender: number }[] = [];
  let closed = false;
  let relaying = false;
  const relay: ProbeRelay = {
    port,
    probes: [],
    otherQueries: [],
    problems: [],
    close: async () => {
      closed = true;
      await closeUdp(socket);
    },
  };

  const answer = (message: Buffer, remote: RemoteInfo): void => {
    const reply = Buffer.from(message);
    reply[2] = reply[2]! | 0x80; // QR
    reply[3] = (reply[3]! & 0xf0) | 3; // NXDOMAIN
    if (!closed) socket.send(reply, remote.port, remote.address);
  };

  /** Another worker than `sender` that reads the shared DNS socket (waits up to 1 s for one). */
  const reader = async (sender: number): Promise<{ workers: number[]; other: number } | undefined> => {
    const deadline = performance.now() + 1000;
    while (!closed) {
      const workers = options.workers();
      const other = workers.find((pid) => pid !== sender && holdsUdpPort(pid, options.fraudwallPort));
      if (other !== undefined) return { workers, other };
      if (performance.now() > deadline) return undefined;
      await sleep(5);
    }
    return undefined;
  };

  const relayAll = async (): Promise<void> => {
    relaying = true;
    while (waiting.length > 0 && !closed) {
      const probe = waiting.shift()!;
      try {
        const found = await reader(probe.sender);
        if (found === undefined) {
          relay.problems.push(`probe ${probe.name} from ${probe.sender}: no other worker holds the DNS socket within 1 s`);
        } else {
          await withOnlyWorker(found.workers, found.other, async () => {
            // The copy's reply (REFUSED) shows that a worker other than the sender read it.
            const reply = await udpSendNoReply(options.fraudwallPort, probe.message, 1000);
            relay.probes.push({ name: probe.name, sender: probe.sender, answeredByOther: reply !== null });
            await sleep(100);
          });
        }
      } catch (error) {
        relay.problems.push(`relaying ${probe.name}: ${(error as Error).message}`);
      }
      answer(probe.message, probe.remote);
    }
    relaying = false;
  };

  socket.on('message', (message: Buffer, remote: RemoteInfo) => {
    if (message.length < 12 || (message[2]! & 0x80) !== 0) return;
    let name: string;
    try {
      name = readName(message, 12).name.toLowerCase().replace(/\.$/, '');
    } catch {
      return;
    }
    if (!name.endsWith(LOOP_PROBE_SUFFIX)) {
      relay.otherQueries.push(name);
      return;
    }
    const workers = options.workers();
    const inode = udpInode(remote.port, port);
    const sender = inode === undefined ? undefined : socketOwner(inode, workers);
    if (sender === undefined) {
      relay.problems.push(`probe ${name} from :${remote.port}: no worker among ${workers.join(', ')} holds that socket`);
      answer(message, remote);
      return;
    }
    waiting.push({ message, remote, name, sender });
    if (!relaying) void relayAll();
  });
  return relay;
}

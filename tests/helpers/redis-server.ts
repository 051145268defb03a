/**
 * A real redis-server as a child process on 127.0.0.1, for the fleet suites: started on a fixed
 * port chosen once (so it can be killed and started again where the instances expect it), with an
 * append-only file fsynced on every write (so a restart "with its data" has all of it), killable
 * with SIGKILL. Every wait is bounded; whatever still runs when this process exits is SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sleep } from './built-cli.js';
import { freePort } from './ports.js';
import { findTool } from './require-tool.js';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One RESP command over a fresh TCP connection; resolves with the raw reply text. */
export function redisCommand(port: number, args: readonly string[], password?: string, timeoutMs = 2000): Promise<string> {
  const encode = (parts: readonly string[]): string => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on ${port} did not answer ${args[0]} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const replies = password ? 2 : 1;
      if (text.split('\r\n').length > replies) {
        clearTimeout(timer);
        socket.end();
        resolve(password ? text.slice(text.indexOf('\r\n') + 2) : text);
      }
    });
    socket.write((password ? encode(['AUTH', password]) : '') + encode(args));
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly port: number,
    private dir: string,
    /** With a password, Redis refuses clients that do not AUTH (`requirepass`). */
    readonly password?: string,
  ) {}

  static async start(options: { password?: string } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(path.join(tmpdir(), 'fraudwall-redis-')), options.password);
    await server.launch();
    return server;
  }

  get url(): string {
    return this.password ? `redis://:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server again on the same port: with the data it had, or from an empty directory. */
  async restart(data: 'keep' | 'empty'): Promise<void> {
    if (data === 'empty') {
      rmSync(this.dir, { recursive: true, force: true });
      this.dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-redis-'));
    }
    await this.launch();
  }

  /** SIGKILL: no shutdown save, no goodbye to clients. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
    running.delete(child);
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async command(...args: string[]): Promise<string> {
    return redisCommand(this.port, args, this.password);
  }

  private async launch(): Promise<void> {
    const bin = findTool('redis-server');
    if (bin === null) throw new Error('redis-server is not installed: apt-get install -y --no-install-recommends redis-server');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', ...(this.password ? ['--requirepass', this.password] : [])];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000)));
    child.stderr?.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000)));
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${this.output}`);
      try {
        if ((await this.command('PING')).startsWith('+PONG')) return;
      } catch {
        // not listening yet
      }
      await sleep(30);
    }
    throw new Error(`redis-server did not answer PING within 10 s:\n${this.output}`);
  }
}

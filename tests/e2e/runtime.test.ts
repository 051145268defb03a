/**
 * The supported runtime: Node.js 24 LTS is the floor. `npm ci` installs a pinned Node 24 (the `node`
 * devDependency) whose binary npm scripts find first on PATH, so `npm start`, `npm test` and
 * `.ci/run` run on it even where the machine's own Node is older; the built CLI refuses an older
 * Node with a message that says what to do.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, requireBuiltCli } from '../helpers/built-cli.js';

beforeAll(() => requireBuiltCli());

const FLOOR = 24;
const major = (version: string): number => Number(version.replace(/^v/, '').split('.')[0]);
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines: Record<string, string>;
  devDependencies: Record<string, string>;
  allowScripts?: Record<string, unknown>;
};

/** The version of the `node` a shell finds on `PATH` (what npm scripts and `#!/usr/bin/env node` run). */
function nodeOnPath(): { path: string; version: string } {
  const found = spawnSync('node', ['-p', 'process.execPath + " " + process.version'], { env: { PATH: process.env['PATH'] ?? '' }, encoding: 'utf8' });
  const [execPath, version] = found.stdout.trim().split(' ');
  return { path: execPath ?? '', version: version ?? '' };
}

/** A `node` older than the floor on this machine (the system Node 20 of the CI machines), if any. */
function olderNode(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/local/bin', '/usr/bin'];
  for (const dir of dirs.filter((d) => d !== '' && !d.includes('node_modules'))) {
    const candidate = path.join(dir, 'node');
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-p', 'process.version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    if (/^v\d+\./.test(version) && major(version) < FLOOR) return candidate;
  }
  return undefined;
}

function expectRefused(result: ReturnType<typeof spawnSync>, version: string): void {
  expect(result.status).toBe(1);
  expect(result.stdout.toString()).toBe('');
  const stderr = result.stderr.toString();
  expect(stderr).toContain(`fraudwall needs Node.js ${FLOOR} or newer; this is Node.js ${version}`);
  expect(stderr).toContain('npm start');
}

describe('runtime', () => {
  it(`the suite, and the node that npm scripts find first on PATH, are Node.js ${FLOOR} or newer`, () => {
    const onPath = nodeOnPath();
    console.log(`tests run on node ${process.version} (${process.execPath}); node on PATH: ${onPath.version} (${onPath.path})`);
    expect(major(process.version)).toBeGreaterThanOrEqual(FLOOR);
    expect(major(onPath.version)).toBeGreaterThanOrEqual(FLOOR);
    const cli = spawnSync('node', [CLI, '--version'], { env: { PATH: process.env['PATH'] ?? '' }, encoding: 'utf8' });
    expect(cli.status).toBe(0);
  });

  it(`package.json: engines node >=${FLOOR}, and the node devDependency pinned exactly to a ${FLOOR}.x with its install script allowed`, () => {
    expect(pkg.engines['node']).toBe(`>=${FLOOR}`);
    expect(pkg.devDependencies['node']).toMatch(new RegExp(`^${FLOOR}\\.\\d+\\.\\d+$`));
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^${FLOOR}\\.\\d+\\.\\d+$`));
    // The node package fetches its platform's binary in a preinstall script, which npm 11 asks to approve.
    expect(pkg.allowScripts?.['node']).toBe(true);
  });

  it(`the built CLI on a Node.js below ${FLOOR} exits 1 with what to do (version faked before the CLI loads)`, () => {
    const fake = `Object.defineProperty(process.versions, 'node', { value: '22.11.0' }); Object.defineProperty(process, 'version', { value: 'v22.11.0' });`;
    const result = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(fake)}`, CLI, 'serve'], { encoding: 'utf8', timeout: 15_000 });
    expectRefused(result, 'v22.11.0');
  });

  const older = olderNode();
  it.runIf(older !== undefined)(`the built CLI on this machine's older Node.js (${older ?? 'none'}) exits 1 with what to do, before any module fails to load`, () => {
    const version = spawnSync(older!, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim();
    const result = spawnSync(older!, [CLI, 'serve'], { encoding: 'utf8', timeout: 15_000 });
    expectRefused(result, version);
  });
});

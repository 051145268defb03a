/**
 * src/runtime-flags.ts (issue #16) is the one list of how fraudwall is launched: the CLI applies the
 * V8 flags that work after start, except those the operator gave node; the CLI's shebang and the
 * benchmark launch it with the same flags and environment as npm start, the Docker image and the
 * systemd unit (those three are checked in tests/observability/docker-files.test.ts and
 * tests/deploy/systemd-unit.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyRuntimeFlags, LAUNCH_ENV, NODE_LAUNCH_FLAGS, RUNTIME_V8_FLAGS } from '../../src/runtime-flags.js';

const read = (relative: string): string => readFileSync(new URL(`../../${relative}`, import.meta.url), 'utf8');

describe('runtime flags', () => {
  it('applies each runtime V8 flag when node was launched without it', () => {
    expect(RUNTIME_V8_FLAGS.length).toBeGreaterThan(0);
    expect(applyRuntimeFlags(['--max-semi-space-size=2'], '')).toEqual([...RUNTIME_V8_FLAGS]);
  });

  it("leaves a flag alone that the operator set on node's command line or in NODE_OPTIONS, in either spelling", () => {
    const [flag] = RUNTIME_V8_FLAGS;
    const name = flag!.split('=')[0]!;
    expect(applyRuntimeFlags([`${name}=10`], '')).not.toContain(flag);
    expect(applyRuntimeFlags([], `--max-old-space-size=512 ${name}=10`)).not.toContain(flag);
    expect(applyRuntimeFlags([`--${name.slice(2).replaceAll('-', '_')}=10`], '')).not.toContain(flag);
  });

  it("the CLI's shebang and the benchmark launch fraudwall with the launch flags and environment", () => {
    const shebang = read('src/cli.ts').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_LAUNCH_FLAGS.join(' ')}`);
    const servers = read('bench/lib/servers.mjs');
    const flags = /export const FW_NODE_FLAGS = (\[[^\]]*\]);/.exec(servers)?.[1];
    expect(JSON.parse(flags!.replaceAll("'", '"'))).toEqual(NODE_LAUNCH_FLAGS);
    const env = /export const FW_ENV = (\{[^}]*\});/.exec(servers)?.[1];
    expect(JSON.parse(env!.replaceAll("'", '"').replace(/(\w+):/g, '"$1":'))).toEqual(LAUNCH_ENV);
  });
});

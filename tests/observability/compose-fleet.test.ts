/**
 * The compose file's fleet profile: two fraudwall instances and a Redis that only start with
 * `--profile fleet`, with environments fraudwall accepts and a Redis URL that names that Redis and
 * its password.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';

interface ComposeService {
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[];
}
const compose = parse(readFileSync(new URL('../../docker/compose.yaml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};

/** Compose's `${VAR:-default}` with the variables unset, as `docker compose` would resolve it. */
const withDefaults = (text: string): string => text.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker/compose.yaml fleet profile', () => {
  const fleet = Object.entries(compose.services).filter(([, service]) => service.profiles?.includes('fleet'));

  it('adds Redis and two fraudwall instances, none of them started without --profile fleet', () => {
    expect(fleet.map(([name]) => name).sort()).toEqual(['fleet-a', 'fleet-b', 'fleet-redis']);
    for (const name of ['fraudwall', 'prometheus', 'grafana']) expect(compose.services[name]?.profiles).toBeUndefined();
  });

  it('gives each instance an environment fraudwall accepts, pointing at the profile Redis with its password', () => {
    const redis = compose.services['fleet-redis']!;
    const password = withDefaults(redis.command![redis.command!.indexOf('--requirepass') + 1]!);
    for (const name of ['fleet-a', 'fleet-b']) {
      const service = compose.services[name]!;
      const env = Object.fromEntries(Object.entries(service.environment!).map(([k, v]) => [k, withDefaults(v)]));
      // The image's environment (docker/Dockerfile) under the service's own.
      const config = loadConfig({ flags: {}, env: { FRAUDWALL_LISTEN: '0.0.0.0:5300', FRAUDWALL_HTTP: '0.0.0.0:8053', FRAUDWALL_STATE: '/var/lib/fraudwall', ...env } });
      const url = new URL(config.redis);
      expect(url.hostname).toBe('fleet-redis');
      expect(url.password).toBe(password);
      expect(service.depends_on).toContain('fleet-redis');
      // Each instance keeps its own state on its own volume.
      const stateVolume = service.volumes!.find((v) => config.state.startsWith(v.split(':')[1]!));
      expect(stateVolume, `${name} state ${config.state} is on a volume`).toBeDefined();
      expect(compose.volumes).toHaveProperty(stateVolume!.split(':')[0]!);
    }
    expect(compose.services['fleet-a']!.volumes).not.toEqual(compose.services['fleet-b']!.volumes);
  });

  it('publishes the instances on distinct loopback ports', () => {
    const published = fleet.flatMap(([, service]) => service.ports ?? []);
    expect(published.every((port) => port.startsWith('127.0.0.1:'))).toBe(true);
    expect(new Set(published).size).toBe(published.length);
  });
});

/**
 * The Docker kit without a Docker engine: compose.yaml points at files that exist, the Dockerfile is
 * multi-stage, non-root and health-checked (the HEALTHCHECK command itself is run against a live
 * fraudwall), its environment is accepted by fraudwall's config loader, and the Grafana dashboard
 * and provisioning files agree with each other.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { LAUNCH_ENV, NODE_LAUNCH_FLAGS } from '../../src/runtime-flags.js';
import { freePort } from '../helpers/ports.js';
import { runProgram } from '../helpers/run-program.js';
import { allPanels, datasourceUid, DASHBOARD_PATH, DOCKER_DIR, loadDashboard, REPO_ROOT } from './dashboard.js';
import { startLiveFraudwall, type LiveFraudwall } from './live-fraudwall.js';

// ---------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore parsing (just enough for these files)

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** Index of the FROM stage the instruction belongs to (-1 before the first FROM). */
  readonly stage: number;
}

function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (pending !== '' && /^\s*#/.test(line)) continue; // comment lines inside a continuation are dropped
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full !== '') logical.push(full);
  }
  let stage = -1;
  return logical.map((line) => {
    const space = line.search(/\s/);
    const keyword = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    if (keyword === 'FROM') stage++;
    return { keyword, args: space < 0 ? '' : line.slice(space).trim(), stage };
  });
}

/** `ENV A=1 B=2` and the legacy `ENV A 1`. */
function envOf(instructions: readonly Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions.filter((i) => i.keyword === 'ENV')) {
    if (!/^\S+=/.test(args)) {
      const [key, ...rest] = args.split(/\s+/);
      env[key!] = rest.join(' ');
      continue;
    }
    for (const match of args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) env[match[1]!] = match[3] ?? match[2]!;
  }
  return env;
}

/** Flags (`--from=build`) and the remaining words of a COPY/ADD. */
function copyArgs(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const [key, value] = words.shift()!.slice(2).split('=');
    flags[key!] = value ?? '';
  }
  const dest = words.pop() ?? '';
  return { flags, sources: words, dest };
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Docker's rule: a path is excluded when the last pattern matching it or one of its parent directories is not a `!` pattern. */
function dockerIgnored(patterns: readonly string[], relativePath: string): boolean {
  const parts = posix.normalize(relativePath).split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = posix.normalize((negate ? raw.slice(1) : raw).replace(/^\/+/, ''));
    const re = globToRegExp(pattern);
    if (prefixes.some((prefix) => re.test(prefix))) ignored = !negate;
  }
  return ignored;
}

// ---------------------------------------------------------------------------------------------

const dockerfile = parseDockerfile(readFileSync(join(DOCKER_DIR, 'Dockerfile'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const finalStage = Math.max(...dockerfile.map((i) => i.stage));
const runtime = dockerfile.filter((i) => i.stage === finalStage);
const ignorePatterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

interface ComposeService {
  build?: string | { context?: string; dockerfile?: string };
  image?: string;
  ports?: (string | { target: number; published?: string | number; protocol?: string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  environment?: Record<string, string | number | boolean | null> | string[];
  secrets?: (string | { source: string; target?: string })[];
}
const compose = parse(readFileSync(join(DOCKER_DIR, 'compose.yaml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string }>;
};

/** Short-syntax volumes `SRC:DST[:MODE]` and long-syntax objects, as { source, target, bind }. */
function volumesOf(service: ComposeService): { source: string; target: string; bind: boolean }[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') {
      const source = volume.source ?? '';
      return { source, target: volume.target, bind: volume.type === 'bind' };
    }
    const [source, target] = volume.split(':');
    return { source: source!, target: target ?? source!, bind: /^[./~]/.test(source!) };
  });
}

/** `HOST:CONTAINER[/proto]` (optionally `IP:HOST:CONTAINER`) → `CONTAINER/proto ← HOST`. */
function portsOf(service: ComposeService): { published: string; target: string }[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') return { published: String(port.published ?? ''), target: `${port.target}/${port.protocol ?? 'tcp'}` };
    const [mapping, protocol = 'tcp'] = port.split('/');
    const parts = mapping!.split(':');
    return { published: parts.at(-2) ?? '', target: `${parts.at(-1)}/${protocol}` };
  });
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((item) => [item.split('=')[0]!, item.slice(item.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

describe('Dockerfile', () => {
  it('is multi-stage on node:<major>-bookworm-slim at the runtime floor (Node 24) or newer: npm ci + build, then a runtime with npm ci --omit=dev', () => {
    const froms = dockerfile.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const floor = Number(/^>=(\d+)$/.exec(pkg.engines.node)?.[1]);
    expect(floor).toBeGreaterThanOrEqual(24);
    for (const from of froms) {
      const image = /^node:(\d+)(?:\.\d+){0,2}-bookworm-slim(?:\s|$)/.exec(from.args);
      expect(image, `FROM ${from.args}: not an official node:<version>-bookworm-slim image`).not.toBeNull();
      expect(Number(image![1]), `FROM ${from.args}: below the runtime floor (engines.node ${pkg.engines.node})`).toBeGreaterThanOrEqual(floor);
    }
    const runs = (stage: number): string => dockerfile.filter((i) => i.stage === stage && i.keyword === 'RUN').map((i) => i.args).join('\n');
    const buildStage = froms.findIndex((from) => /\bAS\s+build\b/i.test(from.args));
    expect(buildStage).toBeGreaterThanOrEqual(0);
    expect(runs(buildStage)).toMatch(/\bnpm ci\b/);
    expect(runs(buildStage)).toMatch(/\bnpm run build\b/);
    expect(runs(finalStage)).toMatch(/\bnpm ci --omit=dev\b/);
    expect(runs(finalStage)).not.toMatch(/\bnpm run build\b/);
  });

  it('copies dist/ and blocklists/ from the build stage, and only context files that .dockerignore lets through', () => {
    const stageNames = dockerfile.filter((i) => i.keyword === 'FROM').map((from) => /\bAS\s+(\S+)/i.exec(from.args)?.[1]);
    const copies = dockerfile.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map((i) => ({ ...i, ...copyArgs(i.args) }));
    const fromBuild = copies.filter((c) => c.stage === finalStage && c.flags['from'] !== undefined);
    for (const copy of fromBuild) expect(stageNames).toContain(copy.flags['from']);
    expect(fromBuild.flatMap((c) => c.sources)).toEqual(expect.arrayContaining(['/app/dist', '/app/blocklists']));
    for (const copy of copies.filter((c) => c.flags['from'] === undefined)) {
      for (const source of copy.sources) {
        expect(existsSync(join(REPO_ROOT, source)), `COPY ${source}: not in the build context`).toBe(true);
        if (source !== '.') expect(dockerIgnored(ignorePatterns, source), `COPY ${source}: excluded by .dockerignore`).toBe(false);
      }
    }
    // What `npm run build` needs reaches the context; host builds and dependencies do not.
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src/cli.ts']) {
      expect(dockerIgnored(ignorePatterns, needed), needed).toBe(false);
    }
    for (const excluded of ['node_modules', 'dist', 'state', '.git', 'coverage', 'debug.log', 'node_modules/prom-client/index.js']) {
      expect(dockerIgnored(ignorePatterns, excluded), excluded).toBe(true);
    }
  });

  it('runs as a non-root user and starts `node <launch flags> dist/cli.js serve` with the launch environment, as npm start does (src/runtime-flags.ts)', () => {
    const users = runtime.filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0];
    expect(['root', '0', '']).not.toContain(user);
    const cmd = runtime.filter((i) => i.keyword === 'CMD').at(-1);
    expect(JSON.parse(cmd?.args ?? 'null')).toEqual(['node', ...NODE_LAUNCH_FLAGS, 'dist/cli.js', 'serve']);
    expect(envOf(runtime)).toMatchObject(LAUNCH_ENV);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    const env = Object.entries(LAUNCH_ENV).map(([key, value]) => `${key}=${value}`);
    expect(pkg.scripts['start']).toBe([...env, 'exec', 'node', ...NODE_LAUNCH_FLAGS, 'dist/cli.js', 'serve'].join(' '));
  });

  it('exposes DNS on 5300 udp+tcp and HTTP on 8053, and declares the lists directory a volume', () => {
    const exposed = runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining(['5300/udp', '5300/tcp', '8053/tcp']));
    const volumes = runtime.filter((i) => i.keyword === 'VOLUME').flatMap((i) => (i.args.startsWith('[') ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/)));
    expect(volumes).toContain('/app/blocklists');
  });

  it('has an environment fraudwall accepts: listens on 0.0.0.0:5300 and 0.0.0.0:8053', () => {
    const env = envOf(runtime);
    const config = loadConfig({ flags: {}, env });
    expect(config.listen.map((a) => `${a.host}:${a.port}`)).toEqual(['0.0.0.0:5300']);
    expect(`${config.http.host}:${config.http.port}`).toBe('0.0.0.0:8053');
    expect(config.lists).toBe('/app/blocklists');
  });

  describe('HEALTHCHECK', () => {
    const healthcheck = runtime.filter((i) => i.keyword === 'HEALTHCHECK').at(-1);
    const argv = (): string[] => {
      const cmd = /\bCMD\s+(\[.*\])\s*$/.exec(healthcheck?.args ?? '');
      expect(cmd, 'HEALTHCHECK must use the exec form CMD ["node", ...]').not.toBeNull();
      const parsed = JSON.parse(cmd![1]!) as string[];
      expect(parsed[0]).toBe('node');
      return [process.execPath, ...parsed.slice(1)];
    };
    let live: LiveFraudwall | undefined;
    beforeAll(async () => {
      live = await startLiveFraudwall();
    });
    afterAll(async () => {
      await live?.close();
    });

    it('asks /healthz with node (no curl or wget in the slim image)', () => {
      expect(healthcheck?.args).toContain('/healthz');
      expect(healthcheck?.args).not.toMatch(/\b(curl|wget)\b/);
    });

    it('exits 0 against a running fraudwall on the port FRAUDWALL_HTTP names', async () => {
      const env = { ...process.env, FRAUDWALL_HTTP: `0.0.0.0:${live!.fraudwall.httpPort}` };
      const [bin, ...args] = argv();
      const { code, output } = await runProgram(bin!, args, { env, timeoutMs: 10_000 });
      expect({ code, output }).toEqual({ code: 0, output: '' });
    });

    it('exits non-zero when nothing answers', async () => {
      const env = { ...process.env, FRAUDWALL_HTTP: `0.0.0.0:${await freePort()}` };
      const [bin, ...args] = argv();
      const result = await runProgram(bin!, args, { env, timeoutMs: 10_000 });
      expect(result.code).not.toBe(0);
    });
  });
});

describe('.dockerignore', () => {
  it('lists node_modules, dist, state, .git, coverage and *.log', () => {
    expect(ignorePatterns).toEqual(expect.arrayContaining(['node_modules', 'dist', 'state', '.git', 'coverage', '*.log']));
  });

  it('keeps docker/.env (the admin token for compose) out of the build context', () => {
    expect(dockerIgnored(ignorePatterns, 'docker/.env')).toBe(true);
    expect(dockerIgnored(ignorePatterns, '.env')).toBe(true);
  });
});

describe('state: pushes can be saved in the container and outlive it (issue #17)', () => {
  const stateDir = (): string => loadConfig({ flags: {}, env: envOf(runtime) }).state;

  it('the image sets an absolute state directory outside /app, declares it a VOLUME and gives it to the runtime user', () => {
    expect(stateDir()).toBe('/var/lib/fraudwall');
    const volumes = runtime.filter((i) => i.keyword === 'VOLUME').flatMap((i) => (i.args.startsWith('[') ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/)));
    expect(volumes).toContain(stateDir());
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1)!.args.split(':')[0]!;
    const runs = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const chown = runs.find((run) => run.includes(`chown ${user}`) && run.includes(stateDir()));
    expect(chown, `a RUN in the runtime stage must chown ${stateDir()} to ${user}`).toBeDefined();
    // Created before USER switches away from root (chown needs root), and before the VOLUME line
    // (a named volume copies the image directory's ownership when it is first created).
    const index = (predicate: (i: (typeof runtime)[number]) => boolean): number => runtime.findIndex(predicate);
    expect(index((i) => i.args === chown)).toBeLessThan(index((i) => i.keyword === 'USER'));
    expect(index((i) => i.args === chown)).toBeLessThan(index((i) => i.keyword === 'VOLUME' && i.args.includes(stateDir())));
  });

  it('compose mounts a named volume there and passes the admin token as a secret file, not a variable', () => {
    const fraudwall = compose.services['fraudwall']!;
    const mount = volumesOf(fraudwall).find((v) => v.target === stateDir());
    expect(mount?.bind).toBe(false);
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.source);
    const env = environmentOf(fraudwall);
    expect(env['FRAUDWALL_ADMIN_TOKEN']).toBeUndefined();
    const granted = (fraudwall.secrets ?? []).map((secret) => (typeof secret === 'string' ? { source: secret } : secret));
    expect(granted).toHaveLength(1);
    const secret = granted[0]!;
    expect(env['FRAUDWALL_ADMIN_TOKEN_FILE']).toBe(`/run/secrets/${secret.target ?? secret.source}`);
    expect(compose.secrets?.[secret.source]).toEqual({ environment: 'FRAUDWALL_ADMIN_TOKEN' });
    const config = loadConfig({ flags: {}, env: { ...envOf(runtime), ...env } });
    expect(config.adminTokenFile).toBe(`/run/secrets/${secret.source}`);
  });

  it('publishes Prometheus (no sign-in) on loopback only', () => {
    expect(compose.services['prometheus']!.ports).toEqual(['127.0.0.1:9090:9090']);
  });
});

describe('compose.yaml', () => {
  const services = compose.services;

  it('has fraudwall, prometheus and grafana', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['fraudwall', 'prometheus', 'grafana']));
    expect(services['prometheus']?.image).toMatch(/^prom\/prometheus(:|$)/);
    expect(services['grafana']?.image).toMatch(/^grafana\/grafana(:|$)/);
  });

  it('builds fraudwall from the repo root with docker/Dockerfile', () => {
    const build = services['fraudwall']?.build;
    const context = resolve(DOCKER_DIR, typeof build === 'string' ? build : (build?.context ?? '.'));
    const dockerfilePath = resolve(context, typeof build === 'string' ? 'Dockerfile' : (build?.dockerfile ?? 'Dockerfile'));
    expect(resolve(context)).toBe(resolve(REPO_ROOT));
    expect(dockerfilePath).toBe(resolve(DOCKER_DIR, 'Dockerfile'));
    expect(statSync(dockerfilePath).isFile()).toBe(true);
  });

  it('bind-mounts only files and directories that exist; named volumes are declared', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of volumesOf(service)) {
        if (volume.bind) {
          const source = resolve(DOCKER_DIR, volume.source);
          expect(existsSync(source), `${name}: ${volume.source} -> ${volume.target} does not exist`).toBe(true);
        } else if (volume.source !== volume.target) {
          expect(Object.keys(compose.volumes ?? {}), `${name}: named volume ${volume.source}`).toContain(volume.source);
        }
      }
    }
  });

  it('maps host 53 udp+tcp to 5300 and publishes 8053, 9090 and 3000', () => {
    const fraudwall = portsOf(services['fraudwall']!);
    expect(fraudwall).toEqual(
      expect.arrayContaining([
        { published: '53', target: '5300/udp' },
        { published: '53', target: '5300/tcp' },
        { published: '8053', target: '8053/tcp' },
      ]),
    );
    expect(portsOf(services['prometheus']!)).toContainEqual({ published: '9090', target: '9090/tcp' });
    expect(portsOf(services['grafana']!)).toContainEqual({ published: '3000', target: '3000/tcp' });
  });

  it('gives fraudwall a lists volume at the image VOLUME and an environment fraudwall accepts', () => {
    const fraudwall = services['fraudwall']!;
    expect(volumesOf(fraudwall).map((v) => v.target)).toContain('/app/blocklists');
    const config = loadConfig({ flags: {}, env: { ...envOf(runtime), ...environmentOf(fraudwall) } });
    expect(config.upstream.map((a) => `${a.host}:${a.port}`)).toEqual(['9.9.9.9:53', '149.112.112.112:53']);
    expect(config.listen.map((a) => `${a.host}:${a.port}`)).toEqual(['0.0.0.0:5300']);
  });

  it('mounts prometheus.yml where the prom/prometheus image reads it', () => {
    const mount = volumesOf(services['prometheus']!).find((v) => v.target === '/etc/prometheus/prometheus.yml');
    expect(mount?.bind).toBe(true);
    expect(resolve(DOCKER_DIR, mount!.source)).toBe(resolve(DOCKER_DIR, 'prometheus.yml'));
  });

  it('mounts every rule file prometheus.yml names next to it, so the alerting rules load in the container', () => {
    const ruleFiles = (parse(readFileSync(join(DOCKER_DIR, 'prometheus.yml'), 'utf8')) as { rule_files?: string[] }).rule_files ?? [];
    expect(ruleFiles).toContain('prometheus-alerts.yml');
    for (const file of ruleFiles) {
      const mount = volumesOf(services['prometheus']!).find((v) => v.target === `/etc/prometheus/${file}`);
      expect(mount?.bind, file).toBe(true);
      expect(resolve(DOCKER_DIR, mount!.source)).toBe(resolve(DOCKER_DIR, file));
    }
  });

  it('mounts the Grafana provisioning and the dashboards where the provider looks for them', () => {
    const grafana = volumesOf(services['grafana']!);
    const provisioning = grafana.find((v) => v.target === '/etc/grafana/provisioning');
    expect(provisioning?.bind).toBe(true);
    const provisioningDir = resolve(DOCKER_DIR, provisioning!.source);
    const provider = parse(readFileSync(join(provisioningDir, 'dashboards', 'fraudwall.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(provider.apiVersion).toBe(1);
    expect(provider.providers).toHaveLength(1);
    expect(provider.providers[0]!.type).toBe('file');
    const dashboardsMount = grafana.find((v) => v.target === provider.providers[0]!.options.path);
    expect(dashboardsMount, `nothing mounted at ${provider.providers[0]!.options.path}`).toBeDefined();
    expect(resolve(DOCKER_DIR, dashboardsMount!.source, 'fraudwall.json')).toBe(DASHBOARD_PATH);
    const home = environmentOf(services['grafana']!)['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'];
    if (home !== undefined) expect(home).toBe(posix.join(provider.providers[0]!.options.path, 'fraudwall.json'));
  });
});

describe('Grafana dashboard and data source', () => {
  const datasources = parse(readFileSync(join(DOCKER_DIR, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as {
    apiVersion: number;
    datasources: { uid: string; type: string; url: string }[];
  };

  it('provisions Prometheus with uid "prometheus" at the compose service', () => {
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    expect(Object.keys(compose.services)).toContain(new URL(datasources.datasources[0]!.url).hostname);
  });

  it('is valid JSON of a Grafana dashboard with unique panel ids inside the 24-column grid', () => {
    const dashboard = loadDashboard();
    expect(dashboard.uid).toBe('fraudwall');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const panels = allPanels(dashboard);
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const known = new Set(['row', 'timeseries', 'stat', 'gauge', 'bargauge', 'table', 'text', 'heatmap', 'piechart', 'state-timeline', 'barchart']);
    for (const panel of panels) {
      expect(known, `panel "${panel.title}" has type ${panel.type}`).toContain(panel.type);
      const { x, w } = panel.gridPos ?? { x: -1, w: 0 };
      expect(x >= 0 && w > 0 && x + w <= 24, `panel "${panel.title}" gridPos`).toBe(true);
    }
    // No two panels overlap.
    const boxes = panels.map((p) => ({ title: p.title, ...p.gridPos! }));
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
      }
    }
  });

  it('uses the provisioned data source uid on every panel, target and variable', () => {
    const uid = datasources.datasources[0]!.uid;
    const dashboard = loadDashboard();
    for (const panel of allPanels(dashboard).filter((p) => p.type !== 'row')) {
      expect(datasourceUid(panel.datasource), `panel "${panel.title}"`).toBe(uid);
      expect(panel.targets?.length ?? 0, `panel "${panel.title}" has no targets`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(datasourceUid(target.datasource) ?? uid, `panel "${panel.title}"`).toBe(uid);
    }
    for (const variable of dashboard.templating?.list ?? []) {
      if (variable.type === 'query') expect(datasourceUid(variable.datasource), `variable ${variable.name}`).toBe(uid);
    }
  });
});

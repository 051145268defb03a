/**
 * docker/k8s/ against the Kubernetes API's OpenAPI schemas (kubernetes-models: validators generated
 * from the API server's schemas; the Prometheus Operator's CRD schemas for the ServiceMonitor), then
 * the links between the manifests that no schema sees: selectors, named ports, Secret keys, the
 * config file as fraudwall itself loads it, the drain timing.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docker/k8s');

interface Model {
  validate(): void;
}
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: unknown };

const MODELS: Record<string, new (data: never) => Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

const files = readdirSync(DIR).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
const manifests: (Manifest & { file: string })[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8')).map((doc) => ({ ...(doc.toJS() as Manifest), file })),
);
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in docker/k8s`);
  return found;
};

// Narrow views of the parts the cross-checks read (the schemas above vouch for the shapes).
interface Container {
  name: string;
  ports?: { name: string; containerPort: number; protocol: string }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: Container[];
    terminationGracePeriodSeconds?: number;
    securityContext?: { runAsNonRoot?: boolean };
    volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string; items?: { key: string }[] } }[];
    affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: unknown[]; requiredDuringSchedulingIgnoredDuringExecution?: unknown[] } };
  };
}
const template = (m: Manifest): PodTemplate => (m['spec'] as { template: PodTemplate }).template;

describe('docker/k8s manifests', () => {
  it('every manifest is valid against the Kubernetes API schemas', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    const problems: string[] = [];
    for (const manifest of manifests) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      if (Model === undefined) {
        problems.push(`${manifest.file}: no schema known for ${manifest.apiVersion} ${manifest.kind}`);
        continue;
      }
      try {
        new Model(manifest as never).validate();
      } catch (error) {
        problems.push(`${manifest.file} ${manifest.kind}/${manifest.metadata.name}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the schema check itself refuses a broken manifest', () => {
    const deployment = structuredClone(find('Deployment', 'fraudwall')) as Manifest & { spec: { replicas: unknown } };
    deployment.spec.replicas = 'three';
    expect(() => new Deployment(deployment as never).validate()).toThrow(/replicas/);
    const service = structuredClone(find('Service', 'fraudwall-dns')) as Manifest & { spec: { ports: { protocol: string }[] } };
    service.spec.ports[0]!.protocol = 'QUIC';
    expect(() => new Service(service as never).validate()).toThrow();
  });

  it('kustomization.yaml applies every manifest but the ServiceMonitor and PrometheusRule (which need the operator CRDs)', () => {
    const kustomization = parse(readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    const operatorOnly = ['servicemonitor.yaml', 'prometheusrule.yaml'];
    expect([...kustomization.resources].sort()).toEqual(files.filter((file) => !operatorOnly.includes(file)).sort());
  });

  it('Services, the PDB, the NetworkPolicy and the ServiceMonitor select the pods and ports that exist', () => {
    const fraudwall = template(find('Deployment', 'fraudwall'));
    const redis = template(find('StatefulSet', 'fraudwall-redis'));
    const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
    const portsOf = (t: PodTemplate): { name: string; containerPort: number; protocol: string }[] => t.spec.containers.flatMap((c) => c.ports ?? []);

    for (const name of ['fraudwall-dns', 'fraudwall-http', 'fraudwall-redis']) {
      const service = find('Service', name) as Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string; protocol: string }[] } };
      const pods = name === 'fraudwall-redis' ? redis : fraudwall;
      expect(matches(service.spec.selector, pods.metadata.labels), `${name} selects its pods`).toBe(true);
      for (const port of service.spec.ports) {
        expect(portsOf(pods).some((p) => p.name === port.targetPort && p.protocol === port.protocol), `${name} port ${port.targetPort}/${port.protocol}`).toBe(true);
      }
    }
    const dns = find('Service', 'fraudwall-dns') as Manifest & { spec: { ports: { port: number; protocol: string }[] } };
    expect(dns.spec.ports.map((p) => `${p.port}/${p.protocol}`).sort()).toEqual(['53/TCP', '53/UDP']);

    const pdb = find('PodDisruptionBudget', 'fraudwall') as Manifest & { spec: { selector: { matchLabels: Record<string, string> }; minAvailable: number } };
    expect(matches(pdb.spec.selector.matchLabels, fraudwall.metadata.labels)).toBe(true);
    const replicas = (find('Deployment', 'fraudwall') as Manifest & { spec: { replicas: number } }).spec.replicas;
    expect(replicas).toBe(3);
    expect(pdb.spec.minAvailable).toBeLessThan(replicas);

    const policy = find('NetworkPolicy', 'fraudwall-redis') as Manifest & {
      spec: { podSelector: { matchLabels: Record<string, string> }; ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[] }[] };
    };
    expect(matches(policy.spec.podSelector.matchLabels, redis.metadata.labels)).toBe(true);
    const allowed = policy.spec.ingress.flatMap((rule) => rule.from.map((from) => from.podSelector.matchLabels));
    expect(allowed.every((selector) => matches(selector, fraudwall.metadata.labels))).toBe(true);
    expect(allowed.some((selector) => matches(selector, redis.metadata.labels))).toBe(false);

    const monitor = find('ServiceMonitor', 'fraudwall') as Manifest & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } };
    const http = find('Service', 'fraudwall-http');
    expect(matches(monitor.spec.selector.matchLabels, http.metadata.labels ?? {})).toBe(true);
    expect(matches(monitor.spec.selector.matchLabels, find('Service', 'fraudwall-dns').metadata.labels ?? {})).toBe(false);
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
  });

  it('every Secret key and ConfigMap the pods use exists', () => {
    const secret = find('Secret', 'fraudwall-secrets') as Manifest & { stringData: Record<string, string> };
    const keys = new Set(Object.keys(secret.stringData));
    for (const t of [template(find('Deployment', 'fraudwall')), template(find('StatefulSet', 'fraudwall-redis'))]) {
      for (const env of t.spec.containers.flatMap((c) => c.env ?? [])) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref) expect(`${ref.name}/${ref.key}`).toBe(`fraudwall-secrets/${ref.key}`);
        if (ref) expect(keys.has(ref.key), `secret key ${ref.key}`).toBe(true);
      }
      for (const volume of t.spec.volumes ?? []) {
        if (volume.secret) for (const item of volume.secret.items ?? []) expect(keys.has(item.key), `secret item ${item.key}`).toBe(true);
        if (volume.configMap) expect(find('ConfigMap', volume.configMap.name)).toBeDefined();
      }
    }
    // The trial Redis's password and the URL fraudwall uses name the same password.
    expect(new URL(secret.stringData['redis-url']!).password).toBe(secret.stringData['redis-password']);
  });

  it('the ConfigMap is a config fraudwall loads, matching the container ports and mounts', () => {
    const config = find('ConfigMap', 'fraudwall-config') as Manifest & { data: Record<string, string> };
    const deployment = template(find('Deployment', 'fraudwall'));
    const container = deployment.spec.containers[0]!;
    const configMount = container.volumeMounts!.find((m) => m.name === 'config')!.mountPath;
    const configEnv = container.env!.find((e) => e.name === 'FRAUDWALL_CONFIG')!;
    expect(configEnv.value).toBe(`${configMount}/config.yaml`);
    const dir = mkdtempSync(path.join(tmpdir(), 'fraudwall-k8s-'));
    try {
      writeFileSync(path.join(dir, 'config.yaml'), config.data['config.yaml']!);
      const loaded = loadConfig({ flags: { config: path.join(dir, 'config.yaml') }, env: {} });
      const ports = Object.fromEntries(container.ports!.map((p) => [`${p.name}`, p.containerPort]));
      expect(loaded.listen.map((a) => a.port)).toEqual([ports['dns-udp']]);
      expect(ports['dns-tcp']).toBe(ports['dns-udp']);
      expect(loaded.http.port).toBe(ports['http']);
      const mountOf = (name: string): string => container.volumeMounts!.find((m) => m.name === name)!.mountPath;
      expect(loaded.state).toBe(mountOf('state'));
      expect(loaded.redisFile).toBe(`${mountOf('secret')}/redis-url`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pods run locked down, with probes on /readyz and /healthz and a preStop wait inside the grace period', () => {
    const deployment = template(find('Deployment', 'fraudwall'));
    for (const t of [deployment, template(find('StatefulSet', 'fraudwall-redis'))]) {
      expect(t.spec.securityContext?.runAsNonRoot).toBe(true);
      for (const c of t.spec.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      }
    }
    const container = deployment.spec.containers[0]!;
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    // fraudwall's SIGTERM drain ends within 5 s (src/cli.ts); preStop runs before it.
    const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(preStop).toBeGreaterThan(0);
    expect(preStop + 5).toBeLessThan(deployment.spec.terminationGracePeriodSeconds ?? 30);
    expect(deployment.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length).toBeGreaterThan(0);
    expect(deployment.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
  });
});

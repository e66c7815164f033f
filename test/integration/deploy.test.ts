import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.ts';
import { type Command, environmentVariable, type OptionSpec, options } from '../../src/config/options.ts';
import { parseDuration, parseHostPort } from '../../src/config/values.ts';
import { all, readContainerfile, stage } from '../support/containerfile.ts';
import { serviceForFile } from '../support/service.ts';

// The Kubernetes manifests, checked against Kubernetes' schemas (kubernetes-models) and against the
// service itself: the variables they set are options it reads, the ports are its ports, the probe paths
// answer on its health server.

const root = fileURLToPath(new URL('../../', import.meta.url));
const deployDirectory = join(root, 'deploy');
// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML until their schema validates them
type Manifest = any;

function documents(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(deployDirectory, file), 'utf8')).map((document) => {
    expect(document.errors, file).toEqual([]);
    return document.toJS();
  });
}

const kustomization = documents('kustomization.yaml')[0];
const manifests: Manifest[] = (kustomization.resources as string[]).flatMap(documents);
const [secret] = documents('secret.example.yaml');
const only = (kind: string): Manifest[] => manifests.filter((manifest) => manifest.kind === kind);
const [deployment] = only('Deployment');
const pod = deployment.spec.template;
const initContainers: IContainer[] = pod.spec.initContainers;
const containers: IContainer[] = pod.spec.containers;
const serve: IContainer = required(containers[0], 'the serve container');
const podLabels: Record<string, string> = pod.metadata.labels;

const schemas: Record<string, new (data: Manifest) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'v1 Secret': Secret,
};

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`deploy/ has no ${what}`);
  return value;
}

function selects(selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([name, value]) => podLabels[name] === value);
}

function literalEnvironment(container: IContainer): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).flatMap(({ name, value }) => (value === undefined ? [] : [[name, value]])),
  );
}

// What the Secret would give each variable, read from the example.
function secretEnvironment(container: IContainer): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).flatMap(({ name, valueFrom }) => {
      const key = valueFrom?.secretKeyRef?.key;
      return key ? [[name, secret.stringData[key] as string]] : [];
    }),
  );
}

describe('deploy/', () => {
  it('lists every manifest but the Secret example in its kustomization', () => {
    const files = readdirSync(deployDirectory).filter((file) => file.endsWith('.yaml'));
    expect(new Set(kustomization.resources)).toEqual(
      new Set(files.filter((file) => !['kustomization.yaml', 'secret.example.yaml'].includes(file))),
    );
    expect(kustomization).toMatchObject({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
    });
  });

  it('holds a Deployment, three Services, a PodDisruptionBudget and a HorizontalPodAutoscaler, valid by schema', () => {
    expect(manifests.map(({ apiVersion, kind }) => `${apiVersion} ${kind}`).sort()).toEqual([
      'apps/v1 Deployment',
      'autoscaling/v2 HorizontalPodAutoscaler',
      'policy/v1 PodDisruptionBudget',
      'v1 Service',
      'v1 Service',
      'v1 Service',
    ]);
    for (const manifest of [...manifests, secret]) {
      const Schema = schemas[`${manifest.apiVersion} ${manifest.kind}`];
      if (!Schema) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
      expect(
        () => new Schema(manifest).validate(),
        `${manifest.kind} ${manifest.metadata.name}`,
      ).not.toThrow();
    }
  });

  it('migrates in an init container of the same image before serving', () => {
    expect(initContainers.map(({ name, image, args }) => ({ name, image, args }))).toEqual([
      { name: 'migrate', image: serve.image, args: ['migrate'] },
    ]);
    expect(serve.args).toEqual(['serve']);
  });

  it('sets only TREX_ variables the command reads, and they load into a production configuration', () => {
    const byCommand: [Command, IContainer[]][] = [
      ['migrate', initContainers],
      ['serve', containers],
    ];
    for (const [command, list] of byCommand) {
      const known = (Object.values(options) as OptionSpec[])
        .filter((spec) => spec.commands.includes(command))
        .map(({ flag }) => environmentVariable(flag));
      for (const container of list) {
        for (const { name } of container.env ?? [])
          expect(known, `${container.name}: ${name}`).toContain(name);
        const environ = {
          TREX_ENV: 'production',
          ...literalEnvironment(container),
          ...secretEnvironment(container),
        };
        expect(() => loadConfig(command, {}, environ)).not.toThrow();
      }
    }
  });

  it('takes the database URL and the JWKS settings from the Secret, whose example holds those keys', () => {
    const fromSecret = (serve.env ?? []).filter(({ valueFrom }) => valueFrom?.secretKeyRef);
    expect(fromSecret.map(({ name }) => name).sort()).toEqual([
      'TREX_DB_URL',
      'TREX_JWK_CERT_URL',
      'TREX_JWT_AUDIENCE',
      'TREX_JWT_ISSUER',
    ]);
    for (const container of [...initContainers, ...containers]) {
      for (const { valueFrom } of container.env ?? []) {
        const reference = valueFrom?.secretKeyRef;
        if (!reference) continue;
        expect(reference.name).toBe(secret.metadata.name);
        expect(Object.keys(secret.stringData)).toContain(reference.key);
      }
    }
  });

  it("names the service's default ports, bound on every interface", () => {
    const config = loadConfig(
      'serve',
      {},
      { TREX_ENV: 'production', ...literalEnvironment(serve), ...secretEnvironment(serve) },
    );
    const defaults = {
      api: parseHostPort('', String(options.apiServerBindaddress.default)).port,
      metrics: parseHostPort('', String(options.metricsServerBindaddress.default)).port,
      health: parseHostPort('', String(options.healthCheckServerBindaddress.default)).port,
    };
    expect(
      Object.fromEntries((serve.ports ?? []).map(({ name, containerPort }) => [name, containerPort])),
    ).toEqual(defaults);
    expect([config.api.address, config.metrics.address, config.health.address]).toEqual(
      [defaults.api, defaults.metrics, defaults.health].map((port) => ({ host: '0.0.0.0', port })),
    );
  });

  it('gives each port a Service selecting the pods by a port name the container has', () => {
    const services = only('Service');
    expect(
      services.flatMap((service) =>
        service.spec.ports.map(({ targetPort }: { targetPort: string }) => targetPort),
      ),
    ).toEqual((serve.ports ?? []).map(({ name }) => name));
    for (const service of services) expect(selects(service.spec.selector)).toBe(true);
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
  });

  it('requests and limits resources for every container', () => {
    for (const container of [...initContainers, ...containers]) {
      expect(container.resources?.requests, container.name).toMatchObject({
        cpu: expect.anything(),
        memory: expect.anything(),
      });
      expect(container.resources?.limits?.memory, container.name).toBeDefined();
    }
  });

  it("runs as the image's non-root user with a read-only root and a writable /tmp", () => {
    const [user] = all(stage(readContainerfile(join(root, 'Containerfile')), 'runtime'), 'USER');
    expect(pod.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: Number(user?.split(':')[0]),
    });
    const volumes = new Map(pod.spec.volumes.map((volume: Manifest) => [volume.name, volume]));
    for (const container of [...initContainers, ...containers]) {
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      const tmp = container.volumeMounts?.find(({ mountPath }) => mountPath === '/tmp');
      expect(volumes.get(tmp?.name)).toMatchObject({ emptyDir: expect.anything() });
    }
  });

  it('gives a replica longer to stop than its shutdown timeout', () => {
    const timeout =
      literalEnvironment(serve).TREX_SHUTDOWN_TIMEOUT ?? String(options.shutdownTimeout.default);
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      parseDuration('shutdown-timeout', timeout),
    );
  });

  it('keeps a replica through disruptions and scales the Deployment from two replicas', () => {
    const [budget] = only('PodDisruptionBudget');
    const [autoscaler] = only('HorizontalPodAutoscaler');
    expect(selects(budget.spec.selector.matchLabels)).toBe(true);
    expect(autoscaler.spec.scaleTargetRef).toEqual({
      apiVersion: deployment.apiVersion,
      kind: deployment.kind,
      name: deployment.metadata.name,
    });
    // A drain can always evict one pod: the budget keeps fewer than the autoscaler's floor.
    expect(budget.spec.minAvailable).toBeLessThan(autoscaler.spec.minReplicas);
    expect(autoscaler.spec.minReplicas).toBeLessThanOrEqual(autoscaler.spec.maxReplicas);
  });
});

describe("deploy/ probes against the service's health server", () => {
  const service = serviceForFile();

  it('probes paths that answer 200 on the port named health', async () => {
    const probes = [serve.livenessProbe, serve.readinessProbe, serve.startupProbe];
    expect(probes.map((probe) => probe?.httpGet?.path)).toEqual(['/livez', '/readyz', '/livez']);
    for (const probe of probes) {
      expect(probe?.httpGet?.port).toBe('health');
      const response = await fetch(`${service.healthUrl}${probe?.httpGet?.path}`);
      expect(response.status, probe?.httpGet?.path).toBe(200);
    }
  });

  it('readiness fails in maintenance mode while liveness holds, so Kubernetes stops routing, not restarts', async () => {
    await fetch(`${service.healthUrl}/healthcheck/down`, { method: 'POST' });
    try {
      expect((await fetch(`${service.healthUrl}${serve.readinessProbe?.httpGet?.path}`)).status).toBe(503);
      expect((await fetch(`${service.healthUrl}${serve.livenessProbe?.httpGet?.path}`)).status).toBe(200);
    } finally {
      await fetch(`${service.healthUrl}/healthcheck/up`, { method: 'POST' });
    }
  });
});

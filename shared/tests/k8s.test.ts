// Milestone 6 · the Kubernetes manifests in deploy/k8s, with no cluster: every object is valid
// against the Kubernetes (kubernetes-models) or KEDA (@kubernetes-models/keda) schema, and the
// objects fit together and fit the app: same image, probes on ports that exist, autoscalers on
// the right Deployments and the app's queue, a termination budget that adds up. Each invariant
// is a function that lists what is wrong, so the tests at the end can break a manifest on
// purpose and see the invariant refuse it.
//
// The schemas, like the API server's OpenAPI, do not refuse unknown fields (kubectl's strict
// field validation does): a misspelt field is caught by the invariant that needs it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ScaledObject, type IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication, type ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job, type IJob } from 'kubernetes-models/batch/v1/Job';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress, type IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { configToEnv, loadConfig, type Config } from '#shared/config.ts';
import { CONSUMERS, queueNames } from '#shared/queues.ts';
import { repoRoot } from '#shared/workbook/trees.ts';
import { ONE_SHOT_ENTRY_POINTS } from '../../scripts/build.ts';
import { coerceError } from '../coerce-error.ts';

const dir = join(repoRoot, 'deploy/k8s');

/** Every kind the manifests may use, with the model whose validate() checks it against its schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function loadManifests(folder = dir, prefix = ''): Doc[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(folder, file), 'utf8')).map((d) => {
        if (d.errors.length > 0) throw new Error(`${prefix}${file}: ${d.errors[0]!.message}`);
        return { ...(d.toJS() as object), file: `${prefix}${file}` } as Doc;
      }),
    );
}

/** Throws the schema's complaint, if any. */
function validate(doc: Doc): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`${doc.file}: no schema for ${doc.apiVersion} ${doc.kind}; add its model to MODELS in shared/tests/k8s.test.ts`);
  const { file: _, ...object } = doc;
  new Model(object as never).validate();
}

const id = (d: Doc) => `${d.kind} ${d.metadata?.name} (${d.file})`;
const ofKind = <T,>(docs: Doc[], kind: string) => docs.filter((d) => d.kind === kind) as unknown as (T & Doc)[];
const deployments = (docs: Doc[]) => ofKind<IDeployment>(docs, 'Deployment');
const containersOf = (d: IDeployment) => [...(d.spec?.template.spec?.initContainers ?? []), ...(d.spec?.template.spec?.containers ?? [])];
const podLabels = (d: IDeployment) => d.spec?.template.metadata?.labels ?? {};
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The commands the image documents (CMD and its entrypoints label), e.g. dist/bid-worker.js. */
function imageEntryPoints(): string[] {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const label = /org\.auction-workbook\.entrypoints="([^"]*)"/.exec(dockerfile)?.[1] ?? '';
  return label.split(/\s+/).filter(Boolean);
}

/** The environment a container gets: its env values and the ConfigMaps of its envFrom (Secret values are unknown here). */
function environmentOf(docs: Doc[], c: IContainer): Record<string, string> {
  const configMaps = ofKind<IConfigMap>(docs, 'ConfigMap');
  const fromConfigMaps = (c.envFrom ?? []).map((f) => configMaps.find((m) => m.metadata.name === f.configMapRef?.name)?.data ?? {});
  const values = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  return Object.assign({}, ...fromConfigMaps, values);
}

/** The app's config from that environment; undefined when the app would refuse it (the variables invariant says why). */
function configFrom(env: Record<string, string>): Config | undefined {
  try {
    return loadConfig(env);
  } catch {
    return undefined;
  }
}

/** preStop sleep in seconds: `exec: sleep N` or the sleep action. */
function preStopSeconds(c: IContainer): number {
  const preStop = c.lifecycle?.preStop;
  if (!preStop) return 0;
  if (preStop.sleep) return preStop.sleep.seconds;
  const [bin, seconds] = preStop.exec?.command ?? [];
  return bin && /(^|\/)sleep$/.test(bin) ? Number(seconds) : 0;
}

/** How few pods a workload may run: the autoscaler's minimum, else spec.replicas (default 1). */
function minimumReplicas(docs: Doc[], d: IDeployment & Doc): number {
  const hpa = ofKind<IHorizontalPodAutoscaler>(docs, 'HorizontalPodAutoscaler').find((h) => h.spec?.scaleTargetRef.name === d.metadata.name);
  const scaled = ofKind<IScaledObject>(docs, 'ScaledObject').find((s) => s.spec.scaleTargetRef.name === d.metadata.name);
  return hpa?.spec?.minReplicas ?? scaled?.spec.minReplicaCount ?? d.spec?.replicas ?? 1;
}

const INVARIANTS: Record<string, (docs: Doc[]) => string[]> = {
  'every object has a name, and every namespaced one is in the namespace the manifests create': (docs) => {
    const namespaces = docs.filter((d) => d.kind === 'Namespace').map((d) => d.metadata.name);
    return docs.flatMap((d) => [
      ...(d.metadata?.name ? [] : [`${d.kind} in ${d.file} has no metadata.name`]),
      ...(d.kind === 'Namespace' || (d.metadata?.namespace && namespaces.includes(d.metadata.namespace)) ? [] : [`${id(d)} is in namespace ${d.metadata?.namespace ?? '(none)'}, not one of ${namespaces.join(', ')}`]),
    ]);
  },

  'both Deployments run the same image, each with an entry point the image documents': (docs) => {
    const entries = imageEntryPoints();
    const containers = deployments(docs).flatMap((d) => (d.spec?.template.spec?.containers ?? []).map((c) => ({ d, c })));
    const images = new Set(containers.map(({ c }) => c.image));
    return [
      ...(deployments(docs).length === 2 ? [] : [`expected 2 Deployments (bid-service, bid-worker), found ${deployments(docs).length}`]),
      ...(images.size === 1 ? [] : [`the Deployments run different images: ${[...images].join(', ')}`]),
      ...containers.flatMap(({ d, c }) =>
        // `command` would replace the image's ENTRYPOINT (node); args replace its CMD.
        c.command !== undefined || !entries.includes(c.args?.[0] ?? '')
          ? [`${id(d)}: container ${c.name} runs ${JSON.stringify({ command: c.command, args: c.args })}, not args: [<one of ${entries.join(', ')}>]`]
          : [],
      ),
    ];
  },

  "every probe's port is one of its container's ports": (docs) =>
    deployments(docs).flatMap((d) =>
      containersOf(d).flatMap((c) => {
        const ports = (c.ports ?? []).flatMap((p) => [p.name, p.containerPort]);
        const probes = { readinessProbe: c.readinessProbe, livenessProbe: c.livenessProbe, startupProbe: c.startupProbe };
        const missing = (['readinessProbe', 'livenessProbe'] as const).filter((p) => !probes[p]).map((p) => `${id(d)}: container ${c.name} has no ${p}`);
        return [
          ...missing,
          ...Object.entries(probes).flatMap(([name, probe]) => {
            const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
            return probe && !ports.includes(port) ? [`${id(d)}: ${name} of ${c.name} is on port ${port}, not one of ${ports.join(', ')}`] : [];
          }),
        ];
      }),
    ),

  'every container requests CPU and memory and has a memory limit': (docs) =>
    deployments(docs).flatMap((d) =>
      containersOf(d).flatMap((c) =>
        [
          ['requests', 'cpu'],
          ['requests', 'memory'],
          ['limits', 'memory'],
        ]
          .filter(([kind, resource]) => c.resources?.[kind as 'requests' | 'limits']?.[resource!] === undefined)
          .map(([kind, resource]) => `${id(d)}: container ${c.name} has no ${kind}.${resource}`),
      ),
    ),

  'the HorizontalPodAutoscaler scales the API Deployment on CPU, and leaves its replicas to nobody else': (docs) => {
    const hpas = ofKind<IHorizontalPodAutoscaler>(docs, 'HorizontalPodAutoscaler');
    if (hpas.length === 0) return ['no HorizontalPodAutoscaler'];
    return hpas.flatMap((h) => {
      const ref = h.spec?.scaleTargetRef;
      const target = deployments(docs).find((d) => ref?.kind === 'Deployment' && ref.apiVersion === 'apps/v1' && d.metadata.name === ref.name);
      if (!target) return [`${id(h)} targets ${ref?.apiVersion} ${ref?.kind} ${ref?.name}, which the manifests do not define`];
      return [
        ...(target.metadata.name === 'bid-service' ? [] : [`${id(h)} targets ${target.metadata.name}, not the API Deployment bid-service`]),
        ...(h.spec?.metrics?.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu') ? [] : [`${id(h)} does not scale on cpu`]),
        // With replicas set, every `kubectl apply` resets the count the autoscaler chose.
        ...(target.spec?.replicas === undefined ? [] : [`${id(target)} sets spec.replicas, which its HorizontalPodAutoscaler owns`]),
      ];
    });
  },

  "the ScaledObject scales the worker Deployment from 1 up, on the stats consumer's queue through the management API": (docs) => {
    const scaled = ofKind<IScaledObject>(docs, 'ScaledObject');
    if (scaled.length === 0) return ['no ScaledObject'];
    const worker = deployments(docs).find((d) => d.metadata.name === 'bid-worker');
    const workerEnv = worker ? environmentOf(docs, worker.spec!.template.spec!.containers[0]!) : {};
    const workerConfig = configFrom(workerEnv);
    if (!workerConfig) return [];
    const statsQueue = queueNames(workerConfig, 'user-stats' satisfies (typeof CONSUMERS)[number]).queue;
    const auths = ofKind<ITriggerAuthentication>(docs, 'TriggerAuthentication');
    return scaled.flatMap((s) => {
      const ref = s.spec.scaleTargetRef;
      const target = deployments(docs).find((d) => (ref.kind ?? 'Deployment') === 'Deployment' && d.metadata.name === ref.name);
      const rabbit = s.spec.triggers.filter((t) => t.type === 'rabbitmq');
      return [
        ...(target ? [] : [`${id(s)} targets ${ref.kind ?? 'Deployment'} ${ref.name}, which the manifests do not define`]),
        ...(target && target.metadata.name !== 'bid-worker' ? [`${id(s)} targets ${target.metadata.name}, not the worker Deployment bid-worker`] : []),
        ...(target?.spec?.replicas !== undefined ? [`${id(target!)} sets spec.replicas, which its ScaledObject owns`] : []),
        // At 0 no relay would publish, so the queue could never grow to wake a worker.
        ...((s.spec.minReplicaCount ?? 0) >= 1 ? [] : [`${id(s)} may scale to ${s.spec.minReplicaCount ?? 0}: the worker also runs the relay and the closer`]),
        ...(rabbit.length > 0 ? [] : [`${id(s)} has no rabbitmq trigger`]),
        ...rabbit.flatMap((t) => [
          ...(t.metadata?.protocol === 'http' ? [] : [`${id(s)}: protocol ${t.metadata?.protocol}, not http (over AMQP the length leaves out unacked messages)`]),
          ...(t.metadata?.mode === 'QueueLength' ? [] : [`${id(s)}: mode ${t.metadata?.mode}, not QueueLength`]),
          ...(t.metadata?.queueName === statsQueue ? [] : [`${id(s)}: queueName ${t.metadata?.queueName}, but the worker's stats consumer reads ${statsQueue}`]),
          ...(auths.some((a) => a.metadata?.name === t.authenticationRef?.name) ? [] : [`${id(s)}: authenticationRef ${t.authenticationRef?.name} is not a TriggerAuthentication of the manifests`]),
        ]),
      ];
    });
  },

  'preStop sleep + SHUTDOWN_GRACE_MS stays below terminationGracePeriodSeconds': (docs) =>
    deployments(docs).flatMap((d) => {
      const grace = d.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
      return (d.spec?.template.spec?.containers ?? []).flatMap((c) => {
        const config = configFrom(environmentOf(docs, c));
        if (!config) return [];
        const drain = config.http.shutdownGraceMs / 1000;
        const total = preStopSeconds(c) + drain;
        return total < grace ? [] : [`${id(d)}: preStop ${preStopSeconds(c)} s + SHUTDOWN_GRACE_MS ${drain} s = ${total} s, not below terminationGracePeriodSeconds ${grace} s`];
      });
    }),

  "each PodDisruptionBudget selects one Deployment's pods and still lets a node drain": (docs) =>
    ofKind<IPodDisruptionBudget>(docs, 'PodDisruptionBudget').flatMap((p) => {
      const selected = deployments(docs).filter((d) => matches(p.spec?.selector?.matchLabels, podLabels(d)));
      if (selected.length !== 1) return [`${id(p)} selects the pods of ${selected.length} Deployments (${selected.map((d) => d.metadata.name).join(', ')}), not one`];
      const min = minimumReplicas(docs, selected[0]!);
      const { minAvailable, maxUnavailable } = p.spec ?? {};
      const blocks = typeof minAvailable === 'number' ? minAvailable >= min : typeof maxUnavailable === 'number' ? maxUnavailable < 1 : false;
      return blocks ? [`${id(p)} forbids every eviction when ${selected[0]!.metadata.name} runs its minimum of ${min} pod(s)`] : [];
    }).concat(deployments(docs).filter((d) => !ofKind<IPodDisruptionBudget>(docs, 'PodDisruptionBudget').some((p) => matches(p.spec?.selector?.matchLabels, podLabels(d)))).map((d) => `${id(d)} has no PodDisruptionBudget`)),

  'the Service selects the API pods only and serves its api port as h2c; the Ingress reaches it over TLS': (docs) => {
    const api = deployments(docs).find((d) => d.metadata.name === 'bid-service');
    const services = ofKind<IService>(docs, 'Service');
    const ingresses = ofKind<IIngress>(docs, 'Ingress');
    return [
      ...services.flatMap((s) => {
        const selected = deployments(docs).filter((d) => matches(s.spec?.selector, podLabels(d)));
        const ports = api ? containersOf(api).flatMap((c) => c.ports ?? []) : [];
        return [
          ...(selected.length === 1 && selected[0] === api ? [] : [`${id(s)} selects the pods of ${selected.map((d) => d.metadata.name).join(', ') || 'no Deployment'}, not bid-service only`]),
          ...(s.spec?.ports ?? []).flatMap((p) => (ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort) ? [] : [`${id(s)}: port ${p.name} targets ${p.targetPort}, not a port of the API container`])),
          ...((s.spec?.ports ?? []).some((p) => p.targetPort === 'api' && p.appProtocol === 'kubernetes.io/h2c') ? [] : [`${id(s)} has no port to targetPort api with appProtocol kubernetes.io/h2c`]),
        ];
      }),
      ...(ingresses.length === 0 ? ['no Ingress'] : []),
      ...ingresses.flatMap((i) => {
        const backends = (i.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.backend.service);
        const hosts = (i.spec?.rules ?? []).map((r) => r.host);
        const tlsHosts = (i.spec?.tls ?? []).flatMap((t) => (t.secretName ? (t.hosts ?? []) : []));
        return [
          ...backends.flatMap((b) => {
            const service = services.find((s) => s.metadata.name === b?.name);
            const port = service?.spec?.ports?.find((p) => (b?.port?.name !== undefined ? p.name === b.port.name : p.port === b?.port?.number));
            return port ? [] : [`${id(i)}: backend ${b?.name}:${b?.port?.name ?? b?.port?.number} is not a port of a Service of the manifests`];
          }),
          ...hosts.filter((h) => !h || !tlsHosts.includes(h)).map((h) => `${id(i)}: host ${h ?? '(any)'} has no TLS section with a secretName`),
        ];
      }),
    ];
  },

  'every variable the containers set is one the app reads, from a ConfigMap or Secret the manifests define': (docs) => {
    const known = new Set(Object.keys(configToEnv(loadConfig({}))));
    const secrets = ofKind<ISecret>(docs, 'Secret');
    const configMaps = ofKind<IConfigMap>(docs, 'ConfigMap');
    const keysOf = (s: ISecret) => [...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})];
    return deployments(docs).flatMap((d) =>
      containersOf(d).flatMap((c) => {
        const names = [...(c.env ?? []).map((e) => e.name), ...(c.envFrom ?? []).flatMap((f) => Object.keys(configMaps.find((m) => m.metadata.name === f.configMapRef?.name)?.data ?? {}))];
        let configError: string[] = [];
        try {
          loadConfig(environmentOf(docs, c));
        } catch (err) {
          configError = [`${id(d)}: ${coerceError(err).message}`];
        }
        return [
          ...names.filter((n) => !known.has(n)).map((n) => `${id(d)}: ${c.name} sets ${n}, which the app does not read (shared/config.ts)`),
          ...(c.envFrom ?? []).filter((f) => f.configMapRef && !configMaps.some((m) => m.metadata.name === f.configMapRef!.name)).map((f) => `${id(d)}: ConfigMap ${f.configMapRef!.name} is not defined`),
          ...(c.env ?? []).flatMap((e) => {
            const ref = e.valueFrom?.secretKeyRef;
            if (!ref) return [];
            const secret = secrets.find((s) => s.metadata.name === ref.name);
            return secret && keysOf(secret).includes(ref.key) ? [] : [`${id(d)}: ${e.name} comes from Secret ${ref.name} key ${ref.key}, which secrets.example.yaml does not define`];
          }),
          ...configError,
        ];
      }),
    ).concat(
      ofKind<ITriggerAuthentication>(docs, 'TriggerAuthentication').flatMap((a) =>
        (a.spec.secretTargetRef ?? []).flatMap((r) => {
          const secret = secrets.find((s) => s.metadata.name === r.name);
          return secret && keysOf(secret).includes(r.key) ? [] : [`${id(a)}: parameter ${r.parameter} comes from Secret ${r.name} key ${r.key}, which secrets.example.yaml does not define`];
        }),
      ),
    );
  },
};

const manifests = loadManifests();
/** deploy/k8s/migrations: the rollout's migration Jobs, applied by rollout.sh, never by apply -k. */
const migrationJobs = loadManifests(join(dir, 'migrations'), 'migrations/');
const problems = (docs: Doc[]) => Object.values(INVARIANTS).flatMap((check) => check(docs));

describe('deploy/k8s against the schemas', () => {
  it.each(manifests.map((d) => [id(d), d] as const))('%s is valid', (_, doc) => {
    expect(() => validate(doc)).not.toThrow();
  });

  it('kustomization.yaml lists every manifest but the examples, and names the image the Deployments run', () => {
    const kustomization = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[]; images?: { name: string }[] };
    const files = [...new Set(manifests.map((d) => d.file))].filter((f) => !f.endsWith('.example.yaml'));
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    const imageNames = deployments(manifests).flatMap((d) => containersOf(d).map((c) => c.image!.split(':')[0]));
    for (const image of kustomization.images ?? []) expect(imageNames, `kustomization images: ${image.name}`).toContain(image.name);
  });
});

describe('deploy/k8s invariants', () => {
  it.each(Object.entries(INVARIANTS))('%s', (_, check) => {
    expect(check(manifests)).toEqual([]);
  });
});

/** The manifests with one change, made on a copy. */
function broken(change: (docs: Doc[]) => void): Doc[] {
  const copy = structuredClone(manifests);
  change(copy);
  return copy;
}
const find = (docs: Doc[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name) as unknown as Doc & Record<string, any>;
const container = (docs: Doc[], name: string): IContainer => find(docs, 'Deployment', name).spec.template.spec.containers[0];

describe('the checks refuse a broken manifest', () => {
  it('a containerPort written as a string fails the Deployment schema', () => {
    const docs = broken((d) => void (container(d, 'bid-service').ports![0]!.containerPort = '8080' as never));
    expect(() => validate(find(docs, 'Deployment', 'bid-service'))).toThrow(/containerPort must be integer/);
  });

  it('a number where KEDA wants a string fails the ScaledObject schema', () => {
    const docs = broken((d) => void (find(d, 'ScaledObject', 'bid-worker').spec.triggers[0].metadata.value = 100));
    expect(() => validate(find(docs, 'ScaledObject', 'bid-worker'))).toThrow(/metadata\/value must be string/);
  });

  it('a kind with no schema is refused, not skipped', () => {
    const docs = broken((d) => void d.push({ ...d[0]!, apiVersion: 'v1', kind: 'ServiceAcount' }));
    expect(() => validate(docs.at(-1)!)).toThrow(/no schema for v1 ServiceAcount/);
  });

  it.each<[string, (docs: Doc[]) => void, RegExp]>([
    ['the HPA points at a Deployment that does not exist', (d) => void (find(d, 'HorizontalPodAutoscaler', 'bid-service').spec.scaleTargetRef.name = 'bid-servic'), /targets apps\/v1 Deployment bid-servic, which the manifests do not define/],
    ['the HPA scales the worker', (d) => void (find(d, 'HorizontalPodAutoscaler', 'bid-service').spec.scaleTargetRef.name = 'bid-worker'), /not the API Deployment bid-service/],
    ['the API Deployment fixes its replicas', (d) => void (find(d, 'Deployment', 'bid-service').spec.replicas = 3), /sets spec.replicas, which its HorizontalPodAutoscaler owns/],
    ['the worker runs another image', (d) => void (container(d, 'bid-worker').image = 'auction-workbook:0.0.9'), /different images/],
    ['the worker runs an entry point the image does not have', (d) => void (container(d, 'bid-worker').args = ['dist/worker.js']), /not args: \[<one of/],
    ['a readiness probe on a port the container does not have', (d) => void (container(d, 'bid-service').readinessProbe!.httpGet!.port = 'helth'), /readinessProbe of bid-service is on port helth/],
    [
      'a misspelt livenessProbe',
      (d) => {
        const c = container(d, 'bid-worker') as IContainer & Record<string, unknown>;
        c.livenesProbe = c.livenessProbe;
        delete c.livenessProbe;
      },
      /has no livenessProbe/,
    ],
    ['a container with no CPU request', (d) => void delete container(d, 'bid-worker').resources!.requests!.cpu, /has no requests.cpu/],
    ['the ScaledObject watches the wrong queue', (d) => void (find(d, 'ScaledObject', 'bid-worker').spec.triggers[0].metadata.queueName = 'auction.stats'), /but the worker's stats consumer reads auction.user-stats/],
    ['the queue prefix changes in the ConfigMap but not in the ScaledObject', (d) => void (find(d, 'ConfigMap', 'auction-config').data.AMQP_QUEUE_PREFIX = 'shop.'), /reads shop.user-stats/],
    ['KEDA counts over AMQP', (d) => void (find(d, 'ScaledObject', 'bid-worker').spec.triggers[0].metadata.protocol = 'amqp'), /not http/],
    ['the worker may scale to zero', (d) => void (find(d, 'ScaledObject', 'bid-worker').spec.minReplicaCount = 0), /may scale to 0/],
    ['SHUTDOWN_GRACE_MS leaves no room in the grace period', (d) => void (container(d, 'bid-service').env!.find((e) => e.name === 'SHUTDOWN_GRACE_MS')!.value = '28000'), /preStop 5 s \+ SHUTDOWN_GRACE_MS 28 s = 33 s, not below terminationGracePeriodSeconds 30 s/],
    ['a PDB selector that matches no pods', (d) => void (find(d, 'PodDisruptionBudget', 'bid-worker').spec.selector.matchLabels['app.kubernetes.io/name'] = 'worker'), /selects the pods of 0 Deployments/],
    ['minAvailable: 1 for a single worker', (d) => void (find(d, 'PodDisruptionBudget', 'bid-worker').spec = { minAvailable: 1, selector: find(d, 'PodDisruptionBudget', 'bid-worker').spec.selector }), /forbids every eviction when bid-worker runs its minimum of 1/],
    ['a Service selecting every pod of the app', (d) => void (find(d, 'Service', 'bid-service').spec.selector = { 'app.kubernetes.io/part-of': 'auction-workbook' }), /selects the pods of bid-service, bid-worker, not bid-service only/],
    ['the Service speaks HTTP/1.1 to the API', (d) => void delete find(d, 'Service', 'bid-service').spec.ports[0].appProtocol, /appProtocol kubernetes.io\/h2c/],
    ['the Ingress without TLS', (d) => void delete find(d, 'Ingress', 'bid-service').spec.tls, /has no TLS section/],
    ['a misspelt variable', (d) => void container(d, 'bid-service').env!.push({ name: 'SHUTDOWN_GRACE', value: '1000' }), /sets SHUTDOWN_GRACE, which the app does not read/],
    ['a value the app refuses', (d) => void (find(d, 'ConfigMap', 'auction-config').data.BIDDER_PHASE = 'bidder'), /BIDDER_PHASE="bidder" is not valid/],
    ['a Secret key nobody defines', (d) => void (container(d, 'bid-worker').env!.find((e) => e.name === 'REDIS_URL')!.valueFrom!.secretKeyRef!.key = 'REDIS'), /Secret auction-connections key REDIS/],
  ])('%s', (_, change, expected) => {
    expect(problems(manifests), 'the manifests as they are').toEqual([]);
    expect(problems(broken(change)).join('\n')).toMatch(expected);
  });
});

describe('deploy/k8s/migrations: expand before the Deployments, contract after their rollout', () => {
  const jobs = migrationJobs as unknown as Array<Doc & IJob>;
  const job = (phase: string) => jobs.find((j) => j.metadata.name === `migrate-${phase}`)!;

  it.each(migrationJobs.map((d) => [id(d), d] as const))('%s is valid', (_, doc) => {
    expect(() => validate(doc)).not.toThrow();
  });

  it.each(['expand', 'contract'])('migrate-%s runs that phase with the Deployments\' image, once, with DATABASE_URL from the Secret', (phase) => {
    const j = job(phase);
    expect(j, `migrate-${phase}.yaml`).toBeDefined();
    const spec = j.spec!.template.spec!;
    const c = spec.containers[0]!;
    expect(c.args).toEqual(['dist/migrate.js', phase]);
    // …a one-shot entry point the build bundles into the image (scripts/build.ts).
    expect(Object.keys(ONE_SHOT_ENTRY_POINTS)).toContain('migrate');
    expect(new Set(deployments(manifests).flatMap((d) => containersOf(d).map((dc) => dc.image)))).toEqual(new Set([c.image]));
    expect(spec.restartPolicy).toBe('Never');
    expect(j.spec!.backoffLimit).toBe(0);
    const secrets = ofKind<ISecret>(manifests, 'Secret');
    const ref = c.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
    expect(secrets.some((s) => s.metadata?.name === ref?.name && Object.keys({ ...s.data, ...s.stringData }).includes(ref!.key))).toBe(true);
    expect(() => loadConfig(environmentOf([...manifests, ...migrationJobs], c))).not.toThrow();
  });

  it('kubectl apply -k never runs them (kustomization.yaml does not list them)', () => {
    const kustomization = readFileSync(join(dir, 'kustomization.yaml'), 'utf8');
    expect(kustomization).not.toMatch(/migrations|migrate-/);
  });

  it('rollout.sh runs expand, then the Deployments and their rollout, then contract', () => {
    const script = readFileSync(join(dir, 'rollout.sh'), 'utf8');
    const at = (text: string) => {
      const i = script.indexOf(text);
      expect(i, text).toBeGreaterThan(-1);
      return i;
    };
    const steps = [at('\nrun_job expand'), at('kubectl apply -k .'), at('rollout status deployment/bid-service'), at('rollout status deployment/bid-worker'), at('\nrun_job contract')];
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(script).toMatch(/wait --for=condition=complete "job\/migrate-\$phase"/);
  });
});

// The Kubernetes manifests as data, with no cluster: the schema of each object (kubernetes-models,
// @kubernetes-models/keda) and the invariants that make them fit together and fit the app.
// deploy/tests/k8s.test.ts holds the reference (deploy/k8s/ and solutions/deploy/k8s/) to them and
// breaks a manifest on purpose to see each one refuse; milestone 6's deploy.test.ts holds the
// learner's worker manifest (their tree's deploy/k8s/) to the same ones.
//
// The schemas, like the API server's OpenAPI, do not refuse unknown fields (kubectl's strict
// field validation does): a misspelt field is caught by the invariant that needs it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { coerceError } from '../runtime/coerce-error.ts';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ScaledObject, type IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication, type ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress, type IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { configToEnv, loadConfig, type Config } from '../runtime/config.ts';
import { type CONSUMERS, queueNames } from '../runtime/queues.ts';
import { repoRoot } from '../workbook/trees.ts';

/** The provided manifests; the worker's is in each tree's deploy/k8s/. */
export const providedDir = join(repoRoot, 'deploy/k8s');

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

export interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export function loadManifests(folder: string, prefix = ''): Doc[] {
  if (!existsSync(folder)) return [];
  return (
    readdirSync(folder)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .sort()
      .flatMap((file) =>
        parseAllDocuments(readFileSync(join(folder, file), 'utf8')).map((d) => {
          if (d.errors.length > 0) throw new Error(`${prefix}${file}: ${d.errors[0]!.message}`);
          return { ...(d.toJS() as object), file: `${prefix}${file}` } as Doc;
        }),
      )
      // A file (or a part between ---) of comments only, as a stub is: no object.
      .filter((d) => d.kind !== undefined)
  );
}

/** Throws the schema's complaint, if any. */
export function validate(doc: Doc): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`${doc.file}: no schema for ${doc.apiVersion} ${doc.kind}; add its model to MODELS in deploy/tests/k8s.test.ts`);
  const { file: _, ...object } = doc;
  new Model(object as never).validate();
}

export const id = (d: Doc) => `${d.kind} ${d.metadata?.name} (${d.file})`;
export const ofKind = <T>(docs: Doc[], kind: string) => docs.filter((d) => d.kind === kind) as unknown as (T & Doc)[];
export const deployments = (docs: Doc[]) => ofKind<IDeployment>(docs, 'Deployment');
export const containersOf = (d: IDeployment) => [...(d.spec?.template.spec?.initContainers ?? []), ...(d.spec?.template.spec?.containers ?? [])];
const podLabels = (d: IDeployment) => d.spec?.template.metadata?.labels ?? {};
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The commands the image documents (CMD and its entrypoints label), e.g. dist/bid-worker.js. */
export function imageEntryPoints(tree: string): string[] {
  const path = join(tree, 'deploy/Dockerfile');
  const dockerfile = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const label = /org\.auction-workbook\.entrypoints="([^"]*)"/.exec(dockerfile)?.[1] ?? '';
  return label.split(/\s+/).filter(Boolean);
}

/** The environment a container gets: its env values and the ConfigMaps of its envFrom (Secret values are unknown here). */
export function environmentOf(docs: Doc[], c: IContainer): Record<string, string> {
  const configMaps = ofKind<IConfigMap>(docs, 'ConfigMap');
  const fromConfigMaps = (c.envFrom ?? []).map((f) => configMaps.find((m) => m.metadata.name === f.configMapRef?.name)?.data ?? {});
  const values = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  return Object.assign({}, ...fromConfigMaps, values);
}

/** The app's config from that environment; undefined when the app would refuse it (the variables invariant says why). */
export function configFrom(env: Record<string, string>): Config | undefined {
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

/** The invariants, each listing what is wrong; `tree` is the one whose Dockerfile names the entry points. */
export const invariants = (tree: string): Record<string, (docs: Doc[]) => string[]> => ({
  'every object has a name, and every namespaced one is in the namespace the manifests create': (docs) => {
    const namespaces = docs.filter((d) => d.kind === 'Namespace').map((d) => d.metadata.name);
    return docs.flatMap((d) => [
      ...(d.metadata?.name ? [] : [`${d.kind} in ${d.file} has no metadata.name`]),
      ...(d.kind === 'Namespace' || (d.metadata?.namespace && namespaces.includes(d.metadata.namespace))
        ? []
        : [`${id(d)} is in namespace ${d.metadata?.namespace ?? '(none)'}, not one of ${namespaces.join(', ')}`]),
    ]);
  },

  'both Deployments run the same image, each with an entry point the image documents': (docs) => {
    const entries = imageEntryPoints(tree);
    const containers = deployments(docs).flatMap((d) => (d.spec?.template.spec?.containers ?? []).map((c) => ({ d, c })));
    const images = new Set(containers.map(({ c }) => c.image));
    return [
      ...(entries.length > 0
        ? []
        : [
            `the image's Dockerfile (${relative(repoRoot, join(tree, 'deploy/Dockerfile'))}) names no entry points: its runtime stage's CMD and LABEL org.auction-workbook.entrypoints`,
          ]),
      ...(deployments(docs).length === 2 ? [] : [`expected 2 Deployments (bid-service, bid-worker), found ${deployments(docs).length}`]),
      ...(images.size === 1 ? [] : [`the Deployments run different images: ${[...images].join(', ')}`]),
      ...containers.flatMap(({ d, c }) =>
        // `command` would replace the image's ENTRYPOINT (node); args replace its CMD.
        entries.length > 0 && (c.command !== undefined || !entries.includes(c.args?.[0] ?? ''))
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
          ...(t.metadata?.protocol === 'http'
            ? []
            : [`${id(s)}: protocol ${t.metadata?.protocol}, not http (over AMQP the length leaves out unacked messages)`]),
          ...(t.metadata?.mode === 'QueueLength' ? [] : [`${id(s)}: mode ${t.metadata?.mode}, not QueueLength`]),
          ...(t.metadata?.queueName === statsQueue
            ? []
            : [`${id(s)}: queueName ${t.metadata?.queueName}, but the worker's stats consumer reads ${statsQueue}`]),
          ...(auths.some((a) => a.metadata?.name === t.authenticationRef?.name)
            ? []
            : [`${id(s)}: authenticationRef ${t.authenticationRef?.name} is not a TriggerAuthentication of the manifests`]),
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
        return total < grace
          ? []
          : [`${id(d)}: preStop ${preStopSeconds(c)} s + SHUTDOWN_GRACE_MS ${drain} s = ${total} s, not below terminationGracePeriodSeconds ${grace} s`];
      });
    }),

  "each PodDisruptionBudget selects one Deployment's pods and still lets a node drain": (docs) =>
    ofKind<IPodDisruptionBudget>(docs, 'PodDisruptionBudget')
      .flatMap((p) => {
        const selected = deployments(docs).filter((d) => matches(p.spec?.selector?.matchLabels, podLabels(d)));
        if (selected.length !== 1)
          return [`${id(p)} selects the pods of ${selected.length} Deployments (${selected.map((d) => d.metadata.name).join(', ')}), not one`];
        const min = minimumReplicas(docs, selected[0]!);
        const { minAvailable, maxUnavailable } = p.spec ?? {};
        const blocks = typeof minAvailable === 'number' ? minAvailable >= min : typeof maxUnavailable === 'number' ? maxUnavailable < 1 : false;
        return blocks ? [`${id(p)} forbids every eviction when ${selected[0]!.metadata.name} runs its minimum of ${min} pod(s)`] : [];
      })
      .concat(
        deployments(docs)
          .filter((d) => !ofKind<IPodDisruptionBudget>(docs, 'PodDisruptionBudget').some((p) => matches(p.spec?.selector?.matchLabels, podLabels(d))))
          .map((d) => `${id(d)} has no PodDisruptionBudget`),
      ),

  'the Service selects the API pods only and serves its api port as h2c; the Ingress reaches it over TLS': (docs) => {
    const api = deployments(docs).find((d) => d.metadata.name === 'bid-service');
    const services = ofKind<IService>(docs, 'Service');
    const ingresses = ofKind<IIngress>(docs, 'Ingress');
    return [
      ...services.flatMap((s) => {
        const selected = deployments(docs).filter((d) => matches(s.spec?.selector, podLabels(d)));
        const ports = api ? containersOf(api).flatMap((c) => c.ports ?? []) : [];
        return [
          ...(selected.length === 1 && selected[0] === api
            ? []
            : [`${id(s)} selects the pods of ${selected.map((d) => d.metadata.name).join(', ') || 'no Deployment'}, not bid-service only`]),
          ...(s.spec?.ports ?? []).flatMap((p) =>
            ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort)
              ? []
              : [`${id(s)}: port ${p.name} targets ${p.targetPort}, not a port of the API container`],
          ),
          ...((s.spec?.ports ?? []).some((p) => p.targetPort === 'api' && p.appProtocol === 'kubernetes.io/h2c')
            ? []
            : [`${id(s)} has no port to targetPort api with appProtocol kubernetes.io/h2c`]),
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
    return deployments(docs)
      .flatMap((d) =>
        containersOf(d).flatMap((c) => {
          const names = [
            ...(c.env ?? []).map((e) => e.name),
            ...(c.envFrom ?? []).flatMap((f) => Object.keys(configMaps.find((m) => m.metadata.name === f.configMapRef?.name)?.data ?? {})),
          ];
          let configError: string[] = [];
          try {
            loadConfig(environmentOf(docs, c));
          } catch (err) {
            configError = [`${id(d)}: ${coerceError(err).message}`];
          }
          return [
            ...names.filter((n) => !known.has(n)).map((n) => `${id(d)}: ${c.name} sets ${n}, which the app does not read (runtime/config.ts)`),
            ...(c.envFrom ?? [])
              .filter((f) => f.configMapRef && !configMaps.some((m) => m.metadata.name === f.configMapRef!.name))
              .map((f) => `${id(d)}: ConfigMap ${f.configMapRef!.name} is not defined`),
            ...(c.env ?? []).flatMap((e) => {
              const ref = e.valueFrom?.secretKeyRef;
              if (!ref) return [];
              const secret = secrets.find((s) => s.metadata.name === ref.name);
              return secret && keysOf(secret).includes(ref.key)
                ? []
                : [`${id(d)}: ${e.name} comes from Secret ${ref.name} key ${ref.key}, which secrets.example.yaml does not define`];
            }),
            ...configError,
          ];
        }),
      )
      .concat(
        ofKind<ITriggerAuthentication>(docs, 'TriggerAuthentication').flatMap((a) =>
          (a.spec.secretTargetRef ?? []).flatMap((r) => {
            const secret = secrets.find((s) => s.metadata.name === r.name);
            return secret && keysOf(secret).includes(r.key)
              ? []
              : [`${id(a)}: parameter ${r.parameter} comes from Secret ${r.name} key ${r.key}, which secrets.example.yaml does not define`];
          }),
        ),
      );
  },
});

/** The manifests `kubectl apply -k deploy/k8s` applies for a tree: the provided ones and the tree's own. */
export function manifestsOf(tree: string): Doc[] {
  return [...loadManifests(providedDir), ...loadManifests(join(tree, 'deploy/k8s'), 'tree deploy/k8s/')];
}

/** Everything the invariants of `tree` find wrong in `docs`. */
export const problems = (docs: Doc[], tree: string) => Object.values(invariants(tree)).flatMap((check) => check(docs));

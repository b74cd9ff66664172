// Milestone 6 · the Kubernetes manifests in deploy/k8s and the reference's worker manifest
// (solutions/deploy/k8s), with no cluster: every object is valid against the Kubernetes
// (kubernetes-models) or KEDA (@kubernetes-models/keda) schema, and the objects fit together and
// fit the app: same image, probes on ports that exist, autoscalers on the right Deployments and
// the app's queue, a termination budget that adds up. Each invariant (testkit/k8s-manifests.ts)
// is a function that lists what is wrong, so the tests at the end can break a manifest on
// purpose and see the invariant refuse it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { loadConfig } from '#runtime/config.ts';
import {
  containersOf,
  deployments,
  environmentOf,
  id,
  invariants,
  loadManifests,
  manifestsOf,
  ofKind,
  problems as problemsOf,
  providedDir,
  validate,
  type Doc,
} from '#testkit/k8s-manifests.ts';
import { solutionsDir } from '#workbook/trees.ts';
import { ONE_SHOT_ENTRY_POINTS } from '../../scripts/build.ts';

const dir = providedDir;
const INVARIANTS = invariants(solutionsDir);
/** The reference: the provided manifests and the worker's of solutions/. */
const manifests = manifestsOf(solutionsDir);
/** deploy/k8s/migrations: the rollout's migration Jobs, applied by rollout.sh, never by apply -k. */
const migrationJobs = loadManifests(join(dir, 'migrations'), 'migrations/');
const problems = (docs: Doc[]) => problemsOf(docs, solutionsDir);

describe('deploy/k8s against the schemas', () => {
  it.each(manifests.map((d) => [id(d), d] as const))('%s is valid', (_, doc) => {
    expect(() => validate(doc)).not.toThrow();
  });

  it('kustomization.yaml lists every manifest but the examples, and names the image the Deployments run', () => {
    const read = (path: string) => parseAllDocuments(readFileSync(path, 'utf8'))[0]!.toJS() as { resources: string[]; images?: { name: string }[] };
    const kustomization = read(join(dir, 'kustomization.yaml'));
    const files = [...new Set(manifests.map((d) => d.file))].filter((f) => !f.endsWith('.example.yaml'));
    // The worker's manifest comes in as the learner's tree's folder, which has its own kustomization.
    const tree = read(join(solutionsDir, 'deploy/k8s/kustomization.yaml'));
    const resources = kustomization.resources.flatMap((r) => (r === '../../exercises/deploy/k8s' ? tree.resources.map((t) => `tree deploy/k8s/${t}`) : [r]));
    expect(resources.sort()).toEqual(files.sort());
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
// biome-ignore lint/suspicious/noExplicitAny: each test below breaks one field of a manifest, at any depth, as a deployer's typo would.
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
    [
      'the HPA points at a Deployment that does not exist',
      (d) => void (find(d, 'HorizontalPodAutoscaler', 'bid-service').spec.scaleTargetRef.name = 'bid-servic'),
      /targets apps\/v1 Deployment bid-servic, which the manifests do not define/,
    ],
    [
      'the HPA scales the worker',
      (d) => void (find(d, 'HorizontalPodAutoscaler', 'bid-service').spec.scaleTargetRef.name = 'bid-worker'),
      /not the API Deployment bid-service/,
    ],
    [
      'the API Deployment fixes its replicas',
      (d) => void (find(d, 'Deployment', 'bid-service').spec.replicas = 3),
      /sets spec.replicas, which its HorizontalPodAutoscaler owns/,
    ],
    ['the worker runs another image', (d) => void (container(d, 'bid-worker').image = 'auction-workbook:0.0.9'), /different images/],
    ['the worker runs an entry point the image does not have', (d) => void (container(d, 'bid-worker').args = ['dist/worker.js']), /not args: \[<one of/],
    [
      'a readiness probe on a port the container does not have',
      (d) => void (container(d, 'bid-service').readinessProbe!.httpGet!.port = 'helth'),
      /readinessProbe of bid-service is on port helth/,
    ],
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
    [
      'the ScaledObject watches the wrong queue',
      (d) => void (find(d, 'ScaledObject', 'bid-worker').spec.triggers[0].metadata.queueName = 'auction.stats'),
      /but the worker's stats consumer reads auction.user-stats/,
    ],
    [
      'the queue prefix changes in the ConfigMap but not in the ScaledObject',
      (d) => void (find(d, 'ConfigMap', 'auction-config').data.AMQP_QUEUE_PREFIX = 'shop.'),
      /reads shop.user-stats/,
    ],
    ['KEDA counts over AMQP', (d) => void (find(d, 'ScaledObject', 'bid-worker').spec.triggers[0].metadata.protocol = 'amqp'), /not http/],
    ['the worker may scale to zero', (d) => void (find(d, 'ScaledObject', 'bid-worker').spec.minReplicaCount = 0), /may scale to 0/],
    [
      'SHUTDOWN_GRACE_MS leaves no room in the grace period',
      (d) => void (container(d, 'bid-service').env!.find((e) => e.name === 'SHUTDOWN_GRACE_MS')!.value = '28000'),
      /preStop 5 s \+ SHUTDOWN_GRACE_MS 28 s = 33 s, not below terminationGracePeriodSeconds 30 s/,
    ],
    [
      'a PDB selector that matches no pods',
      (d) => void (find(d, 'PodDisruptionBudget', 'bid-worker').spec.selector.matchLabels['app.kubernetes.io/name'] = 'worker'),
      /selects the pods of 0 Deployments/,
    ],
    [
      'minAvailable: 1 for a single worker',
      (d) =>
        void (find(d, 'PodDisruptionBudget', 'bid-worker').spec = { minAvailable: 1, selector: find(d, 'PodDisruptionBudget', 'bid-worker').spec.selector }),
      /forbids every eviction when bid-worker runs its minimum of 1/,
    ],
    [
      'a Service selecting every pod of the app',
      (d) => void (find(d, 'Service', 'bid-service').spec.selector = { 'app.kubernetes.io/part-of': 'auction-workbook' }),
      /selects the pods of bid-service, bid-worker, not bid-service only/,
    ],
    [
      'the Service speaks HTTP/1.1 to the API',
      (d) => void delete find(d, 'Service', 'bid-service').spec.ports[0].appProtocol,
      /appProtocol kubernetes.io\/h2c/,
    ],
    ['the Ingress without TLS', (d) => void delete find(d, 'Ingress', 'bid-service').spec.tls, /has no TLS section/],
    [
      'a misspelt variable',
      (d) => void container(d, 'bid-service').env!.push({ name: 'SHUTDOWN_GRACE', value: '1000' }),
      /sets SHUTDOWN_GRACE, which the app does not read/,
    ],
    ['a value the app refuses', (d) => void (find(d, 'ConfigMap', 'auction-config').data.BIDDER_PHASE = 'bidder'), /BIDDER_PHASE="bidder" is not valid/],
    [
      'a Secret key nobody defines',
      (d) => void (container(d, 'bid-worker').env!.find((e) => e.name === 'REDIS_URL')!.valueFrom!.secretKeyRef!.key = 'REDIS'),
      /Secret auction-connections key REDIS/,
    ],
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

  it.each(['expand', 'contract'])("migrate-%s runs that phase with the Deployments' image, once, with DATABASE_URL from the Secret", (phase) => {
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
    const steps = [
      at('\nrun_job expand'),
      at('kubectl apply -k .'),
      at('rollout status deployment/bid-service'),
      at('rollout status deployment/bid-worker'),
      at('\nrun_job contract'),
    ];
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(script).toMatch(/wait --for=condition=complete "job\/migrate-\$phase"/);
  });
});

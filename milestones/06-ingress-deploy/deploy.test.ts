// Milestone 6, step 6 · the image, the compose app services and the worker's Kubernetes manifest
// you write, in your tree's deploy/ (exercises/deploy/ unless WORKBOOK_TREE names another tree).
// Nothing is built or deployed: no Docker engine or cluster runs the tests. Each file is read as
// data and held to the rules the reference's are held to (deploy/tests/image.test.ts,
// compose.test.ts, k8s.test.ts): the Dockerfile's stages, the app services merged onto
// docker-compose.yml as `docker compose -f docker-compose.yml -f <tree>/deploy/compose.app.yml`
// merges them, and the worker's manifest against the Kubernetes and KEDA schemas and with the
// provided manifests of deploy/k8s. What only a real engine shows (the image builds, its
// processes start) is image.test.ts's, which bundles and starts the reference's entry points.
import { existsSync, readFileSync } from 'node:fs';
import { coerceError } from '#runtime/coerce-error.ts';
import { join, relative } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '#runtime/config.ts';
import { appServiceProblems, load, merge, validateCompose } from '#testkit/compose-files.ts';
import { dockerfileProblems, dockerignorePatterns, parseDockerfile } from '#testkit/dockerfile.ts';
import { id, loadManifests, manifestsOf, problems, validate } from '#testkit/k8s-manifests.ts';
import { repoRoot } from '#workbook/trees.ts';

const tree = inject('workbook').tree;
/** A path of the tree as the learner sees it, from the repo root: exercises/deploy/Dockerfile. */
const inTree = (path: string) => relative(repoRoot, join(tree, path));
const read = (path: string) => (existsSync(join(tree, path)) ? readFileSync(join(tree, path), 'utf8') : '');
const NEXT = 'Step 6 of milestones/06-ingress-deploy/README.md says what each part is for; `npm run hint -- 6` gives more.';

describe('step 6 · the image: your deploy/Dockerfile, read stage by stage (not built)', () => {
  it('has a build stage that bundles the tree, and a runtime stage: production dependencies, the bundles, non-root, a health check, node <entry point>', () => {
    const where = inTree('deploy/Dockerfile');
    const defaults = loadConfig({}).http;
    const found = dockerfileProblems(parseDockerfile(read('deploy/Dockerfile')), {
      nodeMajor: readFileSync(join(repoRoot, '.nvmrc'), 'utf8').trim().split('.')[0]!,
      ports: [defaults.port, defaults.apiPort],
      ignored: dockerignorePatterns(readFileSync(join(repoRoot, '.dockerignore'), 'utf8')),
      where,
    });
    expect(found, `What ${where} is missing (${found.length}). ${NEXT}`).toEqual([]);
  });
});

describe('step 6 · the app services: your deploy/compose.app.yml on top of docker-compose.yml', () => {
  const file = inTree('deploy/compose.app.yml');

  it('runs bid-service and bid-worker from one image built from the tree, on the compose network, healthy when ready, with time to drain; a valid compose file', () => {
    const alone = validateCompose(load(file, { plain: true })) ? [] : validateCompose.errors;
    expect(alone, `${file} against the Compose specification's schema: each error names the path of the key it refuses. ${NEXT}`).toEqual([]);
    const stack = merge(load('docker-compose.yml'), load(file));
    expect(validateCompose(JSON.parse(JSON.stringify(stack))) ? [] : validateCompose.errors, `docker-compose.yml + ${file}`).toEqual([]);
    const found = appServiceProblems(stack, file, (env) => loadConfig(env));
    expect(found, `What the app services of ${file} are missing (${found.length}). ${NEXT}`).toEqual([]);
  });
});

describe("step 6 · the worker's manifest: your deploy/k8s/bid-worker.yaml with the provided deploy/k8s", () => {
  const file = inTree('deploy/k8s/bid-worker.yaml');
  const own = loadManifests(join(tree, 'deploy/k8s'), 'tree deploy/k8s/');

  it("defines the worker's Deployment and its ScaledObject, each valid against its schema (Kubernetes, KEDA)", () => {
    const kinds = own.map((d) => `${d.kind} ${d.metadata?.name}`);
    expect(kinds, `The objects of ${file}: it defines the Deployment bid-worker and the KEDA ScaledObject that scales it. ${NEXT}`).toEqual(
      expect.arrayContaining(['Deployment bid-worker', 'ScaledObject bid-worker']),
    );
    const invalid = own.flatMap((d) => {
      try {
        validate(d);
        return [];
      } catch (err) {
        return [`${id(d)}: ${coerceError(err).message}`];
      }
    });
    expect(invalid, `Objects of ${file} the schema refuses (a field of the wrong type or a required one missing). ${NEXT}`).toEqual([]);
  });

  it('fits the image, the app and the provided manifests: entry point, probes, resources, environment, termination budget, scaling', () => {
    const all = manifestsOf(tree);
    const found = problems(all, tree);
    expect(found, `What kubectl apply -k deploy/k8s would deploy wrong with your ${file} (${found.length}). ${NEXT}`).toEqual([]);
  });
});

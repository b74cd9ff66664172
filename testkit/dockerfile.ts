// A Dockerfile as data: its stages and their instructions, enough to check what an image will
// be without a Docker engine (deploy/tests/image.test.ts for the reference, milestone 6's
// deploy.test.ts for the learner's). Not a full parser: heredocs and parser directives other
// than comments are not handled, and the Dockerfiles here use neither.

export interface Instruction {
  keyword: string;
  args: string;
}
export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** The stages of a Dockerfile: continuation lines joined, comments dropped, ARG defaults before the first FROM substituted. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [image = '', , name] = args.replace(/\$\{(\w+)\}/g, (_, v: string) => globalArgs.get(v) ?? '').split(/\s+/);
      stages.push({ image, name, instructions: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [k = '', v = ''] = args.split('=');
      globalArgs.set(k, v);
    } else {
      stages.at(-1)?.instructions.push({ keyword: upper, args });
    }
  }
  return stages;
}

/** The instructions of a stage with this keyword (upper case), their arguments in order. */
export const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
/** KEY=value pairs of an ENV or LABEL line, quotes removed. */
export const pairs = (args: string) => Object.fromEntries([...args.matchAll(/([\w.-]+)=("([^"]*)"|\S+)/g)].map((m) => [m[1]!, m[3] ?? m[2]!]));
/** The exec form (a JSON array) of CMD, ENTRYPOINT or HEALTHCHECK CMD; undefined for the shell form. */
export const execForm = (args: string | undefined) => (args?.startsWith('[') ? (JSON.parse(args) as string[]) : undefined);

/** What the image needs of the Dockerfile, and what it must not copy (the build context's .dockerignore). */
export interface DockerfileExpectations {
  /** The Node major of .nvmrc: the runtime runs the Node the workbook is developed on. */
  nodeMajor: string;
  /** The ports the app listens on by default (PORT, API_PORT), which the image exposes. */
  ports: number[];
  /** The patterns of .dockerignore: a COPY of an ignored path copies nothing. */
  ignored: string[];
  /** Where the Dockerfile is, for the messages (exercises/deploy/Dockerfile). */
  where: string;
}

/**
 * Everything wrong with the stages of a Dockerfile, each as what was found, what is expected
 * and where to look: the build stage (named `build`, every dependency from the lockfile, the
 * bundles of the tree named by TREE) and the runtime stage (the last, production dependencies,
 * the bundles, a non-root user, a health check, `node <entry point>`). The stages are read, not
 * built: no Docker engine runs the tests (CI's test:containers uses the infrastructure images only).
 */
export function dockerfileProblems(stages: Stage[], x: DockerfileExpectations): string[] {
  const out: string[] = [];
  const build = stages.find((s) => s.name === 'build');
  const runtime = stages.at(-1);
  if (!build)
    out.push(`${x.where}: no stage named build (FROM <node image> AS build); the web stage starts FROM it, and the runtime stage copies dist/ from it.`);
  else {
    const runs = all(build, 'RUN');
    if (!/^node:/.test(build.image))
      out.push(`${x.where}, stage build: FROM ${build.image || '(nothing)'}; the build runs npm, so it starts from the Node image (ARG NODE_IMAGE).`);
    if (!runs.some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r)))
      out.push(
        `${x.where}, stage build: no \`RUN npm ci\` with the dev dependencies (esbuild and tsx are dev dependencies: the build needs them; \`npm ci\` installs exactly the lockfile).`,
      );
    const bundle = runs.find((r) => /\bnpm run build\b/.test(r));
    if (!bundle)
      out.push(`${x.where}, stage build: no \`RUN npm run build -- --tree … --out-dir dist\` (scripts/build.ts bundles each entry point of the tree).`);
    else if (!/--tree\s+"?\$\{?TREE\b/.test(bundle) || !/--out-dir\s+dist\b/.test(bundle))
      out.push(`${x.where}, stage build: \`RUN ${bundle}\` should bundle the tree the build argument TREE names into dist: --tree "\${TREE}" --out-dir dist.`);
    if (!all(build, 'ARG').some((a) => /^TREE(=|$)/.test(a)))
      out.push(
        `${x.where}, stage build: no \`ARG TREE=exercises\`; \`--build-arg TREE=solutions\` builds the reference, and an ARG is visible only in the stage that declares it.`,
      );
    if (!all(build, 'COPY').some((c) => c.includes('package-lock.json')))
      out.push(`${x.where}, stage build: package-lock.json is not copied before \`npm ci\`, which refuses to run without it.`);
  }
  if (!runtime || runtime === build) {
    out.push(`${x.where}: no runtime stage after the build stage (the last stage is the image \`docker build\` makes by default).`);
    return out;
  }
  const env: Record<string, string> = Object.assign({}, ...all(runtime, 'ENV').map(pairs));
  const where = `${x.where}, the last stage${runtime.name ? ` (${runtime.name})` : ''}`;
  if (!new RegExp(`^node:${x.nodeMajor}(\\.[\\d.]+)?-(\\w+-)?slim$`).test(runtime.image))
    out.push(
      `${where}: FROM ${runtime.image}; expected node:${x.nodeMajor}-slim (the Node major of .nvmrc, without the compilers and tools of the full image).`,
    );
  const installs = all(runtime, 'RUN').filter((r) => /\bnpm (ci|install|i)\b/.test(r));
  if (installs.length === 0) out.push(`${where}: installs no dependencies; the bundles import their packages from node_modules (RUN npm ci --omit=dev).`);
  for (const install of installs.filter((r) => !/--omit=dev\b/.test(r)))
    out.push(`${where}: \`RUN ${install}\` installs the dev dependencies too; add --omit=dev.`);
  if (!all(runtime, 'COPY').some((c) => build && c.startsWith(`--from=${build.name}`) && c.includes('dist')))
    out.push(`${where}: does not copy dist/ from the build stage (COPY --from=build /app/dist ./dist).`);
  if (env.NODE_ENV !== 'production') out.push(`${where}: NODE_ENV is ${env.NODE_ENV ?? 'not set'}; expected ENV NODE_ENV=production.`);
  if (env.HTTP_HOST !== '0.0.0.0')
    out.push(
      `${where}: HTTP_HOST is ${env.HTTP_HOST ?? 'not set (the app listens on 127.0.0.1)'}; expected 0.0.0.0: the kubelet's probes and the ingress come from outside the container.`,
    );
  const exposed = all(runtime, 'EXPOSE')
    .flatMap((e) => e.split(/\s+/))
    .map((p) => Number(p.split('/')[0]));
  if ([...exposed].sort().join() !== [...x.ports].sort().join())
    out.push(`${where}: EXPOSE ${exposed.join(' ') || '(nothing)'}; expected the ports the app listens on, ${x.ports.join(' ')} (PORT, API_PORT).`);
  const user = all(runtime, 'USER').at(-1);
  if (!user || ['root', '0', '0:0'].includes(user))
    out.push(`${where}: runs as ${user ?? 'root (no USER)'}; a process that is broken into should not own the image's files: USER node.`);
  const health = all(runtime, 'HEALTHCHECK').at(-1);
  if (!health || !/\/healthz/.test(health))
    out.push(
      `${where}: ${health ? `HEALTHCHECK ${health} does not ask /healthz` : 'no HEALTHCHECK'}; Docker and compose learn the process lives by asking /healthz on PORT (no curl in the slim image: node -e "fetch(…)").`,
    );
  if (JSON.stringify(execForm(all(runtime, 'ENTRYPOINT').at(-1))) !== '["node"]')
    out.push(
      `${where}: ENTRYPOINT ${all(runtime, 'ENTRYPOINT').at(-1) ?? '(none)'}; expected ["node"], so the command is just the entry point (dist/bid-worker.js for the worker).`,
    );
  const cmd = execForm(all(runtime, 'CMD').at(-1));
  if (JSON.stringify(cmd) !== '["dist/bid-service.js"]')
    out.push(`${where}: CMD ${all(runtime, 'CMD').at(-1) ?? '(none)'}; expected ["dist/bid-service.js"] (the API is the default command).`);
  const label = Object.assign({}, ...all(runtime, 'LABEL').map(pairs))['org.auction-workbook.entrypoints'] ?? '';
  if (!label.split(/\s+/).includes('dist/bid-worker.js'))
    out.push(
      `${where}: LABEL org.auction-workbook.entrypoints="${label}" does not name dist/bid-worker.js; the Kubernetes manifests and the tests find the image's entry points there.`,
    );
  const copied = stages
    .flatMap((s) => all(s, 'COPY'))
    .filter((c) => !c.startsWith('--from'))
    .flatMap((c) =>
      c
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1),
    );
  for (const source of copied) {
    const by = x.ignored.filter((pattern) => source === pattern || source.startsWith(`${pattern}/`));
    if (by.length > 0) out.push(`${x.where}: COPY ${source}, which .dockerignore keeps out of the build context (${by.join(', ')}): it would copy nothing.`);
  }
  return out;
}

/** The patterns of a .dockerignore file, leading and trailing slashes removed. */
export function dockerignorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/^\/|\/$/g, ''))
    .filter((l) => l && !l.startsWith('#'));
}

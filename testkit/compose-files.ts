// biome-ignore-all lint/suspicious/noExplicitAny: the merge walks untyped YAML documents the way Compose does, key by key.
// Compose files as data: a file as JS (with compose's !reset and !override merge tags kept as
// marks), and compose's merge of several -f files, for the checks of deploy/tests/compose.test.ts
// (the reference stack, local and VPS) and milestone 6's deploy.test.ts (the learner's app file).
import { readFileSync } from 'node:fs';
import { coerceError } from '../runtime/coerce-error.ts';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { isSeq, parseDocument, visit } from 'yaml';
import { repoRoot } from '../workbook/trees.ts';

// The file names its draft as https://json-schema.org/draft-07/schema, which Ajv knows as
// http://json-schema.org/draft-07/schema# (Ajv's default draft): the same draft, another spelling.
const { $schema: _draft07, ...schema } = createRequire(import.meta.url)('docker-compose/schema/compose-spec.json') as { $schema: string };
/** The Compose specification's JSON schema (compose-spec.json, as the docker-compose package vendors it). */
// strict: false because the schema uses keywords Ajv does not know (deprecated, x-…).
export const validateCompose = new Ajv({ allErrors: true, strict: false }).compile(schema);

export type Yaml = Record<string, any>;
const RESET = Symbol('!reset');
const OVERRIDE = Symbol('!override');

/**
 * A compose file as JS. Compose's merge tags (!reset, !override) on a sequence become a marker
 * for merge(); `plain` leaves them out, as the schema sees the file.
 */
export function load(file: string, options: { plain?: boolean } = {}): Yaml {
  const doc = parseDocument(readFileSync(join(repoRoot, file), 'utf8'), { merge: true });
  const marked: Array<{ node: unknown; mark: symbol }> = [];
  visit(doc, {
    Seq(_, node) {
      if (node.tag === '!reset') marked.push({ node, mark: RESET });
      if (node.tag === '!override') marked.push({ node, mark: OVERRIDE });
    },
  });
  const js = doc.toJS({ maxAliasCount: -1 }) as Yaml;
  if (options.plain) return js;
  // Walk the document and the JS value side by side to put the marks on the arrays.
  const mark = (node: any, value: any) => {
    if (isSeq(node)) {
      const found = marked.find((m) => m.node === node);
      if (found) Object.defineProperty(value, found.mark, { value: true });
      for (const [i, item] of (node.items as unknown[]).entries()) mark(item, value[i]);
    } else if (node?.items) {
      for (const pair of node.items) if (pair.key && value) mark(pair.value, value[String(pair.key.value ?? pair.key)]);
    }
  };
  mark(doc.contents, js);
  return js;
}

/** Compose's merge of an override onto a base (the subset these files use). */
export function merge(base: any, override: any, key = ''): any {
  if (Array.isArray(override)) {
    if ((override as any)[RESET]) return [];
    if ((override as any)[OVERRIDE] || !Array.isArray(base)) return override;
    // Volumes merge by the path in the container; other sequences add up.
    if (key === 'volumes') {
      const target = (v: any) => (typeof v === 'string' ? v.split(':')[1] : v.target);
      return [...base.filter((b: any) => !override.some((o: any) => target(o) === target(b))), ...override];
    }
    return [...new Set([...base, ...override])];
  }
  if (override && typeof override === 'object' && base && typeof base === 'object' && !Array.isArray(base)) {
    // command, entrypoint and healthcheck.test replace; maps merge.
    const out = { ...base };
    for (const [k, v] of Object.entries(override)) out[k] = ['command', 'entrypoint', 'test'].includes(k) ? v : merge(base[k], v, k);
    return out;
  }
  return override ?? base;
}

/** ${NAME:-default} and ${NAME:?message} as compose fills them from an empty environment (defaults; a required one as NAME). */
export function interpolated(value: string): string {
  return value.replace(/\$\{(\w+)(?::?([-?])([^}]*))?\}/g, (_, name: string, kind?: string, rest?: string) =>
    kind === '-' ? (rest ?? '') : name.toLowerCase(),
  );
}

const APP = { 'bid-service': 'dist/bid-service.js', 'bid-worker': 'dist/bid-worker.js' } as const;
const DEPENDENCIES = ['postgres', 'rabbitmq', 'redis'];

/**
 * Everything wrong with the app's two services in a merged local stack (docker-compose.yml and
 * a tree's deploy/compose.app.yml), each as what was found and what is expected. `appConfig`
 * turns a service's environment into the app's config (runtime/config.ts's loadConfig), and
 * throws the app's own message for a value it refuses.
 */
export function appServiceProblems(
  stack: Yaml,
  where: string,
  appConfig: (env: Record<string, string>) => {
    databaseUrl: string;
    amqpUrl: string;
    redisUrl: string;
    http: { host: string; port: number; apiPort: number; shutdownGraceMs: number };
  },
): string[] {
  const out: string[] = [];
  const services = (stack.services ?? {}) as Record<string, Yaml>;
  const images = new Set<string>();
  for (const [name, entry] of Object.entries(APP)) {
    const svc = services[name];
    const at = `${where}, service ${name}`;
    if (!svc) {
      out.push(`${where}: no service ${name}.`);
      continue;
    }
    if (!(svc.profiles ?? []).includes('app'))
      out.push(
        `${at}: profiles ${JSON.stringify(svc.profiles ?? [])}; expected ["app"], so \`docker compose up -d\` keeps starting only the infrastructure of milestones 1-5.`,
      );
    const build = typeof svc.build === 'string' ? { context: svc.build } : svc.build;
    if (!build) out.push(`${at}: no build; it builds the image from this tree's Dockerfile (build: context ., dockerfile …/deploy/Dockerfile).`);
    else {
      if (build.context !== '.')
        out.push(`${at}: build context ${build.context}; expected . (the repo root: the Dockerfile copies package.json, runtime/ and the trees from there).`);
      if (!/(^|\/)deploy\/Dockerfile$/.test(interpolated(String(build.dockerfile ?? ''))))
        out.push(`${at}: build.dockerfile ${build.dockerfile ?? '(none: ./Dockerfile, which does not exist)'}; expected this tree's deploy/Dockerfile.`);
    }
    images.add(String(svc.image));
    if (JSON.stringify(svc.command) !== JSON.stringify([entry]))
      out.push(`${at}: command ${JSON.stringify(svc.command ?? null)}; expected ["${entry}"] (the image's ENTRYPOINT is node).`);
    const env = Object.fromEntries(Object.entries((svc.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, interpolated(String(v))]));
    try {
      const config = appConfig(env);
      for (const [url, host] of [
        [config.databaseUrl, 'postgres'],
        [config.amqpUrl, 'rabbitmq'],
        [config.redisUrl, 'redis'],
      ] as const) {
        if (new URL(url).hostname !== host)
          out.push(`${at}: connects to ${new URL(url).host} for ${host}; in a container 127.0.0.1 is the container itself: use the compose name, ${host}.`);
      }
      if (config.http.host !== '0.0.0.0')
        out.push(`${at}: HTTP_HOST ${config.http.host}; expected 0.0.0.0, or the health check and the ingress cannot reach it.`);
      const grace = durationSeconds(svc.stop_grace_period ?? '10s');
      if (grace * 1000 <= config.http.shutdownGraceMs)
        out.push(
          `${at}: stop_grace_period ${svc.stop_grace_period ?? '10s (the default)'} is not longer than SHUTDOWN_GRACE_MS ${config.http.shutdownGraceMs} ms; compose would SIGKILL it mid-drain.`,
        );
    } catch (err) {
      out.push(`${at}: the app refuses its environment: ${coerceError(err).message}`);
    }
    const dependsOn = (svc.depends_on ?? {}) as Record<string, { condition?: string }> | string[];
    for (const dep of DEPENDENCIES) {
      const condition = Array.isArray(dependsOn) ? (dependsOn.includes(dep) ? 'service_started' : undefined) : dependsOn[dep]?.condition;
      if (condition !== 'service_healthy')
        out.push(`${at}: depends_on ${dep} ${condition ?? '(not listed)'}; expected condition service_healthy, so it starts once ${dep} answers.`);
    }
    const test = JSON.stringify(svc.healthcheck?.test ?? '');
    if (!test.includes('/readyz'))
      out.push(
        `${at}: ${svc.healthcheck ? 'its healthcheck does not ask /readyz' : 'no healthcheck'}; the ingress waits for bid-service healthy, and healthy means ready (node -e "fetch(…/readyz)": no curl in the slim image).`,
      );
    if (!svc.mem_limit) out.push(`${at}: no mem_limit; a bound on what unlucky clients can make it hold (Node sizes its heap from it).`);
  }
  if (images.size > 1)
    out.push(`${where}: bid-service and bid-worker name different images (${[...images].join(', ')}); they run one image with two commands.`);
  return out;
}

function durationSeconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(value).trim());
  if (!match) return 0;
  return Number(match[1]) * ({ ms: 0.001, s: 1, m: 60 }[match[2] ?? 's'] ?? 1);
}

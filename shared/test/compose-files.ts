// Compose files as data: a file as JS (with compose's !reset and !override merge tags kept as
// marks), and compose's merge of several -f files, for the checks of shared/tests/compose.test.ts
// (the reference stack, local and VPS) and milestone 6's deploy.test.ts (the learner's app file).
import { readFileSync } from 'node:fs';
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
      node.items.forEach((item: any, i: number) => mark(item, value[i]));
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


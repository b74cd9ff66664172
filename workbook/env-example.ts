// .env.example's list of the app's variables, rendered from the table in runtime/config.ts, so the
// docs cannot drift from what loadConfig reads. `npm run generate` writes it between the two
// marker lines; runtime/config.test.ts fails when the file holds anything else.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configVariables } from '../runtime/config.ts';
import { repoRoot } from './trees.ts';

export const envExampleFile = join(repoRoot, '.env.example');
const BEGIN = '# >>> Every variable the app reads, its default and what it takes. Generated from runtime/config.ts';
const BEGIN_2 = '# by `npm run generate`: edit the table there, not these lines.';
const END = '# <<< end of the generated list';

/** The lines between the markers: each variable as `# NAME=default` and what it is for. */
export function renderVariables(): string {
  const lines: string[] = [];
  let group: string | undefined;
  for (const v of configVariables) {
    // A blank line where the Config's section changes (http, api, auth, outbox, ...).
    const top = v.path.includes('.') ? (v.path.split('.')[0] as string) : '';
    if (group !== undefined && top !== group) lines.push('#');
    group = top;
    lines.push(`# ${v.name}=${v.fallback === undefined ? '' : v.kind.format(v.fallback)}`, `#     ${v.doc} Takes ${v.kind.expected}.`);
  }
  return lines.join('\n');
}

/** The file's text with the generated block replaced (appended, markers and all, when it has none). */
export function renderEnvExample(current: string): string {
  const block = `${BEGIN}\n${BEGIN_2}\n${renderVariables()}\n${END}`;
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (start === -1 || end === -1) return `${current.trimEnd()}\n\n${block}\n`;
  return current.slice(0, start) + block + current.slice(end + END.length);
}

/** Writes .env.example; true when it changed. */
export function writeEnvExample(): boolean {
  const current = readFileSync(envExampleFile, 'utf8');
  const next = renderEnvExample(current);
  if (next !== current) writeFileSync(envExampleFile, next);
  return next !== current;
}

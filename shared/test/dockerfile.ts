// A Dockerfile as data: its stages and their instructions, enough to check what an image will
// be without a Docker engine (shared/tests/image.test.ts for the reference, milestone 6's
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

// Learner regions (design §2). A region in solutions/ reads:
//
//   // #region m3: lock the item row
//   ...reference code (may hold regions of later milestones)...
//   // #stub
//   // ...the stub, commented out...
//   // #endregion
//
// SQL files use `--` instead of `//`; Dockerfiles and YAML (the tree's deploy/) use `#`, and
// there too the stub loses one level of the prefix. Generated trees keep the #region/#endregion lines
// (so review and reset can find the learner's code) and drop the #stub section.

export interface Region {
  milestone: number;
  task: string;
  /** The reference code, as it appears in a generated tree that keeps it. */
  body: string;
  /** The stub, uncommented. */
  stub: string;
  /** 1-based line of the #region marker in the source file. */
  line: number;
}

export class RegionSyntaxError extends Error {
  override name = 'RegionSyntaxError';
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

const MARK = /^(\s*)(\/\/|--|#) #(region|stub|endregion)\b(.*)$/;
// Any number: whether mN names a ready milestone of the manifest is the manifest check's rule
// (npm run check -- manifest), which says so in those words instead of a syntax error.
const REGION_HEAD = /^ m(\d+): (\S.*)$/;

type Node =
  | { kind: 'text'; line: string }
  | { kind: 'region'; milestone: number; task: string; head: string; tail: string; line: number; body: Node[]; stub: string[] };

function parse(file: string, text: string): Node[] {
  const lines = text.split('\n');
  const root: Node[] = [];
  const stack: Array<Extract<Node, { kind: 'region' }> & { inStub: boolean; prefix: string }> = [];
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    const top = stack.at(-1);
    const mark = MARK.exec(line);
    if (!mark) {
      if (top?.inStub) {
        const uncommented = uncomment(line, top.prefix);
        if (uncommented === undefined) {
          throw new RegionSyntaxError(file, lineNo, `stub lines must start with "${top.prefix}" (the stub is commented out in solutions/)`);
        }
        top.stub.push(uncommented);
      } else (top ? top.body : root).push({ kind: 'text', line });
      return;
    }
    const [, indent = '', prefix = '//', word, rest = ''] = mark;
    if (word === 'region') {
      const head = REGION_HEAD.exec(rest);
      if (!head) throw new RegionSyntaxError(file, lineNo, `expected "${prefix} #region mN: what the learner does", got "${line.trim()}"`);
      if (top?.inStub) throw new RegionSyntaxError(file, lineNo, 'a region cannot start inside a stub');
      const milestone = Number(head[1]);
      if (top && milestone < top.milestone) {
        throw new RegionSyntaxError(
          file,
          lineNo,
          `a milestone-${milestone} region cannot sit inside a milestone-${top.milestone} region (it would vanish with the later stub)`,
        );
      }
      const region = {
        kind: 'region' as const,
        milestone,
        task: head[2]!.trim(),
        head: line,
        tail: '',
        line: lineNo,
        body: [],
        stub: [],
        inStub: false,
        prefix,
      };
      (top ? top.body : root).push(region);
      stack.push(region);
    } else if (word === 'stub') {
      if (!top || top.inStub) throw new RegionSyntaxError(file, lineNo, '#stub outside a region, or twice in one region');
      top.inStub = true;
    } else {
      if (!top) throw new RegionSyntaxError(file, lineNo, '#endregion without a #region');
      if (!top.inStub) throw new RegionSyntaxError(file, lineNo, `region "m${top.milestone}: ${top.task}" (line ${top.line}) has no #stub section`);
      checkStub(file, top);
      top.tail = `${indent}${prefix} #endregion`;
      stack.pop();
    }
  });
  const open = stack.at(-1);
  if (open) throw new RegionSyntaxError(file, open.line, `region "m${open.milestone}: ${open.task}" is never closed with #endregion`);
  return root;
}

const PREFIX_PATTERN: Record<string, string> = { '//': '\\/\\/', '--': '--', '#': '#' };

function uncomment(line: string, prefix: string): string | undefined {
  const match = new RegExp(`^(\\s*)${PREFIX_PATTERN[prefix]} ?(.*)$`).exec(line);
  if (!match) return line.trim() === '' ? '' : undefined;
  return match[2] === '' ? '' : `${match[1]}${match[2]}`;
}

function checkStub(file: string, region: { milestone: number; task: string; line: number; stub: string[] }): void {
  const todo = /new TodoError\(\s*['"]m(\d)['"]/.exec(region.stub.join('\n'));
  if (todo && Number(todo[1]) !== region.milestone) {
    throw new RegionSyntaxError(file, region.line, `the stub of a milestone-${region.milestone} region throws a TodoError for m${todo[1]}`);
  }
}

/** Renders a file with every region of a milestone in `stubbed` replaced by its stub. */
export function renderFile(file: string, text: string, stubbed: ReadonlySet<number>): string {
  return render(parse(file, text), stubbed).join('\n');
}

function render(nodes: Node[], stubbed: ReadonlySet<number>): string[] {
  return nodes.flatMap((node) => {
    if (node.kind === 'text') return [node.line];
    const inner = stubbed.has(node.milestone) ? node.stub : render(node.body, stubbed);
    return [node.head, ...inner, node.tail];
  });
}

/** The outermost regions of a file, in order, with nested regions flattened after their parent. */
export function listRegions(file: string, text: string): Region[] {
  const out: Region[] = [];
  const walk = (nodes: Node[]) => {
    for (const node of nodes) {
      if (node.kind !== 'region') continue;
      out.push({ milestone: node.milestone, task: node.task, line: node.line, body: render(node.body, new Set()).join('\n'), stub: node.stub.join('\n') });
      walk(node.body);
    }
  };
  walk(parse(file, text));
  return out;
}

/**
 * Regions as they stand in a generated tree (no #stub sections): what the learner wrote
 * between the markers. Used by review and reset.
 */
export function readTreeRegions(file: string, text: string): Array<{ milestone: number; task: string; start: number; end: number; body: string }> {
  const lines = text.split('\n');
  const out: Array<{ milestone: number; task: string; start: number; end: number; body: string }> = [];
  const stack: Array<{ milestone: number; task: string; start: number }> = [];
  lines.forEach((line, index) => {
    const mark = MARK.exec(line);
    if (!mark) return;
    if (mark[3] === 'region') {
      const head = REGION_HEAD.exec(mark[4] ?? '');
      if (!head) throw new RegionSyntaxError(file, index + 1, `a #region marker was changed: "${line.trim()}"`);
      stack.push({ milestone: Number(head[1]), task: head[2]!.trim(), start: index });
    } else if (mark[3] === 'endregion') {
      const open = stack.pop();
      if (!open) throw new RegionSyntaxError(file, index + 1, 'an #endregion marker has no #region above it (was one deleted?)');
      out.push({ ...open, end: index, body: lines.slice(open.start + 1, index).join('\n') });
    }
  });
  if (stack.length > 0) throw new RegionSyntaxError(file, stack[0]!.start + 1, 'a #region marker has no #endregion below it (was one deleted?)');
  return out.sort((a, b) => a.start - b.start);
}

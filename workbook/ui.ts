// Terminal output for people: colour only on a TTY (and never with NO_COLOR).
import { loadWorkbookSettings } from '../runtime/config.ts';
import { milestones } from '../milestones/manifest.ts';

const color = process.stdout.isTTY && !loadWorkbookSettings().noColor;
const paint = (code: number) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
export const green = paint(32);
export const red = paint(31);
export const yellow = paint(33);
export const dim = paint(2);
export const bold = paint(1);

export const say = (text = '') => process.stdout.write(`${text}\n`);

export function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

export type MilestoneState = { state: 'passed' } | { state: 'failing'; failed: number } | { state: 'not run' } | { state: 'not written' };

/** "Progress: ✓ 1 Foundation  ✗ 2 … (3 failing)  · 3 …" — one line for every milestone of the manifest. */
export function progressLine(states: Map<number, MilestoneState>): string {
  const parts = milestones.map((m) => {
    const s = states.get(m.n) ?? { state: 'not run' };
    switch (s.state) {
      case 'passed':
        return green(`✓ ${m.n}`);
      case 'failing':
        return red(`✗ ${m.n} (${s.failed} failing)`);
      case 'not written':
        return dim(`· ${m.n} (coming)`);
      default:
        return `· ${m.n}`;
    }
  });
  const done = [...states.values()].filter((s) => s.state === 'passed').length;
  return `${bold('Progress')} ${done}/${milestones.length}  ${parts.join('  ')}`;
}

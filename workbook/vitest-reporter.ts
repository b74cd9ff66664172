// A vitest reporter for the workbook CLI: one JSON file with each test's outcome and, for a
// failure, its message plus the expected/received diff (vitest's JSON reporter drops the diff).
import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';
import { loadWorkbookSettings } from '../runtime/config.ts';

export interface ReportedModule {
  file: string;
  errors: string[];
  tests: Array<{ name: string; state: string; message: string }>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is the very character an ANSI colour code starts with.
const ANSI = /\x1b\[[0-9;]*m/g;

function describeError(error: { message?: string; diff?: string; name?: string } | undefined): string {
  if (!error) return 'failed';
  const head = `${error.name && !error.message?.startsWith(error.name) ? `${error.name}: ` : ''}${error.message ?? ''}`;
  return (error.diff ? `${head}\n\n${error.diff}` : head).replace(ANSI, '');
}

export default class WorkbookReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<{ message?: string }>): void {
    const file = loadWorkbookSettings().resultsFile;
    if (!file) return;
    const report: { modules: ReportedModule[]; unhandled: string[] } = {
      modules: modules.map((m) => ({
        file: m.moduleId,
        errors: m.errors().map((e) => describeError(e)),
        tests: [...m.children.allTests()].map((t) => {
          const result = t.result();
          return { name: t.fullName.replaceAll(' > ', ' › '), state: result.state, message: result.state === 'failed' ? describeError(result.errors[0]) : '' };
        }),
      })),
      unhandled: unhandled.map((e) => describeError(e)),
    };
    writeFileSync(file, JSON.stringify(report));
  }
}

// runtime/process-events.ts: tests watch what a process did through typed events, so the human
// message of a log line can be reworded without breaking a test.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { eventsIn, isEvent, logEvent } from './process-events.ts';
import { repoRoot } from '../workbook/trees.ts';

// A comparison of a log line's message: `l.msg === '…'`, `.msg.startsWith(…)`, `map((l) => l.msg)).toContain(…)`.
const MATCHES_LOG_TEXT = /\bmsg\s*(?:===|!==|==|!=)\s*['"`]|\bmsg\.(?:startsWith|endsWith|includes|match)\(|\.msg\)\)\.toContain\(/;

// The one place left: milestone 1's learner writes the `request` line in their own region
// (http/server.ts), and the lesson names its message; the message is the exercise's contract.
const ALLOWED = new Set(['milestones/01-foundation/service.test.ts']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'gen' ? [] : tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function capturingLogger() {
  const lines: object[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as object);
      done();
    },
  });
  return { log: createLogger({ name: 'process-events-test', level: 'debug', destination }), lines };
}

describe('process events', () => {
  it('are found by their name and fields whatever the message says', () => {
    const { log, lines } = capturingLogger();
    logEvent(log, 'info', { event: 'consuming', queue: 'q1', prefetch: 20 }, 'consuming');
    logEvent(log, 'info', { event: 'consuming', queue: 'q2', prefetch: 20 }, 'the consumer is receiving messages again (reworded)');
    log.info({ queue: 'q3' }, 'consuming'); // the old text without the event is not the event
    expect(eventsIn(lines, 'consuming').map((e) => e.queue)).toEqual(['q1', 'q2']);
    expect(eventsIn(lines, 'consuming', (e) => e.queue === 'q2')).toHaveLength(1);
    expect(lines.filter((l) => isEvent(l, 'listening'))).toEqual([]);
  });

  it('are what tests and scenarios watch: none of them matches the text of a log line', () => {
    const offenders = [...tsFiles(join(repoRoot, 'milestones')), ...['runtime', 'testkit', 'workbook'].flatMap((dir) => tsFiles(join(repoRoot, dir)))]
      .map((path) => relative(repoRoot, path))
      .filter((path) => !ALLOWED.has(path) && path !== 'runtime/process-events.test.ts')
      .flatMap((path) =>
        readFileSync(join(repoRoot, path), 'utf8')
          .split('\n')
          .flatMap((line, i) =>
            MATCHES_LOG_TEXT.test(line) && !/^\s*(\/\/|\*|\/\*\*)/.test(line) && !/'TestTimeoutError|toContain\("It was still waiting/.test(line)
              ? [`${path}:${i + 1}: ${line.trim().slice(0, 120)}`]
              : [],
          ),
      );
    expect(offenders, 'match an event (service.waitForEvent, service.events, isEvent from runtime/process-events.ts), not the message of a log line').toEqual(
      [],
    );
  });
});

import { errorFields, type Logger } from './logger.ts';
import { logEvent } from './process-events.ts';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * On SIGTERM or SIGINT, runs the steps in order, once, and exits 0 when all finished within
 * the grace period, 1 otherwise (so an orchestrator's kill after its own grace period is
 * never the normal way out). A second signal while shutting down exits at once.
 */
export function onShutdown(deps: { log: Logger; graceMs: number; steps: () => ShutdownStep[]; exit?: (code: number) => void }): () => Promise<number> {
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  let started: Promise<number> | undefined;

  const shutdown = (signal: string) => {
    if (started) {
      deps.log.warn({ signal }, 'second signal during shutdown; exiting now');
      exit(1);
      return started;
    }
    started = run(signal).then((code) => {
      exit(code);
      return code;
    });
    return started;
  };

  const run = async (signal: string): Promise<number> => {
    deps.log.info({ signal, graceMs: deps.graceMs }, 'shutting down');
    const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, deps.graceMs, 'timeout').unref());
    const steps = (async () => {
      for (const step of deps.steps()) {
        try {
          await step.run();
          deps.log.info({ step: step.name }, 'shutdown step done');
        } catch (err) {
          deps.log.error({ step: step.name, ...errorFields(err) }, 'shutdown step failed');
          return 'failed' as const;
        }
      }
      return 'done' as const;
    })();
    const outcome = await Promise.race([steps, deadline]);
    if (outcome === 'done') {
      logEvent(deps.log, 'info', { event: 'shut-down-cleanly' }, 'shut down cleanly');
      return 0;
    }
    deps.log.error({ outcome }, outcome === 'timeout' ? 'shutdown did not finish within the grace period' : 'shutdown failed');
    return 1;
  };

  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  return () => shutdown('manual');
}

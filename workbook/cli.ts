// The workbook CLI: npm run milestone:N | hint | reset | review | chaos | doctor | check | generate | migrate | events | dlq | token | demo.
import { ConfigError, MINIMUM_NODE, nodeIsSupported } from '../runtime/config.ts';
import { milestone, milestones } from '../milestones/manifest.ts';
import { RegionSyntaxError } from './regions.ts';
import { LearnerError } from './prepare.ts';
import { bold, red, say, yellow } from './ui.ts';
import { coerceError } from '../runtime/coerce-error.ts';

// Each command's module is imported when it runs, not before: importing every command (the
// containers' client, esbuild, the chart renderer…) cost each start about three seconds of CPU,
// which a learner's `npm run milestone:N` paid on every run for code it never used.

const USAGE = `Usage:
  npm run milestone:N [-- --solution] [-- --watch] [-- --force] [-- --all] [-- --json]   (--all: every failure, one line each)
  npm run hint -- N [file] [--more | --code]   the concept and the file; --more the approach; --code the code
  npm run answers -- N [question] [--anyway|--run]   the failure inquiry's answers, each once you ran what shows it
  npm run review -- N [--whitespace]           your milestone-N code beside the reference, as a diff (whitespace-only differences hidden unless asked)
  npm run reset -- N         put milestone N's stubs back (asks first; --yes to skip)
  npm run chaos -- N [name]  list or run milestone N's failure scenarios (-- --solution for the reference)
  npm run events             print every event on the exchange, decoded (a throwaway consumer)
  npm run dlq -- list | replay [--id ID] [--consumer NAME]  the consumers' dead-letter queues: look, and replay once fixed
  npm run bench -- [name|all] list or run benchmarks (-- --solution for the reference, -- --smoke for a small end-to-end run)
  npm run fuzz -- [--runs N] [--seed S]  milestone 6's fuzz test, N generated requests (-- --solution for the reference)
  npm run doctor [-- --json] Node, infrastructure and services, with fixes
  npm run test:containers    (maintainers) the milestone tests with services from Testcontainers only
  npm test                   every check but chaos; npm run test:chaos the scenarios; npm run check -- <typecheck|lint|sync|manifest|contracts|samples|infra|green|progress|teeth|chaos> [--json]
  npm run generate           (maintainers) write exercises/ from solutions/, and .env.example's variables from runtime/config.ts
  npm run migrate [-- down] [-- --to NAME | --count N] [-- --all] [-- --fresh] [-- --solution]  apply your migrations to DATABASE_URL, up to the milestone you are on (--all: every one; --fresh: drop the database first)
  npm run backfill [-- --from-start]         fill bids.bidder_id batch by batch, resumable (milestone 5)
  npm run seed [-- --bids N] [-- --items N]  load realistic items and bids into DATABASE_URL with COPY (default 1,000,000 bids)
  npm run token -- <user> [--ttl SECONDS]  a short-lived dev token for a demo user (milestone 6), for authorization: Bearer <token>
  npm run restore-drill [-- --dump FILE | --backups DIR]  restore a backup (or a fresh pg_dump) into a scratch database and check it against DATABASE_URL
  npm run demo [-- --bidders N] [-- --mine] [-- --port 8443]  the whole system and the live auction page on https://localhost:8443 (Ctrl-C stops it)`;

function parseMilestone(raw: string | undefined, command: string): number {
  const n = Number(raw);
  if (!raw || !Number.isInteger(n) || !milestone(n)) {
    throw new LearnerError(
      `"${command}" needs a milestone number from ${milestones[0]!.n} to ${milestones.at(-1)!.n}${raw ? `, got "${raw}"` : ''}.`,
      `npm run ${command} -- 1`,
    );
  }
  return n;
}

async function main(argv: string[]): Promise<number> {
  if (!nodeIsSupported(process.versions.node)) {
    // Only reached when the CLI is started directly: every npm script runs through
    // scripts/with-node.mjs, which brings Node 24 from the npm registry when this one is older.
    throw new LearnerError(
      `Node ${process.versions.node} is too old: the workbook needs Node ${MINIMUM_NODE} or newer (24 LTS recommended).`,
      'run the command through npm (npm run milestone:1, npm run doctor, …): it fetches Node 24 from the npm registry into .workbook/node by itself',
    );
  }
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const [command, ...args] = argv.filter((a) => !a.startsWith('--'));
  const json = flags.has('--json');
  switch (command) {
    case 'milestone':
      return (await import('./commands/milestone.ts')).milestoneCommand({
        n: parseMilestone(args[0], 'milestone'),
        solution: flags.has('--solution'),
        json,
        force: flags.has('--force'),
        watch: flags.has('--watch'),
        all: flags.has('--all'),
      });
    case 'hint':
      return (await import('./commands/hint.ts')).hintCommand(milestone(parseMilestone(args[0], 'hint'))!, {
        ...(args[1] ? { file: args[1] } : {}),
        level: flags.has('--code') ? 'code' : flags.has('--more') ? 'approach' : 'concept',
      });
    case 'answers':
      return (await import('./commands/answers.ts')).answersCommand(milestone(parseMilestone(args[0], 'answers'))!, args.slice(1).join(' ') || undefined, {
        anyway: flags.has('--anyway'),
        run: flags.has('--run'),
      });
    case 'review':
      return (await import('./commands/review.ts')).reviewCommand(parseMilestone(args[0], 'review'), { whitespace: flags.has('--whitespace') });
    case 'reset':
      return (await import('./commands/review.ts')).resetCommand(parseMilestone(args[0], 'reset'), { yes: flags.has('--yes') });
    case 'chaos':
      return (await import('./commands/chaos.ts')).chaosCommand(parseMilestone(args[0], 'chaos'), args[1], { solution: flags.has('--solution') });
    case 'containers':
      return (await import('./commands/containers.ts')).containersCommand({ json });
    case 'events':
      return (await import('./commands/events.ts')).eventsCommand();
    case 'dlq':
      return (await import('./commands/dlq.ts')).dlqCommand(argv.slice(argv.indexOf('dlq') + 1));
    case 'bench':
      return (await import('./commands/bench.ts')).benchCommand(args[0], { solution: flags.has('--solution'), smoke: flags.has('--smoke') });
    case 'doctor':
      return (await import('./commands/doctor.ts')).doctorCommand({ json });
    case 'fuzz':
      return (await import('./commands/fuzz.ts')).fuzzCommand(argv, { solution: flags.has('--solution') });
    case 'check':
      return (await import('./commands/check.ts')).checkCommand(args[0] ?? 'all', { json });
    case 'generate': {
      const { written, removed } = await (await import('./commands/generate.ts')).generateExercises();
      say(`exercises/ generated from solutions/: ${written} files written, ${removed} removed.`);
      say(
        (await import('./env-example.ts')).writeEnvExample()
          ? '.env.example: its list of variables rewritten from runtime/config.ts.'
          : '.env.example: its list of variables already matches runtime/config.ts.',
      );
      return 0;
    }
    case 'seed':
      return (await import('./commands/seed.ts')).seedCommand(argv);
    case 'token':
      return (await import('./commands/token.ts')).tokenCommand(argv);
    case 'restore-drill':
      return (await import('./commands/restore-drill.ts')).restoreDrillCommand(argv);
    case 'demo':
      return (await import('./commands/demo.ts')).demoCommand(argv);
    case 'migrate':
      return (await import('./commands/migrate.ts')).migrateCommand(argv, flags);
    default:
      say(command ? `${red(`Unknown command "${command}".`)}\n\n${USAGE}` : USAGE);
      return command ? 2 : 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Learner-facing: what happened and what to do next; the stack only for workbook bugs.
    if (err instanceof LearnerError) say(`${red(err.what)}\nNext: ${bold(err.next)}`);
    else if (err instanceof ConfigError) say(`${red(err.message)}\nNext: fix it in your environment or .env, then run the command again.`);
    else if (err instanceof RegionSyntaxError)
      say(`${red(`A region marker is broken: ${err.message}`)}\nNext: restore the "// #region …" and "// #endregion" lines (git diff shows what changed).`);
    else
      say(
        `${red(`The workbook failed unexpectedly: ${coerceError(err).message}`)}\n${yellow('This is probably a bug in the workbook; the details:')}\n${coerceError(err).stack ?? ''}\nNext: ${bold('npm run doctor')}, and report it if the services are fine.`,
      );
    process.exit(1);
  },
);

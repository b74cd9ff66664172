// Preloaded (--import) into every bundled service process a test, scenario or benchmark starts:
// it exits with the process that started it, and its stack traces name the .ts files.
import './exit-with-parent.ts';
import { mapStacksOf } from './mapped-stacks.ts';

// The process's main module, the bundle: argv[1] is resolved before a preload runs.
if (process.argv[1]) mapStacksOf(process.argv[1]);

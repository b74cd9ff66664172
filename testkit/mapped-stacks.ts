// Stack traces of a bundled service process, mapped back to the .ts files they came from, at
// the cost of a stack only when one is read. Node's own --enable-source-maps parses the bundle's
// map and measures every line of the 3 MB bundle as each process starts, and for every stack it
// formats reads the first frame's source file from disk to print the line with a caret. A
// milestone-6 run starts some twenty services and formats many stacks (each logged error, each
// logger pino makes); it took 23-25 s with --enable-source-maps and 20-21 s without.
//
// Here the map is read and parsed the first time a stack is formatted, and each frame of the
// bundle is replaced by its place in the .ts file; frames of Node itself and of the packages
// (whose sources ownFilesOnly drops from the map) stay where they are.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The bundle's map, parsed on first use; null when it cannot be read (the frames stay as they are). */
function lazyMap(bundleUrl: string): () => SourceMap | null {
  let map: SourceMap | null | undefined;
  return () => {
    if (map !== undefined) return map;
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(bundleUrl)}.map`, 'utf8')));
    } catch {
      map = null;
    }
    return map;
  };
}

/** "at fn (file:line:col)" for one frame, with the frame's place in the source when the map knows it. */
function frameText(site: NodeJS.CallSite, bundleUrl: string, map: () => SourceMap | null): string {
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (file !== bundleUrl || line === null || column === null) return `    at ${site.toString()}`;
  const entry = map()?.findEntry(line - 1, column - 1);
  if (!entry || !('originalSource' in entry)) return `    at ${site.toString()}`;
  const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : fileURLToPath(new URL(entry.originalSource, bundleUrl));
  const where = `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  const name = site.getFunctionName() ?? site.getMethodName();
  const prefix = site.isAsync() ? 'async ' : site.isConstructor() ? 'new ' : '';
  return name ? `    at ${prefix}${name} (${where})` : `    at ${prefix}${where}`;
}

/** Installs the mapping for the process's main module, the bundle `bundlePath`. */
export function mapStacksOf(bundlePath: string): void {
  const bundleUrl = pathToFileURL(bundlePath).href;
  const map = lazyMap(bundleUrl);
  Error.prepareStackTrace = (error: Error, sites: NodeJS.CallSite[]) => {
    // What V8 prints first: the error's own toString (name and message), then one line a frame.
    let head: string;
    try {
      head = Error.prototype.toString.call(error);
    } catch {
      head = 'Error';
    }
    return [head, ...sites.map((site) => frameText(site, bundleUrl, map))].join('\n');
  };
}

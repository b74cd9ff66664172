// A real browser for the page's tests: Debian's Chromium (`apt-get install chromium`), driven
// by playwright-core, which downloads no browser of its own. Headless, and kept off the
// network: every host name but localhost resolves to nothing, and the background services a
// browser calls home with (updates, sync, safe browsing, metrics) are off.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's package puts it (and other distributions' names for it). */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export class BrowserMissing extends Error {
  override name = 'BrowserMissing';
}

export function chromiumPath(): string | undefined {
  return CANDIDATES.find((path) => existsSync(path));
}

export const OFFLINE_FLAGS = [
  // Only localhost resolves: nothing the page or the browser tries can leave the machine.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost',
  '--no-proxy-server',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-client-side-phishing-detection',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--disable-sync',
  '--metrics-recording-only',
  '--no-first-run',
  '--no-default-browser-check',
  '--no-pings',
  // Root in a container (CI) has no user namespaces for Chromium's sandbox.
  '--no-sandbox',
  // /dev/shm is small in containers; Chromium then crashes tabs under load.
  '--disable-dev-shm-usage',
];

export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    throw new BrowserMissing(
      `Chromium is not installed (looked for ${CANDIDATES.join(', ')}), and the page's tests run in a real browser. ` +
        'Install it: apt-get install chromium (Debian, Ubuntu); .ci/run installs it when it is missing. Then run npm run test:web again.',
    );
  }
  return chromium.launch({ executablePath, headless: true, args: OFFLINE_FLAGS });
}

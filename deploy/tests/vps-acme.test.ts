// deploy/vps/Caddyfile gets its certificate over ACME and serves the API with it. The ACME CA is
// pebble (Let's Encrypt's test server, Debian package `pebble`) on free ports with
// PEBBLE_VA_ALWAYS_VALID=1, so no challenge has to reach this machine from outside; Caddy runs
// the shipped Caddyfile with only the CA's directory and root added; the client resolves
// auction.test to 127.0.0.1 itself (no /etc/hosts). Nothing on the machine changes.
import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../workbook/trees.ts';
import { freePort, installed, startBinary, type BinaryProcess } from '../../testkit/binary-process.ts';

const DOMAIN = 'auction.test';
const vpsCaddyfile = join(repoRoot, 'deploy', 'vps', 'Caddyfile');
const missing = ['pebble', 'caddy', 'openssl'].filter((b) => !installed(b));
const title = missing.length
  ? `SKIPPED: ${missing.join(', ')} not installed. Install with apt-get install -y ${missing.join(' ')} (.ci/run does), then run the infra check again`
  : 'deploy/vps/Caddyfile obtains a certificate over ACME and serves /api over it';

/** The shipped Caddyfile with the test CA added after its acme_ca line; refuses a file without one. */
export function withAcmeRoot(caddyfile: string, caRootPath: string): string {
  const acmeCa = /^(\s*)acme_ca \{\$ACME_CA:[^}]+\}\s*$/m;
  if (!acmeCa.test(caddyfile))
    throw new Error('deploy/vps/Caddyfile has no `acme_ca {$ACME_CA:…}` line in its global options: the ACME test points Caddy at its CA through it.');
  return caddyfile.replace(acmeCa, (line, indent: string) => `${line}\n${indent}acme_ca_root ${caRootPath}`);
}

/** Resolves every name to 127.0.0.1: the client's own "DNS" for auction.test. */
const toLoopback: net.LookupFunction = (_host, options, callback) => {
  if ((options as { all?: boolean }).all)
    (callback as unknown as (err: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

describe.skipIf(missing.length > 0)(title, () => {
  let dir: string;
  let pebble: BinaryProcess;
  let caddy: BinaryProcess;
  let upstream: http2.Http2Server;
  let pebbleRoot: string;
  let ports: { http: number; https: number };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wb-acme-'));
    // pebble serves its ACME API over HTTPS only; Debian's package ships no test certificate,
    // so the test makes a CA and a certificate for 127.0.0.1 (Caddy trusts the CA: acme_ca_root).
    const openssl = (args: string[]) => promisify(execFile)('openssl', args, { cwd: dir });
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=workbook test ACME CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'pebble.key', '-out', 'pebble.csr']);
    await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await openssl([
      'x509',
      '-req',
      '-in',
      'pebble.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'pebble.pem',
    ]);
    const ca = await readFile(join(dir, 'ca.pem'), 'utf8');

    const [acmePort, managementPort, challengeHttp, challengeTls] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    await writeFile(
      join(dir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: join(dir, 'pebble.pem'),
          privateKey: join(dir, 'pebble.key'),
          httpPort: challengeHttp,
          tlsPort: challengeTls,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    const directory = `https://127.0.0.1:${acmePort}/dir`;
    pebble = await startBinary({
      command: 'pebble',
      args: ['-config', join(dir, 'pebble.json'), '-strict', 'false'],
      // Every authorization is valid without a challenge being fetched; no sleeps; no nonce
      // rejected on purpose (the default 5 % only slows the test down).
      env: { PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '100' },
      ready: () => get(directory, { ca }).then((r) => r.status === 200),
    });
    pebbleRoot = (await get(`https://127.0.0.1:${managementPort}/roots/0`, { ca })).body;

    upstream = http2.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url, httpVersion: req.httpVersion }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));

    ports = { http: await freePort(), https: await freePort() };
    await writeFile(join(dir, 'Caddyfile'), withAcmeRoot(await readFile(vpsCaddyfile, 'utf8'), join(dir, 'ca.pem')));
    await mkdir(join(dir, 'data'));
    await mkdir(join(dir, 'config'));
    caddy = await startBinary({
      command: 'caddy',
      args: ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'],
      cwd: dir,
      env: {
        DOMAIN,
        ACME_EMAIL: 'ops@auction.test',
        ACME_CA: directory,
        HTTP_PORT: String(ports.http),
        HTTPS_PORT: String(ports.https),
        API_UPSTREAMS: `127.0.0.1:${(upstream.address() as net.AddressInfo).port}`,
        XDG_DATA_HOME: join(dir, 'data'),
        XDG_CONFIG_HOME: join(dir, 'config'),
        HOME: dir,
      },
      // Ready once it serves auction.test with a certificate that chains to pebble's root.
      ready: () => get(`https://${DOMAIN}:${ports.https}/api/ready`, { ca: pebbleRoot }).then((r) => r.status === 200),
      timeoutMs: 30_000,
    });
  }, 60_000);

  afterAll(async () => {
    await caddy?.stop();
    await pebble?.stop();
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves /api over a certificate for the domain issued by the ACME CA, with HSTS', async () => {
    const answer = await get(`https://${DOMAIN}:${ports.https}/api/auction.api.v1.AuctionService/GetItem`, { ca: pebbleRoot });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ path: '/api/auction.api.v1.AuctionService/GetItem', httpVersion: '2.0' });
    expect(answer.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(answer.certificate.subjectaltname).toBe(`DNS:${DOMAIN}`);
    // Issued by pebble's intermediate, not by a Caddy-internal CA.
    expect(answer.certificate.issuer.CN).toMatch(/^Pebble Intermediate CA/);
    expect(caddy.output()).toMatch(/certificate obtained successfully/);
  });

  it('answers anything but /api itself, and redirects HTTP to HTTPS', async () => {
    const other = await get(`https://${DOMAIN}:${ports.https}/admin`, { ca: pebbleRoot });
    expect(other.status).toBe(404);
    const plain = await get(`http://${DOMAIN}:${ports.http}/api/x?y=1`, {});
    expect(plain.status).toBe(308);
    // To the standard port, where the VPS serves HTTPS (this test's HTTPS_PORT is only a stand-in).
    expect(plain.headers.location).toBe(`https://${DOMAIN}/api/x?y=1`);
  });

  it('refuses a Caddyfile the test could not point at its CA', () => {
    expect(() => withAcmeRoot('{\n\temail x@y.z\n}\n', '/ca.pem')).toThrow(/no `acme_ca/);
  });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  certificate: tls.PeerCertificate;
}

/** A GET over HTTP/1.1 that resolves every name to 127.0.0.1 and trusts only `ca` for HTTPS. */
function get(url: string, options: { ca?: string }): Promise<Answer> {
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(
      url,
      { lookup: toLoopback, ca: options.ca, servername: u.hostname === '127.0.0.1' ? undefined : u.hostname, agent: false, timeout: 5_000 },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            certificate: (res.socket as tls.TLSSocket).getPeerCertificate?.() ?? ({} as tls.PeerCertificate),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

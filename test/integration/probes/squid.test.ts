// The http_proxy probe through a real squid (started once for this file) in front of an in-process origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ProbeRegistry } from '../../../probes/registry.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import { silentLogger } from '../../../src/log.js';
import { startSquid, type Squid } from '../../../lab/squid.js';
import { missingPrerequisites, requirePrerequisites } from '../../support/prereq.js';

const prerequisites = { commands: ['squid'] } as const;
const registry = new ProbeRegistry();
let squid: Squid | undefined;
let origin: http.Server;
let originPort = 0;
const originSaw: { url: string; via: string | undefined }[] = [];

before(async () => {
  origin = http.createServer((req, res) => {
    originSaw.push({ url: req.url ?? '', via: req.headers.via });
    if (req.url === '/broken') res.writeHead(500).end('origin is broken');
    else res.end('origin ok\n');
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originPort = (origin.address() as AddressInfo).port;
  if (missingPrerequisites(prerequisites).length === 0) squid = await startSquid({ allowDestinations: ['127.0.0.1'] });
});

after(async () => {
  await squid?.stop();
  origin.closeAllConnections();
  await new Promise((resolve) => origin.close(resolve));
});

// Goes through the alias, validated like config does.
async function viaSquid(raw: Record<string, unknown>) {
  const definition = registry.get('squid')!;
  const options = definition.options.parse({ proxy: '127.0.0.1', port: squid!.port, ...raw });
  return runProbe({ definition, options, timeoutMs: 3000, log: silentLogger(), service: { name: 'proxy', addresses: ['192.0.2.80'] } });
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('a page fetched through squid is healthy, with a Via header, and squid really forwarded it', async (t) => {
  if (!requirePrerequisites(t, prerequisites)) return;
  const url = `http://127.0.0.1:${originPort}/health?probe=1`;
  const result = await viaSquid({ url, expect_via: true, expect_body: 'origin ok' });
  assert.equal(result.ok, true, result.reason);
  const seen = originSaw.at(-1);
  assert.equal(seen?.url, '/health?probe=1', 'squid turned the absolute-form target into a path for the origin');
  assert.match(seen?.via ?? '', /squid/);
  // squid logs the URL without its query (strip_query_terms).
  assert.match(squid!.accessLog(), new RegExp(`TCP_MISS/200 .* GET http://127\\.0\\.0\\.1:${originPort}/health`));
});

test('an origin that is down makes squid answer 503, a failure', async (t) => {
  if (!requirePrerequisites(t, prerequisites)) return;
  const result = await viaSquid({ url: `http://127.0.0.1:${await closedPort()}/` });
  assert.equal(result.ok, false);
  assert.equal(result.reason, 'status 503, expected 200-399 (X-Squid-Error: ERR_CONNECT_FAIL 111)');
});

test('a destination the ACL forbids gets 403, a failure', async (t) => {
  if (!requirePrerequisites(t, prerequisites)) return;
  const before = originSaw.length;
  const result = await viaSquid({ url: `http://127.0.0.2:${originPort}/health` });
  assert.equal(result.ok, false);
  assert.match(result.reason ?? '', /^status 403, expected 200-399 \(X-Squid-Error: ERR_ACCESS_DENIED/);
  assert.equal(originSaw.length, before, 'the origin never saw the forbidden request');
});

test("the origin's own error status passes through squid and is judged by expect_status", async (t) => {
  if (!requirePrerequisites(t, prerequisites)) return;
  const url = `http://127.0.0.1:${originPort}/broken`;
  assert.equal((await viaSquid({ url })).reason, 'status 500, expected 200-399');
  assert.equal((await viaSquid({ url, expect_status: [500], expect_body: 'broken' })).ok, true);
});

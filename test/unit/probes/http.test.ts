// The http probe against in-process node:http servers on port 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import httpProbe from '../../../probes/http.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import { silentLogger } from '../../../src/log.js';
import { watchLoop } from '../../support/loop-lateness.js';

interface Seen {
  method?: string;
  host?: string;
  remote?: string;
  headers?: http.IncomingHttpHeaders;
}

let server: http.Server;
let base = '';
let seen: Seen = {};
const trickles = new Set<NodeJS.Timeout>();

before(async () => {
  server = http.createServer((req, res) => {
    seen = { method: req.method, host: req.headers.host, remote: req.socket.remoteAddress, headers: req.headers };
    const path = req.url ?? '/';
    if (path === '/ok') res.end('all ok here\n');
    else if (path === '/down') res.writeHead(503).end('nope');
    else if (path === '/redirect') res.writeHead(302, { location: '/ok' }).end();
    else if (path === '/big') res.end(`${'a'.repeat(1024 * 1024)}needle`);
    else if (path === '/trickle') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      const timer = setInterval(() => res.write('x'), 1000);
      trickles.add(timer);
      res.on('close', () => {
        clearInterval(timer);
        trickles.delete(timer);
      });
    } else res.writeHead(404).end('no such page');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const timer of trickles) clearInterval(timer);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

// Validates options the way config does, then runs through the real runner.
async function probe(raw: Record<string, unknown>, timeoutMs = 2000, signal?: AbortSignal) {
  const options = httpProbe.options.parse(raw);
  return runProbe({
    definition: httpProbe,
    options,
    timeoutMs,
    log: silentLogger(),
    service: { name: 'web', addresses: ['192.0.2.1'] },
    ...(signal ? { signal } : {}),
  });
}

function optionError(raw: Record<string, unknown>): string {
  const parsed = httpProbe.options.safeParse(raw);
  assert.equal(parsed.success, false, `expected ${JSON.stringify(raw)} to be rejected`);
  return parsed.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}

async function closedPort(): Promise<number> {
  const probeServer = net.createServer();
  await new Promise<void>((resolve) => probeServer.listen(0, '127.0.0.1', resolve));
  const { port } = probeServer.address() as AddressInfo;
  await new Promise((resolve) => probeServer.close(resolve));
  return port;
}

test('a 200 answer is healthy and the request uses GET with our user agent', async () => {
  const result = await probe({ url: `${base}/ok` });
  assert.equal(result.ok, true, result.reason);
  assert.equal(seen.method, 'GET');
  assert.equal(seen.headers?.['user-agent'], 'healthcast-probe');
  assert.equal(seen.headers?.connection, 'close');
});

test('an unexpected status fails with the status and the expected ranges', async () => {
  assert.deepEqual(await probe({ url: `${base}/down` }).then((r) => [r.ok, r.reason]), [false, 'status 503, expected 200-399']);
  assert.equal((await probe({ url: `${base}/down`, expect_status: 503 })).ok, true);
  const redirect = await probe({ url: `${base}/redirect`, expect_status: ['200-299', 204] });
  assert.equal(redirect.reason, 'status 302, expected 200-299, 204');
  assert.equal((await probe({ url: `${base}/redirect`, expect_status: ['300-399'] })).ok, true);
  assert.equal((await probe({ url: `${base}/nothing` })).reason, 'status 404, expected 200-399');
});

test('expect_body matches a substring; a mismatch names it', async () => {
  assert.equal((await probe({ url: `${base}/ok`, expect_body: 'ok here' })).ok, true);
  const miss = await probe({ url: `${base}/ok`, expect_body: 'healthy' });
  assert.equal(miss.ok, false);
  assert.equal(miss.reason, 'body does not contain "healthy"');
});

test('expect_body_regex matches the body; a bad pattern is a config error', async () => {
  assert.equal((await probe({ url: `${base}/ok`, expect_body_regex: '^all \\w+ here$' })).ok, false, 'no multiline flag: $ is the end of the body');
  assert.equal((await probe({ url: `${base}/ok`, expect_body_regex: '^all \\w+ here\\n$' })).ok, true);
  const miss = await probe({ url: `${base}/ok`, expect_body_regex: '^nope' });
  assert.equal(miss.reason, 'body does not match /^nope/');
  assert.match(optionError({ url: `${base}/ok`, expect_body_regex: '(' }), /expect_body_regex: not a valid regular expression/);
});

test('the body is read only up to max_body_bytes', async () => {
  const capped = await probe({ url: `${base}/big`, expect_body: 'needle', max_body_bytes: 1024 });
  assert.equal(capped.ok, false);
  assert.equal(capped.reason, 'body does not contain "needle" (read only the first 1024 bytes, max_body_bytes)');
  assert.equal((await probe({ url: `${base}/big`, expect_body: 'needle' })).ok, false, 'the 64 KiB default stops before the end');
  assert.equal((await probe({ url: `${base}/big`, expect_body: 'needle', max_body_bytes: 2 * 1024 * 1024 })).ok, true);
});

test('HEAD sends HEAD and judges the status; it cannot expect a body', async () => {
  assert.equal((await probe({ url: `${base}/ok`, method: 'HEAD' })).ok, true);
  assert.equal(seen.method, 'HEAD');
  assert.equal((await probe({ url: `${base}/down`, method: 'HEAD' })).reason, 'status 503, expected 200-399');
  assert.match(optionError({ url: `${base}/ok`, method: 'HEAD', expect_body: 'x' }), /method: a HEAD response has no body/);
});

test('host_header and headers reach the server; by default Host is the URL authority', async () => {
  await probe({ url: `${base}/ok` });
  assert.equal(seen.host, new URL(base).host);
  const result = await probe({ url: `${base}/ok`, host_header: 'www.example.test', headers: { 'X-Check': 'yes', 'User-Agent': 'mine' } });
  assert.equal(result.ok, true, result.reason);
  assert.equal(seen.host, 'www.example.test');
  assert.equal(seen.headers?.['x-check'], 'yes');
  assert.equal(seen.headers?.['user-agent'], 'mine');
  assert.match(optionError({ url: `${base}/ok`, headers: { Host: 'x' } }), /use host_header/);
  assert.match(optionError({ url: `${base}/ok`, headers: { 'X-Evil': 'a\r\nInjected: 1' } }), /single line/);
  assert.match(optionError({ url: `${base}/ok`, headers: { 'Bad Name': 'a' } }), /HTTP header name/);
});

test('source picks the local address the server sees', async () => {
  const result = await probe({ url: `${base}/ok`, source: '127.0.0.2' });
  assert.equal(result.ok, true, result.reason);
  assert.equal(seen.remote, '127.0.0.2');
});

test('a refused connection fails with ECONNREFUSED', async () => {
  const port = await closedPort();
  const result = await probe({ url: `http://127.0.0.1:${port}/` });
  assert.equal(result.ok, false);
  assert.match(result.reason ?? '', new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
});

test('a server trickling one byte per second is bounded by the timeout, and the reason says where it stuck', async () => {
  const started = performance.now();
  const loop = watchLoop();
  const result = await probe({ url: `${base}/trickle`, expect_body: 'never' }, 300);
  const elapsed = performance.now() - started;
  const lateMs = loop.stop();
  assert.equal(result.ok, false);
  assert.match(result.reason ?? '', /^timed out after 300ms after receiving headers \(status 200, \d+ bytes of body\)$/);
  assert.ok(elapsed >= 290 && elapsed < 900 + lateMs, `took ${elapsed}ms (event loop late by up to ${lateMs}ms)`);
  // Without a body expectation the probe stops at the headers and does not wait for the trickle.
  assert.equal((await probe({ url: `${base}/trickle` }, 300)).ok, true);
});

test('a server that accepts and never answers times out waiting for headers', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = silent.address() as AddressInfo;
    const result = await probe({ url: `http://127.0.0.1:${port}/` }, 100);
    assert.equal(result.reason, `timed out after 100ms waiting for response headers from 127.0.0.1:${port}`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('cancelling through the parent signal stops the request', async () => {
  const controller = new AbortController();
  const loop = watchLoop();
  const pending = probe({ url: `${base}/trickle`, expect_body: 'never' }, 5000, controller.signal);
  setTimeout(() => controller.abort(new Error('agent stopping')), 50);
  const result = await pending;
  const lateMs = loop.stop();
  assert.equal(result.ok, false);
  assert.ok(result.durationMs < 1000 + lateMs, `took ${result.durationMs}ms (event loop late by up to ${lateMs}ms)`);
  assert.match(result.reason ?? '', /^cancelled/);
});

test('options are validated: URL scheme, credentials, status ranges, unknown keys', () => {
  assert.match(optionError({ url: 'ftp://127.0.0.1/' }), /url: must be an http:\/\/ or https:\/\/ URL, not ftp:/);
  assert.match(optionError({ url: 'not a url' }), /url: "not a url" is not a URL/);
  assert.match(optionError({ url: 'http://u:p@127.0.0.1/' }), /credentials/);
  assert.match(optionError({ url: base, expect_status: 'abc' }), /"abc" is not a status code/);
  assert.match(optionError({ url: base, expect_status: ['400-300'] }), /"400-300" is not a status code/);
  assert.match(optionError({ url: base, expect_status: [] }), /at least one/);
  assert.match(optionError({ url: base, method: 'POST' }), /method/);
  assert.match(optionError({ url: base, expect: 200 }), /expect/);
  const parsed = httpProbe.options.parse({ url: base });
  assert.deepEqual(parsed.expect_status, [{ from: 200, to: 399 }]);
  assert.equal(parsed.max_body_bytes, 65536);
  assert.equal(parsed.tls_skip_verify, false);
});

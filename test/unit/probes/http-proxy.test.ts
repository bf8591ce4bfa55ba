// The http_proxy probe against an in-process fake forward proxy: what goes on the wire, and how answers are judged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import proxyProbe from '../../../probes/http-proxy.js';
import { ProbeRegistry } from '../../../probes/registry.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import { silentLogger } from '../../../src/log.js';

let proxy: http.Server;
let proxyPort = 0;
let lastTarget = '';
let lastHost = '';

// Answers like a proxy would: a Via header unless the path says otherwise, a squid-style error for /fail.
before(async () => {
  proxy = http.createServer((req, res) => {
    lastTarget = req.url ?? '';
    lastHost = req.headers.host ?? '';
    if (lastTarget.endsWith('/fail')) return res.writeHead(503, { 'x-squid-error': 'ERR_CONNECT_FAIL 111', via: '1.1 fake' }).end('bad gateway');
    const headers: http.OutgoingHttpHeaders = lastTarget.endsWith('/novia') ? {} : { via: '1.1 fake (squid/5.7)' };
    res.writeHead(200, headers).end('origin says hello');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as AddressInfo).port;
});

after(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
});

async function probe(raw: Record<string, unknown>, timeoutMs = 2000) {
  const options = proxyProbe.options.parse({ proxy: '127.0.0.1', port: proxyPort, ...raw });
  return runProbe({ definition: proxyProbe, options, timeoutMs, log: silentLogger(), service: { name: 'proxy', addresses: [] } });
}

test('the request uses the absolute-form target and the origin as Host', async () => {
  const result = await probe({ url: 'http://192.0.2.10:8080/health?x=1' });
  assert.equal(result.ok, true, result.reason);
  assert.equal(lastTarget, 'http://192.0.2.10:8080/health?x=1');
  assert.equal(lastHost, '192.0.2.10:8080');
});

test('expect_via requires a Via header; expect_body checks the body', async () => {
  assert.equal((await probe({ url: 'http://192.0.2.10/ok', expect_via: true, expect_body: 'hello' })).ok, true);
  const direct = await probe({ url: 'http://192.0.2.10/novia', expect_via: true });
  assert.equal(direct.ok, false);
  assert.equal(direct.reason, 'status 200 but no Via header: the response did not come through a proxy');
  assert.equal((await probe({ url: 'http://192.0.2.10/novia' })).ok, true, 'Via is not required by default');
  assert.equal((await probe({ url: 'http://192.0.2.10/ok', expect_body: 'goodbye' })).reason, 'body does not contain "goodbye"');
});

test("a proxy error status fails and carries squid's error name", async () => {
  const result = await probe({ url: 'http://192.0.2.10/fail' });
  assert.equal(result.reason, 'status 503, expected 200-399 (X-Squid-Error: ERR_CONNECT_FAIL 111)');
});

test('a proxy that is not listening fails with the refusal', async () => {
  const result = await probe({ url: 'http://192.0.2.10/', port: 1 });
  assert.equal(result.ok, false);
  assert.match(result.reason ?? '', /ECONNREFUSED 127\.0\.0\.1:1/);
});

test('options: squid is an alias, port defaults to 3128, only http:// URLs and IP proxies', () => {
  const registry = new ProbeRegistry();
  assert.equal(registry.get('squid'), registry.get('http_proxy'));
  assert.equal(registry.get('squid')?.type, 'http_proxy');
  assert.equal(proxyProbe.options.parse({ proxy: '::1', url: 'http://[2001:db8::1]/' }).port, 3128);
  const https = proxyProbe.options.safeParse({ proxy: '127.0.0.1', url: 'https://192.0.2.1/' });
  assert.match(https.error?.issues[0]?.message ?? '', /must be an http:\/\/ URL \(https through CONNECT is not supported\)/);
  assert.equal(proxyProbe.options.safeParse({ proxy: 'proxy.example', url: 'http://192.0.2.1/' }).success, false);
  assert.equal(proxyProbe.options.safeParse({ proxy: '127.0.0.1', url: '/relative' }).success, false);
});

// dns probe against a real unbound on loopback (127.0.0.1 and ::1, random port) that answers only its own records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dns from '../../../probes/dns.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import type { ProbeDefinition } from '../../../probes/kit/index.js';
import { silentLogger } from '../../../src/log.js';
import { freePort, startUnbound, type DnsRecord, type Unbound } from '../../../lab/unbound.js';
import { requirePrerequisites } from '../../support/prereq.js';

// Enough A records that the plain (non-EDNS) UDP answer exceeds 512 bytes and comes back truncated.
const MANY = Array.from({ length: 60 }, (_, index) => ({ name: 'big.test', type: 'A', value: `198.51.100.${index + 1}` }));

const records: DnsRecord[] = [
  { name: 'www.test', type: 'A', value: '192.0.2.1' },
  { name: 'www.test', type: 'AAAA', value: '2001:db8::1' },
  { name: 'txt.test', type: 'TXT', value: '"healthcast ok"' },
  { name: 'test', type: 'MX', value: '10 mail.test.' },
  ...MANY,
];

async function start(dir: string): Promise<Unbound> {
  let lastError: unknown;
  // freePort() checks 127.0.0.1 only and tests run concurrently: a lost race shows up as unbound failing to bind.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startUnbound({ dir, port: await freePort(), addresses: ['127.0.0.1', '::1'], records, timeoutMs: 5000 });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

function probe(options: Record<string, unknown>, timeoutMs = 1000) {
  return runProbe({
    definition: dns as ProbeDefinition,
    options: dns.options.parse(options),
    timeoutMs,
    log: silentLogger(),
    service: { name: 'dns', addresses: [] },
  });
}

test('dns probe against a real unbound', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { commands: ['unbound'] })) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-dns-unbound-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const started = performance.now();
  const unbound = await start(dir);
  t.after(() => unbound.stop());
  t.diagnostic(`unbound pid ${unbound.pid} on port ${unbound.port}, ready in ${Math.round(performance.now() - started)}ms`);
  const port = unbound.port;

  await t.test('a known A record with expect_answer is ok over IPv4 and IPv6', async () => {
    const v4 = await probe({ server: '127.0.0.1', port, query: 'www.test', expect_answer: '192.0.2.1' });
    assert.equal(v4.ok, true, v4.reason);
    const v6 = await probe({ server: '::1', port, query: 'WWW.test.', qtype: 'AAAA', expect_answer: '2001:db8:0::1' });
    assert.equal(v6.ok, true, v6.reason);
    t.diagnostic(`udp A ${v4.durationMs}ms, udp AAAA over ::1 ${v6.durationMs}ms`);
  });

  await t.test('TXT and MX answers match, and over TCP too', async () => {
    assert.equal((await probe({ server: '127.0.0.1', port, query: 'txt.test', qtype: 'TXT', expect_answer: 'healthcast ok' })).ok, true);
    const mx = await probe({ server: '127.0.0.1', port, query: 'test', qtype: 'MX', expect_answer: 'mail.test', transport: 'tcp' });
    assert.equal(mx.ok, true, mx.reason);
  });

  await t.test('a wrong expected answer fails naming what came back', async () => {
    const result = await probe({ server: '127.0.0.1', port, query: 'www.test', expect_answer: '192.0.2.2' });
    assert.deepEqual({ ok: result.ok, reason: result.reason }, { ok: false, reason: 'answer does not contain 192.0.2.2 (got 192.0.2.1)' });
  });

  await t.test('an unknown name is NXDOMAIN: a failure when NOERROR is expected, ok when NXDOMAIN is', async () => {
    const failed = await probe({ server: '127.0.0.1', port, query: 'nope.test' });
    assert.deepEqual({ ok: failed.ok, reason: failed.reason }, { ok: false, reason: 'rcode NXDOMAIN, expected NOERROR' });
    const expected = await probe({ server: '::1', port, query: 'nope.test', expect_rcode: 'NXDOMAIN' });
    assert.equal(expected.ok, true, expected.reason);
    // local-zone "." static: names outside test. are answered locally, never recursed.
    const outside = await probe({ server: '127.0.0.1', port, query: 'example.com', expect_rcode: 'NXDOMAIN' });
    assert.equal(outside.ok, true, outside.reason);
  });

  await t.test('a large answer comes back truncated over UDP and is fetched over TCP', async () => {
    const result = await probe({ server: '127.0.0.1', port, query: 'big.test', expect_answer: '198.51.100.60' });
    assert.equal(result.ok, true, result.reason);
    assert.equal(result.reason, 'answered over tcp after truncation');
    t.diagnostic(`truncated udp then tcp: ${result.durationMs}ms`);
  });

  await t.test('once unbound is stopped the probe fails fast with ECONNREFUSED', async () => {
    await unbound.stop();
    const udp = await probe({ server: '127.0.0.1', port, query: 'www.test' });
    assert.deepEqual({ ok: udp.ok, reason: udp.reason }, { ok: false, reason: `127.0.0.1:${port} udp: ECONNREFUSED` });
    const tcp = await probe({ server: '::1', port, query: 'www.test', transport: 'tcp' });
    assert.deepEqual({ ok: tcp.ok, reason: tcp.reason }, { ok: false, reason: `[::1]:${port} tcp: ECONNREFUSED` });
    assert.ok(udp.durationMs < 500 && tcp.durationMs < 500, `udp ${udp.durationMs}ms, tcp ${tcp.durationMs}ms`);
  });
});

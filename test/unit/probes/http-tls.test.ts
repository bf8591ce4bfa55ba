// The http probe over TLS, against an in-process https server with a self-signed certificate made by openssl at test time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import httpProbe from '../../../probes/http.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import { silentLogger } from '../../../src/log.js';
import { missingPrerequisites, requirePrerequisites } from '../../support/prereq.js';

const haveOpenssl = missingPrerequisites({ commands: ['openssl'] }).length === 0;
let dir = '';
let server: https.Server | undefined;
let base = '';
let sniSeen: string | undefined;

before(async () => {
  if (!haveOpenssl) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcast-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=probe.example.test',
      '-addext',
      'subjectAltName=DNS:probe.example.test,IP:127.0.0.1',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'pipe', timeout: 20_000 },
  );
  server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
    sniSeen = (req.socket as unknown as { servername?: string | false }).servername || undefined;
    res.end(`secure hello for ${req.headers.host}`);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function probe(raw: Record<string, unknown>, timeoutMs = 3000) {
  return runProbe({ definition: httpProbe, options: httpProbe.options.parse(raw), timeoutMs, log: silentLogger(), service: { name: 'web', addresses: [] } });
}

test('a self-signed certificate is rejected unless tls_skip_verify is set', async (t) => {
  if (!requirePrerequisites(t, { commands: ['openssl'] })) return;
  const strict = await probe({ url: `${base}/` });
  assert.equal(strict.ok, false);
  assert.match(strict.reason ?? '', /self-signed certificate/);
  assert.match(strict.reason ?? '', /tls_skip_verify: true accepts self-signed certificates/);
  const relaxed = await probe({ url: `${base}/`, tls_skip_verify: true, expect_body: 'secure hello' });
  assert.equal(relaxed.ok, true, relaxed.reason);
});

test('over TLS the Host header override also names the server (SNI)', async (t) => {
  if (!requirePrerequisites(t, { commands: ['openssl'] })) return;
  const result = await probe({ url: `${base}/`, tls_skip_verify: true, host_header: 'probe.example.test', expect_body: 'for probe.example.test' });
  assert.equal(result.ok, true, result.reason);
  assert.equal(sniSeen, 'probe.example.test');
});

test('a TCP listener that never speaks TLS times out during the handshake', async (t) => {
  if (!requirePrerequisites(t, { commands: ['openssl'] })) return;
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = silent.address() as AddressInfo;
    const result = await probe({ url: `https://127.0.0.1:${port}/`, tls_skip_verify: true }, 150);
    assert.equal(result.reason, `timed out after 150ms during the TLS handshake with 127.0.0.1:${port}`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

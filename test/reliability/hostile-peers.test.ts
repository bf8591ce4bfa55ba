// Hostile peers: a DNS server that answers garbage or with the wrong id, a RADIUS server with a bad authenticator,
// TCP servers that accept and never speak, an HTTP server that trickles one byte a second. Each round must fail
// with a reason within its timeout, and 1,000 rounds must leave no socket, timer or file descriptor behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';
import { runProbe } from '../../src/core/probe-run/run.js';
import type { ProbeDefinition, ProbeResult } from '../../probes/kit/index.js';
import dns from '../../probes/dns.js';
import http from '../../probes/http.js';
import radius from '../../probes/radius.js';
import exec from '../../probes/exec.js';
import { silentLogger } from '../../src/log.js';
import { waitFor } from '../../lab/process.js';
import { IDLE_CLOSE_MS, openUdpSockets } from '../../probes/dns-transport.js';
import { silent, tcpServer, trickle, udpServer, type HostileServer } from './support/hostile-servers.js';

const ROUNDS = 1000;
const CONCURRENCY = 100;
const TIMEOUT_MS = 150;
// How far past its timeout a round may finish on a loaded 2-core machine with 100 rounds in flight (measured: up to
// 84 ms with two CPU hogs running); still far below the 1 s a trickling peer would take without the timeout.
const SLACK_MS = 200;
const log = silentLogger();

interface Case {
  name: string;
  definition: ProbeDefinition;
  options: (port: number) => Record<string, unknown>;
  server: () => Promise<HostileServer>;
  reason: RegExp;
  // Processes the probe may have left behind, for the child-process leak check.
  leftovers?: () => number;
  // Rounds in flight at once. spawn() blocks the event loop for each child, so exec runs fewer at once (and fewer
  // rounds: each forks three processes) to keep its own timers honest.
  concurrency?: number;
  rounds?: number;
}

function dnsAnswer(request: Buffer, idDelta: number): Buffer {
  const query = dnsPacket.decode(request);
  return dnsPacket.encode({
    type: 'response',
    id: ((query.id ?? 0) + idDelta) & 0xffff,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: query.questions ?? [],
    answers: [{ type: 'A', name: 'probe.test', ttl: 60, data: '192.0.2.1' }],
  });
}

// A well-formed reply to the request's id whose Response Authenticator is random bytes.
function radiusBadAuthenticator(request: Buffer): Buffer {
  const reply = Buffer.alloc(20);
  reply[0] = 2; // Access-Accept
  reply[1] = request[1] ?? 0;
  reply.writeUInt16BE(20, 2);
  crypto.randomBytes(16).copy(reply, 4);
  return reply;
}

// A unique sleep duration marks the processes of this run in /proc.
const MARK = `30.${process.pid}${crypto.randomInt(1000, 9999)}`;

function processesWithMark(): number {
  let count = 0;
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.includes(MARK) && state !== 'Z') count += 1;
    } catch {
      // exited meanwhile
    }
  }
  return count;
}

// Not a network peer, but the same hazard: a check command that hangs and leaves a grandchild behind.
const hungCommand = { command: ['sh', '-c', `sleep ${MARK} & exec sleep ${MARK}`] };

const dnsOptions = (port: number, extra: Record<string, unknown> = {}) => ({
  server: '127.0.0.1',
  port,
  query: 'probe.test',
  qtype: 'A',
  expect_answer: '192.0.2.1',
  ...extra,
});

const cases: Case[] = [
  {
    name: 'DNS server answering random bytes',
    definition: dns as ProbeDefinition,
    options: (port) => dnsOptions(port),
    server: () => udpServer(() => crypto.randomBytes(1 + crypto.randomInt(80))),
    reason: /^malformed response|timed out after 150ms.*ignored/,
  },
  {
    name: 'DNS server answering with the wrong id',
    definition: dns as ProbeDefinition,
    options: (port) => dnsOptions(port),
    server: () => udpServer((request) => dnsAnswer(request, 1)),
    reason: /timed out after 150ms.*ignored/,
  },
  {
    name: 'DNS over TCP: accepts and never speaks',
    definition: dns as ProbeDefinition,
    options: (port) => dnsOptions(port, { transport: 'tcp' }),
    server: () => tcpServer(silent()),
    reason: /timed out after 150ms/,
  },
  {
    name: 'RADIUS server with a bad authenticator',
    definition: radius as ProbeDefinition,
    options: (port) => ({ server: '127.0.0.1', port, secret: 'testing123' }),
    server: () => udpServer(radiusBadAuthenticator),
    reason: /authenticator/i,
  },
  {
    name: 'HTTP server: accepts and never speaks',
    definition: http as ProbeDefinition,
    options: (port) => ({ url: `http://127.0.0.1:${port}/health` }),
    server: () => tcpServer(silent()),
    reason: /time|no response|150ms/i,
  },
  {
    name: 'HTTP server trickling one byte a second',
    definition: http as ProbeDefinition,
    options: (port) => ({ url: `http://127.0.0.1:${port}/health` }),
    server: () => tcpServer(trickle('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 1000)),
    reason: /time|150ms/i,
  },
  {
    name: 'exec check that hangs and leaves a grandchild',
    definition: exec as ProbeDefinition,
    options: () => hungCommand,
    server: () => udpServer(() => undefined),
    reason: /timed out after 150ms; killed the process group/,
    leftovers: processesWithMark,
    concurrency: 10,
    rounds: 300,
  },
];

// Handles and requests the process holds, by kind (sockets, timers, ...).
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

async function rounds(definition: ProbeDefinition, options: unknown, count: number, concurrency = CONCURRENCY): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (let done = 0; done < count; done += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - done) }, () =>
      runProbe({ definition, options, timeoutMs: TIMEOUT_MS, log, service: { name: 'hostile', addresses: ['192.0.2.1'] } }),
    );
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

for (const hostile of cases) {
  const count = hostile.rounds ?? ROUNDS;
  test(`hostile peer: ${hostile.name} -> failure with a reason within the timeout, nothing leaks over ${count} rounds`, { timeout: 60_000 }, async (t) => {
    const server = await hostile.server();
    try {
      const options = hostile.definition.options.parse(hostile.options(server.port));
      // Warm-up: lazily created internals (crypto, http agents) must not count as leaks.
      await rounds(hostile.definition, options, 20, hostile.concurrency);
      await waitFor('warm-up connections to close', () => server.open() === 0, { timeoutMs: 5000 });
      // dns queries reuse pooled sockets, which close once idle.
      await waitFor('idle DNS sockets to close', () => openUdpSockets() === 0, { timeoutMs: IDLE_CLOSE_MS * 3 });
      const beforeResources = resources();
      const beforeFds = openFds();
      const seenBefore = server.seen();

      const started = Date.now();
      // How late this process's own event loop ran meanwhile (spawning 300 checks blocks it on a loaded machine):
      // a round cannot end before the loop gets to it, so that much is allowed beyond the slack.
      const loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
      const results = await rounds(hostile.definition, options, count, hostile.concurrency);
      loopDelay.disable();
      const blockedMs = Math.round(loopDelay.max / 1e6);
      const slowest = Math.max(...results.map((r) => r.durationMs));
      t.diagnostic(
        `${count} rounds in ${Date.now() - started} ms, slowest ${slowest} ms, event loop late by up to ${blockedMs} ms; first reason: ${results[0]?.reason}`,
      );

      if (!hostile.leftovers) assert.equal(server.seen() - seenBefore, count, 'every round reached the hostile server');
      assert.equal(results.filter((r) => r.ok).length, 0, 'no round is healthy');
      const unexplained = results.filter((r) => !hostile.reason.test(r.reason ?? ''));
      assert.deepEqual(
        unexplained.slice(0, 3).map((r) => r.reason),
        [],
        `every reason matches ${hostile.reason}`,
      );
      assert.ok(
        slowest <= TIMEOUT_MS + SLACK_MS + blockedMs,
        `slowest round took ${slowest} ms (timeout ${TIMEOUT_MS} ms, event loop late by up to ${blockedMs} ms)`,
      );

      await waitFor('the server to see every client connection closed', () => server.open() === 0, { timeoutMs: 5000 });
      if (hostile.leftovers) await waitFor('every process the checks started to be gone', () => hostile.leftovers?.() === 0, { timeoutMs: 5000 });
      await waitFor('idle DNS sockets to close', () => openUdpSockets() === 0, { timeoutMs: IDLE_CLOSE_MS * 3 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = resources();
      for (const [kind, held] of after) {
        assert.ok(held <= (beforeResources.get(kind) ?? 0), `${kind}: ${beforeResources.get(kind) ?? 0} before, ${held} after the rounds`);
      }
      assert.ok(openFds() <= beforeFds, `open file descriptors: ${beforeFds} before, ${openFds()} after ${count} rounds`);
    } finally {
      await server.close();
    }
  });
}

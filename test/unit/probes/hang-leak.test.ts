// Thousands of probe runs against servers that never answer: every run times out, and no socket, timer, fd or child survives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import type { ProbeDefinition, ProbeResult } from '../../../probes/kit/index.js';
import { builtinProbes } from '../../../probes/registry.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import { silentLogger } from '../../../src/log.js';
import { waitFor } from '../../../lab/process.js';
import { IDLE_CLOSE_MS, openUdpSockets } from '../../../probes/dns-transport.js';
import { watchLoop } from '../../support/loop-lateness.js';

const RUNS = 1000;
const BATCH = 50;
const TIMEOUT_MS = 20;

// http: accepts, reads, never answers.
const held = new Set<net.Socket>();
let silentTcp: net.Server;
// dns: a UDP socket that swallows every query.
let silentUdp: dgram.Socket;
// tcp: a listener in a stopped process whose accept queue is full, so new handshakes never complete.
let frozen: ChildProcess | undefined;
let frozenPort = 0;
const fillers: net.Socket[] = [];

function probe(type: string): ProbeDefinition {
  const definition = builtinProbes.find((candidate) => candidate.type === type);
  assert.ok(definition, `probe ${type} is not in the registry`);
  return definition;
}

before(async () => {
  silentTcp = net.createServer((socket) => {
    held.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => held.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => silentTcp.listen(0, '127.0.0.1', resolve));
  silentUdp = dgram.createSocket('udp4');
  silentUdp.on('message', () => undefined);
  await new Promise<void>((resolve) => silentUdp.bind(0, '127.0.0.1', resolve));

  const script =
    "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(s.address().port+'\\n',()=>process.kill(process.pid,'SIGSTOP'))})";
  frozen = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  frozen.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  frozenPort = await waitFor('the frozen listener to print its port', () => (printed.includes('\n') ? Number(printed.trim()) : undefined), { timeoutMs: 5000 });
  await waitFor('the listener to stop itself', () => fs.readFileSync(`/proc/${frozen!.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T'), { timeoutMs: 5000 });
  // Fill the accept queue until a handshake no longer completes.
  for (let attempt = 0; attempt < 20; attempt++) {
    const socket = net.connect(frozenPort, '127.0.0.1');
    socket.on('error', () => undefined);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) {
      socket.destroy();
      return;
    }
    fillers.push(socket);
  }
  assert.fail('the accept queue of the stopped listener never filled up');
});

after(async () => {
  for (const socket of [...held, ...fillers]) socket.destroy();
  if (frozen?.pid && frozen.exitCode === null) frozen.kill('SIGKILL');
  await new Promise((resolve) => silentTcp.close(resolve));
  silentUdp.close();
});

interface Snapshot {
  resources: Map<string, number>;
  fds: number;
}

function snapshot(): Snapshot {
  const resources = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) resources.set(name, (resources.get(name) ?? 0) + 1);
  return { resources, fds: fs.readdirSync('/proc/self/fd').length };
}

function children(): number[] {
  const mine: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z' && Number(entry) !== frozen?.pid) mine.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return mine;
}

async function hammer(definition: ProbeDefinition, rawOptions: Record<string, unknown>, runs: number, batchSize: number): Promise<ProbeResult[]> {
  const options = definition.options.parse(rawOptions);
  const results: ProbeResult[] = [];
  for (let done = 0; done < runs; done += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, runs - done) }, () =>
      runProbe({ definition, options, timeoutMs: TIMEOUT_MS, log: silentLogger(), service: { name: 'hang', addresses: ['192.0.2.1'] } }),
    );
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

async function settle(): Promise<void> {
  await waitFor('server-side connections to close', () => held.size === 0, { timeoutMs: 5000 });
  await waitFor('exec children to be reaped', () => children().length === 0, { timeoutMs: 5000 });
  // dns queries share a socket per server, which stays open while in use and closes once idle.
  await waitFor('shared DNS sockets to close when idle', () => openUdpSockets() === 0, { timeoutMs: IDLE_CLOSE_MS * 3 });
  await new Promise((resolve) => setTimeout(resolve, 100));
}

test(`${RUNS} runs each of http, tcp and dns (and 200 of exec) against silent servers time out and leak nothing`, { timeout: 120_000 }, async () => {
  await settle();
  const baseline = snapshot();
  // exec spawns synchronously, so it runs 10 at a time to keep event-loop lag out of the timing check.
  const cases: { type: string; options: Record<string, unknown>; runs: number; batch?: number; reason: RegExp }[] = [
    {
      type: 'http',
      options: { url: `http://127.0.0.1:${(silentTcp.address() as net.AddressInfo).port}/` },
      runs: RUNS,
      reason: /^timed out after 20ms (waiting for response headers|connecting) /,
    },
    {
      type: 'tcp',
      options: { host: '127.0.0.1', ports: [frozenPort] },
      runs: RUNS,
      reason: /^(127\.0\.0\.1:\d+: no handshake before timeout|timed out after 20ms)$/,
    },
    { type: 'exec', options: { command: ['sleep', '30'] }, runs: 200, batch: 10, reason: /^timed out after 20ms; killed the process group of sleep/ },
  ];
  if (builtinProbes.some((definition) => definition.type === 'dns')) {
    cases.push({
      type: 'dns',
      options: { server: '127.0.0.1', port: (silentUdp.address() as net.AddressInfo).port, query: 'hang.test.' },
      runs: RUNS,
      reason: /^timed out after 20ms/,
    });
  }
  const measured: string[] = [];
  for (const { type, options, runs, batch, reason } of cases) {
    const started = performance.now();
    const loop = watchLoop();
    const results = await hammer(probe(type), options, runs, batch ?? BATCH);
    const wall = Math.round(performance.now() - started);
    const lateMs = loop.stop();
    assert.equal(results.length, runs);
    const unexpected = results.filter((result) => result.ok || !reason.test(result.reason ?? ''));
    assert.deepEqual(unexpected.slice(0, 3), [], `${type}: ${unexpected.length} run(s) did not time out as expected`);
    const slowest = Math.max(...results.map((result) => result.durationMs));
    assert.ok(slowest < 1000 + lateMs, `${type}: a run took ${slowest}ms with a ${TIMEOUT_MS}ms timeout (event loop late by up to ${lateMs}ms)`);
    measured.push(`${type}: ${runs} runs in ${wall}ms, slowest ${slowest}ms`);
  }
  await settle();
  const final = snapshot();
  const grown = [...final.resources].filter(([name, count]) => count > (baseline.resources.get(name) ?? 0));
  assert.deepEqual(grown, [], `active resources grew: ${JSON.stringify(grown)} (before: ${JSON.stringify([...baseline.resources])})`);
  assert.ok(final.fds <= baseline.fds, `open fds grew from ${baseline.fds} to ${final.fds}`);
  assert.deepEqual(children(), []);
  process.stderr.write(`hang-leak: ${measured.join('; ')}; fds ${baseline.fds} -> ${final.fds}; resources ${JSON.stringify([...final.resources])}\n`);
});

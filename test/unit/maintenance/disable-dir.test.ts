// The disable directory: which services a listing holds (a table), how it is read (real files), how the watch
// notices a change (fs.watch, then the poll on a ManualClock), and how its holds compose with an operator's drains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { disableHolds, noteOf, NOTE_LIMIT_BYTES, type DisableFileEntry } from '../../../src/maintenance/disable-dir.js';
import { DisableWatch, readDisableDir } from '../../../src/maintenance/disable-watch.js';
import type { DrainEntry } from '../../../src/maintenance/drain-store.js';
import { MemoryDrainStore } from '../../../src/maintenance/drain-store.js';
import { buildAgent, type Agent } from '../../../src/core/agent.js';
import { Reconciler } from '../../../src/routing/reconciler.js';
import { MemoryBackend } from '../../../src/routing/memory-backend.js';
import { MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { silentLogger } from '../../../src/log.js';
import { pino } from 'pino';
import { waitFor } from '../../../lab/process.js';
import { ManualClock, settle } from '../../support/manual-clock.js';
import { agentConfig, serviceConfig, switchProbe } from '../../support/agent-fixtures.js';

const DIR = '/etc/healthcast/disable.d';
const MTIME = Date.UTC(2026, 0, 2);
const file = (name: string, content = '', regular = true): DisableFileEntry => ({ name, regular, mtimeMs: MTIME, content });
const SERVICES = ['dns', 'radius'];

test('which services a listing holds, and which files only earn a warning', () => {
  const rows: { name: string; entries: DisableFileEntry[]; holds: Record<string, string | undefined>; warnings: string[] }[] = [
    { name: 'empty directory: nothing held', entries: [], holds: {}, warnings: [] },
    { name: 'a file named after a service holds it', entries: [file('dns')], holds: { dns: undefined }, warnings: [] },
    { name: 'the content is the note', entries: [file('dns', 'disk swap, back at 14:00\n')], holds: { dns: 'disk swap, back at 14:00' }, warnings: [] },
    { name: '`all` holds (the agent applies it to every service)', entries: [file('all', 'dc move')], holds: { all: 'dc move' }, warnings: [] },
    { name: 'hidden files are staging files: silently ignored', entries: [file('.dns.swp'), file('.keep')], holds: {}, warnings: [] },
    {
      name: 'a file named after no configured service: warned, kept for a reload that adds it',
      entries: [file('ntp')],
      holds: { ntp: undefined },
      warnings: [`${DIR}/ntp: names no configured service (known: dns, radius); it holds the service once configured`],
    },
    {
      name: 'a name no service can have: warned, ignored',
      entries: [file('dns~'), file('-x')],
      holds: {},
      warnings: [
        `${DIR}/-x: names no service (a file must be named after a service or "all"); ignored`,
        `${DIR}/dns~: names no service (a file must be named after a service or "all"); ignored`,
      ],
    },
    { name: 'a directory is not a disable file', entries: [file('dns', '', false)], holds: {}, warnings: [`${DIR}/dns: not a regular file; ignored`] },
  ];
  for (const row of rows) {
    const listing = disableHolds(DIR, row.entries, SERVICES);
    assert.deepEqual(Object.fromEntries([...listing.holds].map(([target, hold]) => [target, hold.note])), row.holds, row.name);
    assert.deepEqual(
      listing.warnings.map((w) => `${w.file}: ${w.reason}`),
      row.warnings,
      row.name,
    );
    for (const [target, hold] of listing.holds) {
      assert.equal(hold.by, `disable file ${DIR}/${target}`, row.name);
      assert.equal(hold.file, `${DIR}/${target}`, row.name);
      assert.equal(hold.since, new Date(MTIME).toISOString(), row.name);
    }
  }
});

test('a hold keeps its since while its file stays, even when the note is edited', () => {
  const first = disableHolds(DIR, [file('dns', 'one')], SERVICES);
  const edited = disableHolds(DIR, [{ ...file('dns', 'two'), mtimeMs: MTIME + 60_000 }], SERVICES, first.holds);
  assert.equal(edited.holds.get('dns')?.since, new Date(MTIME).toISOString());
  assert.equal(edited.holds.get('dns')?.note, 'two');
});

test('the note: trimmed, control characters made visible, cut at the limit', () => {
  assert.equal(noteOf(''), undefined);
  assert.equal(noteOf(' \n\t'), undefined);
  assert.equal(noteOf('a\u001b[31mb\nc'), 'a?[31mb\nc');
  const huge = 'x'.repeat(NOTE_LIMIT_BYTES + 1);
  assert.equal(noteOf(huge), `${'x'.repeat(NOTE_LIMIT_BYTES)} [cut at ${NOTE_LIMIT_BYTES} bytes]`);
  assert.equal(noteOf('x'.repeat(NOTE_LIMIT_BYTES)), 'x'.repeat(NOTE_LIMIT_BYTES), 'exactly the limit is not cut');
});

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-disable-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('reading the directory: a missing one holds nothing, a huge file is read only up to the limit, a subdirectory is listed as such', async (t) => {
  const dir = tempDir(t);
  assert.deepEqual(await readDisableDir(path.join(dir, 'missing')), []);
  fs.writeFileSync(path.join(dir, 'dns'), 'y'.repeat(10 * 1024 * 1024));
  fs.mkdirSync(path.join(dir, 'radius'));
  const entries = await readDisableDir(dir);
  const dns = entries.find((entry) => entry.name === 'dns')!;
  assert.equal(Buffer.byteLength(dns.content), NOTE_LIMIT_BYTES + 1, 'never more than the limit + 1 byte');
  assert.equal(entries.find((entry) => entry.name === 'radius')?.regular, false);
  await assert.rejects(readDisableDir(path.join(dir, 'dns')), /ENOTDIR/, 'a file where the directory should be is an error, not "nothing held"');
});

// A logger whose lines the test reads.
function capturingLogger() {
  const lines: { level: number; msg: string; file?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  return { log, lines };
}

test('the watch: the first scan is awaited, a change reaches the agent through fs.watch, the poll catches what it misses, a warning is logged once', async (t) => {
  const dir = tempDir(t);
  const clock = new ManualClock();
  const applied: Map<string, DrainEntry>[] = [];
  let notify: (() => void) | undefined;
  const { log, lines } = capturingLogger();
  fs.writeFileSync(path.join(dir, 'dns'), 'swap');
  const watch = new DisableWatch({
    dir,
    clock,
    log,
    services: () => SERVICES,
    apply: async (holds) => void applied.push(new Map(holds)),
    watch: (_dir, onChange) => {
      notify = onChange;
      return { close: () => (notify = undefined) };
    },
  });
  t.after(() => watch.stop());
  await watch.start();
  assert.deepEqual(
    applied.map((holds) => [...holds.keys()]),
    [['dns']],
    'the holds at start, before start() resolves',
  );
  assert.equal(applied[0]!.get('dns')?.note, 'swap');

  fs.writeFileSync(path.join(dir, 'ntp'), '');
  notify!();
  await settle(20);
  await watch.scan();
  assert.deepEqual([...applied.at(-1)!.keys()], ['dns', 'ntp'], 'fs.watch: applied without the clock moving');
  assert.equal(lines.filter((line) => line.level === 40 && line.file === path.join(dir, 'ntp')).length, 1, 'warned about ntp');

  fs.rmSync(path.join(dir, 'dns'));
  const before = applied.length;
  await clock.advance(1000);
  await settle(20);
  await watch.scan();
  assert.equal(applied.length, before + 1, 'the poll noticed the removal');
  assert.deepEqual([...applied.at(-1)!.keys()], ['ntp']);

  await clock.advance(1000);
  await settle(20);
  assert.equal(applied.length, before + 1, 'nothing changed: the agent is not called again');
  assert.equal(lines.filter((line) => line.level === 40 && line.file === path.join(dir, 'ntp')).length, 1, 'the warning is not repeated');
});

test('an unreadable directory changes nothing and is logged once; readable again, it applies', async (t) => {
  const clock = new ManualClock();
  const applied: string[][] = [];
  let failing = false;
  const { log, lines } = capturingLogger();
  const watch = new DisableWatch({
    dir: '/x',
    clock,
    log,
    services: () => SERVICES,
    apply: async (holds) => void applied.push([...holds.keys()]),
    read: async () => {
      if (failing) throw new Error('EACCES: permission denied');
      return [file(applied.length === 0 ? 'dns' : 'radius')];
    },
    watch: () => undefined,
  });
  t.after(() => watch.stop());
  await watch.start();
  failing = true;
  for (let i = 0; i < 3; i += 1) {
    await clock.advance(1000);
    await settle(20);
  }
  assert.deepEqual(applied, [['dns']], 'holds kept while unreadable');
  assert.equal(lines.filter((line) => line.level === 50).length, 1, 'one error line');
  failing = false;
  await clock.advance(1000);
  await settle(20);
  assert.deepEqual(applied, [['dns'], ['radius']]);
});

function agentHarness(services: string[]) {
  const probe = switchProbe();
  const backend = new MemoryBackend();
  const config = agentConfig(services.map((name, index) => serviceConfig(name, [`192.0.2.${10 + index}`], probe.definition)));
  const added: string[] = [];
  const agent = buildAgent({
    config,
    log: silentLogger(),
    splay: false,
    drainStore: new MemoryDrainStore(),
    routing: ({ desired, onReport }) =>
      new Reconciler({ backend, ownership: new MemoryOwnershipStore(), desired, onReport, log: silentLogger(), driftIntervalMs: 60_000 }),
    listeners: [{ onReport: (report) => added.push(...report.added.map((entry) => entry.address)) }],
  });
  const present = (address: string) => backend.has({ kind: 'address', address, interface: 'lo' });
  return { agent, present, added };
}

const fileHold = (target: string, note?: string): [string, DrainEntry] => [
  target,
  { name: target, since: '2026-01-02T00:00:00.000Z', by: `disable file ${DIR}/${target}`, file: `${DIR}/${target}`, ...(note ? { note } : {}) },
];
const status = (agent: Agent, name: string) => agent.status().find((service) => service.name === name)!;

test('a disable file present at start: the service is never announced; removing it resumes', async (t) => {
  const { agent, present, added } = agentHarness(['dns', 'radius']);
  t.after(() => agent.shutdown());
  await agent.setDisableFiles(new Map([fileHold('dns', 'swap')]));
  await agent.start();
  await waitFor('radius announced', () => present('192.0.2.11'));
  await agent.checkNow();
  await agent.checkNow();
  assert.equal(added.includes('192.0.2.10'), false, 'dns never reached the kernel');
  assert.equal(status(agent, 'dns').state, 'drained');
  assert.equal(status(agent, 'dns').drained?.note, 'swap');
  assert.equal(status(agent, 'dns').drained?.by, `disable file ${DIR}/dns`);

  assert.deepEqual(await agent.setDisableFiles(new Map()), { held: [], released: ['dns'] });
  await waitFor('dns announced once the file is gone', () => present('192.0.2.10'));
});

test('a disable file and an operator drain are separate holders', async (t) => {
  const { agent, present } = agentHarness(['dns', 'radius']);
  t.after(() => agent.shutdown());
  await agent.start();
  await waitFor('both announced', () => present('192.0.2.10') && present('192.0.2.11'));

  // File first, then the operator: removing the file leaves the operator's drain.
  assert.deepEqual(await agent.setDisableFiles(new Map([fileHold('dns')])), { held: ['dns'], released: [] });
  assert.equal(present('192.0.2.10'), false, 'withdrawn once setDisableFiles resolves');
  await agent.drainServices(['dns'], 'cli');
  assert.deepEqual(
    status(agent, 'dns').holds?.map((hold) => hold.by),
    [`disable file ${DIR}/dns`, 'cli'],
  );
  await agent.setDisableFiles(new Map());
  assert.equal(status(agent, 'dns').state, 'drained', 'the operator still holds it');
  assert.equal(status(agent, 'dns').drained?.by, 'cli');
  await agent.checkNow();
  assert.equal(present('192.0.2.10'), false);

  // Operator first, then a file: `resume` does not end the file's hold.
  await agent.setDisableFiles(new Map([fileHold('dns')]));
  assert.deepEqual(await agent.resumeServices(['dns'], 'cli'), { services: ['dns'], notDrained: [], heldByFile: ['dns'] });
  assert.equal(status(agent, 'dns').state, 'drained', 'the file still holds it');
  assert.deepEqual(await agent.resumeServices(['dns'], 'cli'), { services: [], notDrained: [], heldByFile: ['dns'] });
  await agent.checkNow();
  assert.equal(present('192.0.2.10'), false);

  // `all` holds every service; a file of its own outlives `all`.
  await agent.setDisableFiles(new Map([fileHold('all', 'dc move'), fileHold('dns')]));
  assert.equal(present('192.0.2.11'), false, 'all: radius withdrawn');
  assert.equal(status(agent, 'radius').drained?.note, 'dc move');
  await agent.setDisableFiles(new Map([fileHold('dns')]));
  await waitFor('radius back', () => present('192.0.2.11'));
  assert.equal(present('192.0.2.10'), false, 'dns still held by its own file');
  await agent.setDisableFiles(new Map());
  await waitFor('dns back', () => present('192.0.2.10'));
});

// The long-lived `ip -batch` process against the real ip, in a throwaway namespace: requests, failures mapped to their
// lines, output, and recovery when ip dies or hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IpBatchProcess } from '../../../src/routing/ip-batch-process.js';
import { requirePrerequisites } from '../../support/prereq.js';
import { addressesIn, namespaceFor } from './fixture.js';

const pidOf = (batch: IpBatchProcess) => (batch as unknown as { child?: { pid?: number } }).child?.pid;

test('requests run in order in one ip process; a failed line is reported with its index and the rest still apply', async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const batch = new IpBatchProcess({ ip: 'ip', namespace: ns, timeoutMs: 5000 });
  t.after(() => batch.close());
  const first = await batch.run(['address add 192.0.2.1/32 dev lo', 'address add 192.0.2.1/32 dev lo', 'address add 2001:db8::1/128 dev lo nodad']);
  assert.equal(first.failures.length, 1);
  assert.equal(first.failures[0]?.index, 1);
  assert.match(first.failures[0]?.reason ?? '', /already assigned|exists/i);
  const pid = pidOf(batch);
  // Concurrent callers are served one at a time, each with its own output.
  const [addresses, routes, empty] = await Promise.all([
    batch.run(['address show dev lo'], 1),
    batch.run(['route show proto 201 table all'], 1),
    batch.run([]),
  ]);
  assert.equal(pidOf(batch), pid, 'the same ip process served every request');
  const lo = JSON.parse(addresses.documents[0] ?? '[]') as { addr_info: { local: string }[] }[];
  assert.deepEqual(
    lo[0]?.addr_info
      .map((a) => a.local)
      .filter((a) => a !== '127.0.0.1' && a !== '::1')
      .sort(),
    ['192.0.2.1', '2001:db8::1'],
  );
  assert.deepEqual(JSON.parse(routes.documents[0] ?? ''), []);
  assert.deepEqual(empty, { documents: [], failures: [] });
  assert.deepEqual((await addressesIn(ns)).filter((a) => a.startsWith('192.0.2.') || a.startsWith('2001:db8')).sort(), [
    '192.0.2.1/32 lo',
    '2001:db8::1/128 lo',
  ]);
  await assert.rejects(batch.run(['address show\nlink show']), /newline/);
});

test('ip killed or exiting on a bad argument fails the request in flight with a reason; the next request starts a new ip', async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const batch = new IpBatchProcess({ ip: 'ip', namespace: ns, timeoutMs: 5000 });
  t.after(() => batch.close());
  await batch.run(['address add 192.0.2.1/32 dev lo']);
  const pid = pidOf(batch);
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  // Either the next request is written to the dying ip and fails with the reason, or it already starts a new one.
  const next = await batch.run(['address show dev lo'], 1).catch((error: Error) => error);
  if (next instanceof Error) assert.match(next.message, /killed by SIGKILL|exited/);
  const after = await batch.run(['address show dev lo'], 1);
  assert.notEqual(pidOf(batch), pid);
  assert.match(after.documents[0] ?? '', /192\.0\.2\.1/);
  // iproute2 exits on an argument it cannot parse, even with -force: the request fails with ip's message.
  await assert.rejects(batch.run(['address add 192.0.2.9/33 dev lo', 'address add 192.0.2.2/32 dev lo']), /exited with status .*valid prefix/);
  const recovered = await batch.run(['address add 192.0.2.3/32 dev lo', 'address show dev lo'], 1);
  assert.deepEqual(recovered.failures, []);
  assert.match(recovered.documents[0] ?? '', /192\.0\.2\.3/);
});

test('an ip that never answers times out the request, is killed, and leaves no process behind', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-ipbatch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'hanging-ip');
  fs.writeFileSync(script, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  const batch = new IpBatchProcess({ ip: script, timeoutMs: 200 });
  const started = Date.now();
  await assert.rejects(batch.run(['address show'], 1), /did not finish a batch of 1 lines within 200ms/);
  assert.ok(Date.now() - started < 2000);
  assert.equal(pidOf(batch), undefined, 'the hung process was dropped');
  await assert.rejects(batch.run(['address show'], 1), /within 200ms/, 'and a new one is tried next time');
  batch.close();
});

test('ip is replaced by a fresh one between requests after recycleAfterLines lines (iproute2 leaks a page per ACK), and requests go on', async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: ['ip'] })) return;
  const ns = await namespaceFor(t);
  const batch = new IpBatchProcess({ ip: 'ip', namespace: ns, timeoutMs: 5000, recycleAfterLines: 5 });
  t.after(() => batch.close());
  const pids: (number | undefined)[] = [];
  const results = [];
  // 2 lines + the sentinel each: the first two requests share an ip (3, then 6 lines read), the third gets a new one.
  for (const n of [1, 2, 3, 4]) {
    results.push(await batch.run([`address replace 192.0.2.${n}/32 dev lo valid_lft 30 preferred_lft 30`, 'address show dev lo'], 1));
    pids.push(pidOf(batch));
  }
  assert.equal(pids[0], pids[1]);
  assert.notEqual(pids[1], pids[2]);
  assert.equal(pids[2], pids[3]);
  for (const result of results) assert.deepEqual(result.failures, []);
  assert.match(results[3]?.documents[0] ?? '', /192\.0\.2\.4/);
  const old = pids[0]!;
  // The replaced ip is gone, not left running.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(fs.existsSync(`/proc/${old}`) && !fs.readFileSync(`/proc/${old}/stat`, 'utf8').includes(') Z'), false);
});

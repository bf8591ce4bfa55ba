import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../support/paths.js';
import { requirePrerequisites } from '../../support/prereq.js';

const UNIT = path.join(repoRoot, 'packaging', 'healthcast.service');

function settings(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) map.set(match[1]!, [...(map.get(match[1]!) ?? []), match[2]!]);
  }
  return map;
}

test('the unit: notify with watchdog, check-config before start, HUP reload, cleanup after stop, only the needed capabilities, stopped before the services it fronts', () => {
  const unit = settings(fs.readFileSync(UNIT, 'utf8'));
  const one = (key: string) => unit.get(key)?.join(' ');
  assert.equal(one('Type'), 'notify');
  assert.equal(one('NotifyAccess'), 'all', 'the sd_notify helper is a child process');
  assert.match(one('WatchdogSec') ?? '', /^\d+$/);
  assert.match(one('ExecStartPre') ?? '', /healthcast check-config/);
  assert.match(one('ExecStart') ?? '', /healthcast run/);
  assert.match(one('ExecReload') ?? '', /kill -HUP \$MAINPID/);
  assert.match(one('ExecStopPost') ?? '', /healthcast cleanup/);
  assert.equal(one('User'), 'healthcast');
  assert.deepEqual(one('AmbientCapabilities')?.split(/\s+/).sort(), ['CAP_NET_ADMIN', 'CAP_NET_RAW']);
  assert.deepEqual(one('CapabilityBoundingSet')?.split(/\s+/).sort(), ['CAP_NET_ADMIN', 'CAP_NET_RAW']);
  assert.match(one('After') ?? '', /unbound\.service/, 'started after, so stopped before, the fronted service');
  assert.equal(unit.has('Requires') || unit.has('BindsTo'), false, 'never pins the services it fronts');
  assert.equal(one('RuntimeDirectory'), 'healthcast', '/run/healthcast for the default control socket');
});

test('systemd-analyze accepts the unit', (t) => {
  if (!requirePrerequisites(t, { commands: ['systemd-analyze'] })) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-unit-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // /usr/bin/healthcast is not installed here: point the commands at an executable that exists.
  const copy = path.join(dir, 'healthcast.service');
  fs.writeFileSync(copy, fs.readFileSync(UNIT, 'utf8').replaceAll('/usr/bin/healthcast', '/bin/true'));
  const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 30_000 });
  const ours = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.includes('healthcast.service'));
  assert.deepEqual(ours, [], 'no warnings about our unit');
  assert.equal(result.status, 0, result.stderr);
});

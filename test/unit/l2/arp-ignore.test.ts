import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureArpIgnore, lanInterfaces, needsArpIgnore } from '../../../src/l2/arp-ignore.js';
import { serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import { silentLogger } from '../../../src/log.js';

const probe = switchProbe().definition;
const vip = serviceConfig('vip', ['198.51.100.10', '2001:db8:1::10'], probe, { interface: 'eth0', announceL2: { count: 2 } });
const v6only = serviceConfig('v6', ['2001:db8:2::10'], probe, { interface: 'eth1' });
const routed = serviceConfig('routed', ['198.51.100.20'], probe, { interface: 'eth2', announce: 'route' });
const loop = serviceConfig('loop', ['192.0.2.53'], probe);

test('only LAN interfaces with IPv4 service addresses need arp_ignore; the kernel takes the larger of all and the interface', () => {
  assert.deepEqual(lanInterfaces([vip, v6only, routed, loop]), ['eth0']);
  const rows: [number, number, boolean][] = [
    [0, 0, true],
    [0, 1, false],
    [1, 0, false],
    [0, 2, false],
  ];
  for (const [all, own, needed] of rows) assert.equal(needsArpIgnore(all, own), needed, `all=${all} own=${own}`);
});

test('ensureArpIgnore raises it where needed, never lowers it, and logs instead of throwing for a missing interface', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-arp-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const set = (name: string, value: number) => {
    fs.mkdirSync(path.join(root, name), { recursive: true });
    fs.writeFileSync(path.join(root, name, 'arp_ignore'), `${value}\n`);
  };
  const get = (name: string) => fs.readFileSync(path.join(root, name, 'arp_ignore'), 'utf8').trim();
  set('all', 0);
  set('eth0', 0);
  set('eth1', 2);
  const eth1 = serviceConfig('eth1', ['198.51.100.30'], probe, { interface: 'eth1' });
  const gone = serviceConfig('gone', ['198.51.100.40'], probe, { interface: 'eth9' });
  assert.deepEqual(await ensureArpIgnore([vip, eth1, gone], silentLogger(), root), ['eth0']);
  assert.equal(get('eth0'), '1');
  assert.equal(get('eth1'), '2', 'a stricter setting stays');
  assert.deepEqual(await ensureArpIgnore([vip], silentLogger(), root), [], 'already set: nothing to do');
});

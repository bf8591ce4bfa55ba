// The disable file in the two-node anycast lab (lab/dns-anycast.ts): a file named after the service in node a's
// disable_dir takes node a out of the router's routes, with no control socket involved; removing it brings a back.
// An agent started with the file already there never puts the address on the system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePrerequisites } from '../support/prereq.js';
import { buildDnsAnycastLab, DNS_SERVICE } from '../../lab/dns-anycast.js';
import { startAgent } from '../../lab/healthcast.js';
import { waitFor } from '../../lab/process.js';
import { controlRequest } from '../../src/control/client.js';
import type { StatusJson } from '../../src/control/status.js';

const COMMANDS = ['ip', 'sysctl', 'vtysh', 'unbound', '/usr/lib/frr/zebra', '/usr/lib/frr/ospfd', '/usr/lib/frr/ospf6d'];
const V4 = '192.0.2.53';
const V6 = '2001:db8:53::53';
const NOTE = 'e2e: replacing a disk, back by 14:00';

test(
  'a disable file takes the node out of the router and removing it brings it back; present at start, the address never appears',
  { timeout: 180_000 },
  async (t) => {
    if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
    // drain 0: the router loses the node as soon as the file is noticed, so the time measured is the agent's.
    const lab = await buildDnsAnycastLab({ name: 'e2edisable', addresses: [V4, V6], serviceFor: () => ({ drain: '0ms' }) });
    try {
      const agentA = lab.agents.a;
      const disableDir = path.join(agentA.dir, 'disable.d');
      const disableFile = path.join(disableDir, DNS_SERVICE);
      const socket = path.join(agentA.dir, 'control.sock');
      const status = async () => ((await controlRequest(socket, { command: 'status' }, { timeoutMs: 5000 })) as StatusJson).services[0]!;

      // The directory does not exist yet: the agent notices it once created (the poll sets up the watch).
      fs.mkdirSync(disableDir);
      const touchedAt = Date.now();
      fs.writeFileSync(disableFile, `${NOTE}\n`);
      await waitFor('the router to route via b only', () => lab.routedVia([lab.ifB]), { timeoutMs: 5000, intervalMs: 10 });
      const lostAfter = Date.now() - touchedAt;
      t.diagnostic(`directory created, file written -> router routes via b only: ${lostAfter} ms (the poll found the new directory)`);
      assert.ok(lostAfter < 2500, `noticed within the poll's second, plus OSPF (${lostAfter} ms)`);
      const held = await status();
      assert.equal(held.state, 'drained');
      assert.equal(held.maintenance_by, `disable file ${disableFile}`);
      assert.equal(held.maintenance_note, NOTE);

      const removedAt = Date.now();
      fs.rmSync(disableFile);
      await lab.waitForBothNodes(10_000);
      t.diagnostic(`file removed -> router routes via a and b: ${Date.now() - removedAt} ms (probing went on: no rise needed)`);
      assert.equal((await status()).maintenance, false);

      // The directory is watched now: fs.watch, not the poll, notices the next file.
      const touchedAgainAt = Date.now();
      fs.writeFileSync(disableFile, '');
      await waitFor('the router to route via b only', () => lab.routedVia([lab.ifB]), { timeoutMs: 5000, intervalMs: 10 });
      const watchedAfter = Date.now() - touchedAgainAt;
      t.diagnostic(`file written into the watched directory -> router routes via b only: ${watchedAfter} ms`);
      assert.ok(watchedAfter < 900, `fs.watch noticed it before the poll would have (${watchedAfter} ms)`);
      fs.rmSync(disableFile);
      await lab.waitForBothNodes(10_000);

      // Stopped, the file written, started again with the same config: the address never reaches node a's interfaces.
      agentA.signal('SIGTERM');
      await agentA.exited;
      await waitFor('the router to route via b only', () => lab.routedVia([lab.ifB]), { timeoutMs: 10_000, intervalMs: 20 });
      fs.writeFileSync(disableFile, '');
      const since = lab.addressMonitor.events.length;
      const again = await startAgent(lab.lab, lab.a, { name: path.basename(agentA.dir) });
      await again.waitForLine('dns healthy (held)', (line) => line.service === DNS_SERVICE && line.to === 'up', { timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const added = lab.addressMonitor.events.slice(since).filter((event) => !event.deleted && (event.target === V4 || event.target === V6));
      assert.deepEqual(
        added.map((event) => event.text),
        [],
        'no service address added while the file was there',
      );
      assert.equal(await lab.routedVia([lab.ifB]), true);
      assert.equal((await status()).maintenance_note, null, 'an empty file holds without a note');
      fs.rmSync(disableFile);
      await lab.waitForBothNodes(10_000);
    } finally {
      await lab.destroy();
    }
  },
);

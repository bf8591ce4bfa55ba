// A cheap syntax check of every rendered variant with FRR's own parsers, no daemons left running:
// `vtysh -C -f FILE` (the full grammar of all daemons; exit code 2 on an unknown line) and `DAEMON -C -f FILE`
// (each daemon's validation; it exits 0 whatever happens and prints the errors, so we read them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../support/paths.js';
import { requirePrerequisites } from '../../support/prereq.js';
import { withLab, type LabNode } from '../../../lab/lab.js';
import { run } from '../../../lab/netns.js';
import { resolveRenderOptions, type FrrProtocol, type FrrStyle } from '../../../src/frr/render-options.js';
import { renderFrrConfig } from '../../../src/frr/render.js';
import type { ProfileName } from '../../../src/frr/profiles.js';
import { FRR_BIN } from '../../../lab/frr.js';

const COMMANDS = ['ip', 'vtysh', `${FRR_BIN}/zebra`, `${FRR_BIN}/ospfd`, `${FRR_BIN}/ospf6d`, `${FRR_BIN}/bgpd`, `${FRR_BIN}/bfdd`];
// What FRR 8.4 prints for a config line it cannot use (daemon -C), and for a refused value.
const ERROR_LINE =
  /No such command|Configuration failed|error processing configuration|failed to validate|Ambiguous command|Command incomplete|Unknown command/i;
const SHARED_STATE_DIR = '/var/run/frr';
// Beside the two profiles (fast renders BFD with its defaults): the default profile with frr.bfd's own timers and
// the vty password line of the split files.
const VARIANTS = ['default', 'fast', 'default+bfd+password'] as const;
const BFD_TIMERS = { receive_interval: 300, transmit_interval: 250, detect_multiplier: 5 };

const SOURCE = {
  interface: 'lo',
  services: [
    { addresses: ['192.0.2.53', '192.0.2.100', '2001:db8:53::53'], interface: 'lo' },
    // Routing policy: a metric level, a degraded level and a BGP prepend in every variant.
    { addresses: ['192.0.2.54', '2001:db8:53::54'], interface: 'lo', metric: 100, degradedMetric: 65000, degradedPrepend: 2 },
  ],
  frr: {
    vtysh: 'vtysh',
    hostname: 'node-a',
    router_id: '10.255.0.2',
    interfaces: [
      { name: 'eth0', network: 'point-to-point' as const },
      { name: 'eth1', cost: 100 },
      { name: 'eth2', network: 'point-to-point' as const, passive: true },
    ],
    asn: 65001,
    neighbors: [
      { address: '198.51.100.1', remote_as: 65000 },
      { address: '2001:db8:ffff::1', remote_as: 65000 },
    ],
  },
};

// Runs inside a throwaway namespace so zebra's start-up probing touches nothing of the host's.
async function dryRun(node: LabNode, daemon: string, file: string): Promise<string[]> {
  // bfdd would otherwise create its control socket in the shared /var/run/frr, even for a dry run.
  const control = daemon === 'bfdd' ? ['--bfdctl', path.join(path.dirname(file), 'bfdd.sock')] : [];
  const { stdout, stderr } = await node.exec(path.join(FRR_BIN, daemon), ['-C', '-f', file, ...control], { timeoutMs: 15_000 });
  return `${stdout}\n${stderr}`.split('\n').filter((line) => ERROR_LINE.test(line));
}

async function vtyshCheck(file: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('vtysh', ['-C', '-f', file], { timeoutMs: 15_000 });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    return { ok: false, output: (error as Error).message };
  }
}

// Dry runs still write graceful-restart and sequence-number files to the shared /var/run/frr: remove new ones.
async function cleaningSharedState(fn: () => Promise<void>): Promise<void> {
  const list = () => (fs.existsSync(SHARED_STATE_DIR) ? fs.readdirSync(SHARED_STATE_DIR) : []);
  const before = new Set(list());
  try {
    await fn();
  } finally {
    for (const name of list()) {
      if (!before.has(name) && /^(zebra|ospfd|ospf6d|bgpd|bfdd)[-.]/.test(name)) fs.rmSync(path.join(SHARED_STATE_DIR, name), { force: true });
    }
  }
}

test("every rendered variant passes vtysh --dryrun and each daemon's --dryrun", { timeout: 120_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  await cleaningSharedState(async () => {
    await withLab({ name: 'dryrun' }, async (lab) => {
      const node = await lab.node('dry');
      let checked = 0;
      for (const style of ['split', 'integrated'] as FrrStyle[]) {
        for (const protocol of ['ospf', 'bgp'] as FrrProtocol[]) {
          for (const variant of VARIANTS) {
            const profile: ProfileName = variant === 'fast' ? 'fast' : 'default';
            const extras = variant === 'default+bfd+password';
            const resolved = resolveRenderOptions(extras ? { ...SOURCE, frr: { ...SOURCE.frr, bfd: BFD_TIMERS } } : SOURCE, { style, protocol, profile });
            assert.ok(resolved.ok);
            const options = extras ? { ...resolved.options, vtyPassword: 'Vty-S3cret' } : resolved.options;
            const dir = path.join(lab.dir, `${style}-${protocol}-${variant}`);
            fs.mkdirSync(dir, { mode: 0o755 });
            const files = renderFrrConfig(options);
            // What each variant must carry, so a template that silently dropped a block fails here.
            const text = files.map((file) => file.text).join('');
            assert.equal(/^bfd$/m.test(text), variant !== 'default', `${style}-${protocol}-${variant}: bfd block`);
            if (extras) assert.match(text, /^ {2}receive-interval 300\n {2}transmit-interval 250\n {2}detect-multiplier 5$/m);
            if (protocol === 'ospf') assert.match(text, /^ ipv6 ospf6 passive$/m);
            assert.equal(/^password Vty-S3cret$/m.test(text), extras && style === 'split', `${style}-${protocol}-${variant}: password line`);
            for (const file of files) {
              const target = path.join(dir, file.name);
              fs.writeFileSync(target, file.text, { mode: 0o644 });
              const grammar = await vtyshCheck(target);
              assert.ok(grammar.ok, `vtysh -C -f ${style}-${protocol}-${variant}/${file.name}: ${grammar.output}`);
              // The integrated file holds every daemon's lines, which the other daemons rightly refuse.
              if (file.name !== 'frr.conf')
                assert.deepEqual(await dryRun(node, file.name.replace('.conf', ''), target), [], `${file.name} (${style}/${protocol}/${variant})`);
              checked += 1;
            }
          }
        }
      }
      t.diagnostic(`${checked} rendered files checked`);
      // split ospf: 3 files (+ bfdd.conf with BFD), split bgp: 2 (+ 1), integrated: 1, per variant; two of three with BFD.
      assert.equal(checked, 3 * (3 + 2 + 2) + 2 * 2, 'files checked');
    });
  });
});

test('the dry runs do catch broken configs (so a pass above means something)', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  await cleaningSharedState(() =>
    withLab({ name: 'dryrunbad' }, async (lab) => {
      const node = await lab.node('dry');
      const unknown = path.join(lab.dir, 'unknown.conf');
      fs.writeFileSync(unknown, 'router ospf\n redistribute connected route-map X\n timers throttle lsa everything 0\nexit\n', { mode: 0o644 });
      const refused = path.join(lab.dir, 'refused.conf');
      fs.writeFileSync(refused, 'ip prefix-list X seq 5 permit 192.0.2.0/24 ge 20\n', { mode: 0o644 });
      const grammar = await vtyshCheck(unknown);
      assert.equal(grammar.ok, false);
      assert.match(grammar.output, /Unknown command.*timers throttle lsa everything 0/);
      assert.deepEqual(
        (await dryRun(node, 'ospfd', unknown)).map((line) => line.replace(/^.*\] /, '')),
        ['No such command on config line 3:  timers throttle lsa everything 0'],
      );
      // bfdd checks its profile's values (receive-interval is 10-60000 ms).
      const badBfd = path.join(lab.dir, 'bfdd-bad.conf');
      fs.writeFileSync(badBfd, 'bfd\n profile X\n  receive-interval 5\n exit\nexit\n', { mode: 0o644 });
      assert.ok((await dryRun(node, 'bfdd', badBfd)).some((line) => /line 3: +receive-interval 5/.test(line)));
      // vtysh only knows the grammar; the value check is the daemon's.
      assert.equal((await vtyshCheck(refused)).ok, true);
      assert.ok((await dryRun(node, 'zebra', refused)).some((line) => /Invalid prefix range for 192\.0\.2\.0\/24/.test(line)));
    }),
  );
});

test('the FRR router examples in docs/upstream-router.md are valid FRR 8.4 configuration', { timeout: 60_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const markdown = fs.readFileSync(path.join(repoRoot, 'docs', 'upstream-router.md'), 'utf8');
  const blocks = [...markdown.matchAll(/^```frr\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  assert.equal(blocks.length, 3, 'an OSPF, a BGP and a BFD example');
  await cleaningSharedState(() =>
    withLab({ name: 'dryrundoc' }, async (lab) => {
      const node = await lab.node('dry');
      for (const [index, block] of blocks.entries()) {
        const file = path.join(lab.dir, `router-${index}.conf`);
        fs.writeFileSync(file, block, { mode: 0o644 });
        const grammar = await vtyshCheck(file);
        assert.ok(grammar.ok, `example ${index + 1}: ${grammar.output}`);
        // zebra validates the prefix-lists and route-maps; the protocol blocks are rightly unknown to it.
        assert.deepEqual(
          (await dryRun(node, 'zebra', file)).filter((line) => !/No such command/.test(line)),
          [],
          `example ${index + 1}`,
        );
        const daemon = block.includes('router bgp') ? 'bgpd' : block.startsWith('bfd\n') ? 'bfdd' : 'ospfd';
        assert.deepEqual(
          (await dryRun(node, daemon, file)).filter(
            (line) => !/No such command on config line \d+: +(router ospf6|ospf6 router-id|ipv6 ospf6|ip protocol|ipv6 protocol|timers)/.test(line),
          ),
          [],
          `example ${index + 1} in ${daemon}`,
        );
      }
    }),
  );
});

// The rendered FRR configs: exact text for one config (snapshot files), determinism, split and integrated alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { loadConfig } from '../../../src/config/load.js';
import { resolveRenderOptions, type FrrFlags, type RenderOptions, type RenderSource } from '../../../src/frr/render-options.js';
import { filesFor, joinForStdout, renderFrrConfig } from '../../../src/frr/render.js';
import { fixture } from '../../support/paths.js';

const CONFIG = fixture('frr', 'config', 'healthcast.yaml');

async function optionsFor(flags: FrrFlags, source?: RenderSource): Promise<RenderOptions> {
  const resolved = resolveRenderOptions(source ?? (await loadConfig(CONFIG)), flags, 'unused-system-name');
  if (!resolved.ok) assert.fail(resolved.errors.join('\n'));
  return resolved.options;
}

// Each command with the blocks it sits in ("router bgp 65001 > address-family ipv4 unicast > neighbor ..."),
// so two configs compare by meaning, not by layout or comments.
function commandPaths(text: string): string[] {
  const paths: string[] = [];
  const stack: { indent: number; line: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.trim() === '' || line.trim().startsWith('!')) continue;
    const indent = line.length - line.trimStart().length;
    while (stack.length > 0 && stack.at(-1)!.indent >= indent) stack.pop();
    if (line.trim() === 'exit-address-family' || line.trim() === 'exit') continue;
    paths.push([...stack.map((entry) => entry.line), line.trim()].join(' > '));
    stack.push({ indent, line: line.trim() });
  }
  return paths;
}

for (const [variant, flags] of [
  ['split-ospf-default', { style: 'split' }],
  ['integrated-bgp-fast', { protocol: 'bgp', profile: 'fast' }],
  ['split-ospf-fast', { style: 'split', profile: 'fast' }],
] as const) {
  test(`${variant}: exactly the expected text for test/fixtures/frr/config/healthcast.yaml`, async () => {
    const files = renderFrrConfig(await optionsFor(flags));
    const dir = fixture('frr', 'expected', variant);
    assert.deepEqual(files.map((file) => file.name).sort(), fs.readdirSync(dir).sort());
    for (const file of files) assert.equal(file.text, fs.readFileSync(`${dir}/${file.name}`, 'utf8'), `${variant}/${file.name}`);
  });
}

test('the same input renders the same bytes, whatever order the services and addresses were written in', async () => {
  const config = await loadConfig(CONFIG);
  const reversed: RenderSource = {
    ...config,
    services: [...config.services].reverse().map((service) => ({ ...service, addresses: [...service.addresses].reverse() })),
  };
  for (const style of ['split', 'integrated']) {
    for (const protocol of ['ospf', 'bgp']) {
      const first = renderFrrConfig(await optionsFor({ style, protocol }));
      assert.deepEqual(renderFrrConfig(await optionsFor({ style, protocol })), first);
      assert.deepEqual(renderFrrConfig(await optionsFor({ style, protocol }, reversed)), first, `${style}/${protocol} with services reversed`);
    }
  }
});

test('split and integrated styles carry the same commands for every protocol and profile', async () => {
  for (const protocol of ['ospf', 'bgp']) {
    for (const profile of ['default', 'fast']) {
      const split = renderFrrConfig(await optionsFor({ style: 'split', protocol, profile }));
      const [integrated] = renderFrrConfig(await optionsFor({ style: 'integrated', protocol, profile }));
      const splitPaths = new Set(split.flatMap((file) => commandPaths(file.text)));
      const integratedPaths = new Set(commandPaths(integrated!.text));
      assert.deepEqual([...integratedPaths].sort(), [...splitPaths].sort(), `${protocol}/${profile}`);
    }
  }
});

test('only the service addresses are permitted, each exactly, in both families', async () => {
  const [file] = renderFrrConfig(await optionsFor({ protocol: 'bgp' }));
  const permits = file!.text
    .split('\n')
    .filter((line) => / prefix-list HC-SERVICES-V[46] seq \d+ permit /.test(line))
    .map((line) => line.split(' ').at(-1));
  assert.deepEqual(permits, ['192.0.2.9/32', '192.0.2.53/32', '192.0.2.100/32', '2001:db8:9::80/128', '2001:db8:53::53/128']);
  assert.doesNotMatch(file!.text, / ge | le /, 'no ranges: a foreign address inside 192.0.2.0/24 must not pass');
});

test('a family without service addresses gets an explicit deny, not a missing prefix-list', async () => {
  const config = await loadConfig(CONFIG);
  const v4Only: RenderSource = {
    ...config,
    services: config.services.map((service) => ({ ...service, addresses: service.addresses.filter((address) => !address.includes(':')) })),
  };
  const files = renderFrrConfig(await optionsFor({ style: 'split' }, v4Only));
  const ospf6d = files.find((file) => file.name === 'ospf6d.conf')!.text;
  assert.match(ospf6d, /^ipv6 prefix-list HC-SERVICES-V6 seq 10 deny any$/m);
  assert.doesNotMatch(ospf6d, /permit 2001/);
});

test('fast and default profiles differ in the timers, and the timers come from the profile', async () => {
  const fast = renderFrrConfig(await optionsFor({ style: 'split', profile: 'fast' })).find((file) => file.name === 'ospfd.conf')!.text;
  assert.match(fast, /^ ip ospf hello-interval 1$/m);
  assert.match(fast, /^ ip ospf dead-interval 3$/m);
  assert.match(fast, /^ timers throttle spf 0 50 200$/m);
  assert.match(fast, /^ timers throttle lsa all 0$/m);
  assert.match(fast, /^ timers lsa min-arrival 0$/m);
});

test('files per style and protocol; stdout marks each split file with a `! ==>` line', async () => {
  assert.deepEqual(filesFor({ style: 'split', protocol: 'ospf' }), ['zebra.conf', 'ospfd.conf', 'ospf6d.conf']);
  assert.deepEqual(filesFor({ style: 'split', protocol: 'bgp' }), ['zebra.conf', 'bgpd.conf']);
  assert.deepEqual(filesFor({ style: 'integrated', protocol: 'bgp' }), ['frr.conf']);
  const bfd = { receiveIntervalMs: 100, transmitIntervalMs: 100, detectMultiplier: 3 };
  assert.deepEqual(filesFor({ style: 'split', protocol: 'ospf', bfd }), ['zebra.conf', 'ospfd.conf', 'ospf6d.conf', 'bfdd.conf']);
  assert.deepEqual(filesFor({ style: 'split', protocol: 'bgp', bfd }), ['zebra.conf', 'bgpd.conf', 'bfdd.conf']);
  assert.deepEqual(filesFor({ style: 'integrated', protocol: 'ospf', bfd }), ['frr.conf']);
  const split = renderFrrConfig(await optionsFor({ style: 'split' }));
  const joined = joinForStdout(split, 'split');
  assert.deepEqual(
    joined.split('\n').filter((line) => line.startsWith('! ==> ')),
    ['! ==> zebra.conf', '! ==> ospfd.conf', '! ==> ospf6d.conf'],
  );
  assert.equal(joined, split.map((file) => `! ==> ${file.name}\n${file.text}`).join(''));
  const integrated = renderFrrConfig(await optionsFor({}));
  assert.equal(joinForStdout(integrated, 'integrated'), integrated[0]!.text);
  for (const file of [...split, ...integrated]) assert.doesNotMatch(file.text, /{{|}}/, `${file.name} has no template syntax left`);
});

test('BFD: every OSPF interface (both daemons) and BGP neighbour names the profile bfdd defines; none without BFD', async () => {
  const withBfd = { ...(await optionsFor({ profile: 'default' })), bfd: { receiveIntervalMs: 300, transmitIntervalMs: 250, detectMultiplier: 5 } };
  for (const protocol of ['ospf', 'bgp'] as const) {
    const [file] = renderFrrConfig({ ...withBfd, protocol });
    const text = file!.text;
    assert.match(text, /^bfd\n profile HC-BFD\n {2}receive-interval 300\n {2}transmit-interval 250\n {2}detect-multiplier 5\n exit\n !\nexit\n!\n$/m);
    assert.ok(text.endsWith('exit\n!\n'), 'the bfd block is last: a daemon reading frr.conf itself stops at the first block it does not know');
    if (protocol === 'ospf') {
      const paths = commandPaths(text);
      for (const name of ['eth0', 'eth1']) {
        assert.ok(paths.includes(`interface ${name} > ip ospf bfd`), `${name} ip ospf bfd`);
        assert.ok(paths.includes(`interface ${name} > ip ospf bfd profile HC-BFD`), `${name} ip ospf bfd profile`);
        assert.ok(paths.includes(`interface ${name} > ipv6 ospf6 bfd profile HC-BFD`), `${name} ipv6 ospf6 bfd profile`);
      }
    } else {
      for (const neighbor of ['198.51.100.1', '2001:db8:ffff::1']) assert.match(text, new RegExp(`^ neighbor ${neighbor} bfd profile HC-BFD$`, 'm'));
    }
    const [plain] = renderFrrConfig({ ...withBfd, protocol, bfd: undefined });
    assert.doesNotMatch(plain!.text, /bfd/);
  }
});

test('passive links: `ip ospf passive` and `ipv6 ospf6 passive` on that interface only, in split and integrated files', async () => {
  const options = await optionsFor({ style: 'split' });
  const passive = { ...options, interfaces: options.interfaces.map((entry) => (entry.name === 'eth1' ? { ...entry, passive: true } : entry)) };
  const split = renderFrrConfig(passive);
  const [integrated] = renderFrrConfig({ ...passive, style: 'integrated' });
  for (const text of [split.map((file) => file.text).join(''), integrated!.text]) {
    const paths = commandPaths(text);
    assert.ok(paths.includes('interface eth1 > ip ospf passive'));
    assert.ok(paths.includes('interface eth1 > ipv6 ospf6 passive'));
    assert.equal(paths.filter((entry) => entry.endsWith('passive')).length, 2, 'eth0 stays active');
  }
});

test('the vty password goes right after `hostname` in every split file, and never into frr.conf', async () => {
  const options = { ...(await optionsFor({ style: 'split', profile: 'fast' })), vtyPassword: 'S3cret-word' };
  const split = renderFrrConfig(options);
  assert.deepEqual(
    split.map((file) => file.name),
    ['zebra.conf', 'ospfd.conf', 'ospf6d.conf', 'bfdd.conf'],
  );
  for (const file of split) assert.match(file.text, /^hostname anycast-a\npassword S3cret-word\n/m, file.name);
  for (const file of renderFrrConfig({ ...options, protocol: 'bgp' })) assert.match(file.text, /^password S3cret-word$/m, `bgp ${file.name}`);
  const [integrated] = renderFrrConfig({ ...options, style: 'integrated' });
  assert.doesNotMatch(integrated!.text, /password|S3cret/);
});

// `healthcast frr-config` through the real dispatcher: stdout, --out, flags, and exit codes with named errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispatch } from '../../../src/cli/main.js';
import { fixture } from '../../support/paths.js';

const CONFIG = fixture('frr', 'config', 'healthcast.yaml');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await dispatch(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.map((line) => `${line}\n`).join(''), err: err.join('\n') };
}

function expected(variant: string, name: string): string {
  return fs.readFileSync(fixture('frr', 'expected', variant, name), 'utf8');
}

test('without --out the split files go to stdout, each under its `! ==>` line, exit 0', async () => {
  const result = await cli('frr-config', '--config', CONFIG, '--style', 'split');
  assert.equal(result.code, 0, result.err);
  assert.equal(result.out, ['zebra.conf', 'ospfd.conf', 'ospf6d.conf'].map((name) => `! ==> ${name}\n${expected('split-ospf-default', name)}`).join(''));
});

test('--out writes the files (mode 0640), replaces old ones, and lists them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-frr-config-'));
  try {
    fs.writeFileSync(path.join(dir, 'frr.conf'), 'stale\n');
    const result = await cli('frr-config', '-c', CONFIG, '--protocol', 'bgp', '--profile', 'fast', '--out', dir);
    assert.equal(result.code, 0, result.err);
    assert.equal(result.out, `wrote ${path.join(dir, 'frr.conf')}\n`);
    assert.equal(fs.readFileSync(path.join(dir, 'frr.conf'), 'utf8'), expected('integrated-bgp-fast', 'frr.conf'));
    assert.equal(fs.statSync(path.join(dir, 'frr.conf')).mode & 0o777, 0o640);
    assert.deepEqual(fs.readdirSync(dir), ['frr.conf'], 'no temporary file is left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('flags fill what a config without frr: lacks', async () => {
  const bare = fixture('frr', 'config', 'no-frr.yaml');
  const missing = await cli('frr-config', '-c', bare, '--protocol', 'bgp');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /frr\.router_id: required/);
  assert.match(missing.err, /frr\.asn: required for --protocol bgp/);
  const result = await cli(
    'frr-config',
    '-c',
    bare,
    '--protocol',
    'bgp',
    '--hostname',
    'n1',
    '--router-id',
    '10.0.0.7',
    '--asn',
    '65007',
    '--neighbor',
    '198.51.100.1=65000',
    '--neighbor',
    '2001:db8:ffff::1=65000',
  );
  assert.equal(result.code, 0, result.err);
  assert.match(result.out, /^router bgp 65007$/m);
  assert.match(result.out, /^ bgp router-id 10\.0\.0\.7$/m);
  assert.match(result.out, /^ neighbor 2001:db8:ffff::1 remote-as 65000$/m);
  assert.match(result.out, /^ip prefix-list HC-SERVICES-V4 seq 10 permit 192\.0\.2\.53\/32$/m);
  assert.match(result.out, /^ipv6 prefix-list HC-SERVICES-V6 seq 10 deny any$/m);
});

test('invalid input exits 2 and names every key or flag at fault', async () => {
  const result = await cli('frr-config', '-c', CONFIG, '--protocol', 'bgp', '--asn', 'x', '--style', 'one');
  assert.equal(result.code, 2);
  assert.equal(result.out, '');
  assert.equal(
    result.err,
    ['healthcast frr-config: 2 error(s)', '  --style: must be split or integrated, got "one"', '  --asn: must be an AS number 1-4294967295, got "x"'].join(
      '\n',
    ),
  );
  const broken = await cli('frr-config', '-c', fixture('frr', 'config', 'bad-frr.yaml'));
  assert.equal(broken.code, 2);
  assert.match(broken.err, /bad-frr\.yaml: frr\.asn: must be 1-4294967295/);
});

test('--out into a path that cannot be a directory exits 1 with the reason', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hc-frr-config-')), 'plain-file');
  try {
    fs.writeFileSync(file, 'x');
    const result = await cli('frr-config', '-c', CONFIG, '--out', file);
    assert.equal(result.code, 1);
    assert.match(result.err, /--out .*plain-file: .*EEXIST|ENOTDIR/);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

test('frr.vty_password_file: the password line is in the split files --out writes, never on stdout or stderr', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-frr-config-'));
  try {
    const secret = 'Vty-S3cret-4711';
    const passwordFile = path.join(dir, 'vty.password');
    fs.writeFileSync(passwordFile, `${secret}\n`, { mode: 0o600 });
    const config = path.join(dir, 'healthcast.yaml');
    const base = fs.readFileSync(CONFIG, 'utf8').replace('state_dir: ./state', `state_dir: ${path.join(dir, 'state')}`);
    fs.writeFileSync(config, base.replace(/^frr:\n/m, `frr:\n  vty_password_file: ${passwordFile}\n`));

    const out = path.join(dir, 'out');
    const written = await cli('frr-config', '-c', config, '--style', 'split', '--profile', 'fast', '--out', out);
    assert.equal(written.code, 0, written.err);
    assert.deepEqual(fs.readdirSync(out).sort(), ['bfdd.conf', 'ospf6d.conf', 'ospfd.conf', 'zebra.conf']);
    for (const name of fs.readdirSync(out)) assert.match(fs.readFileSync(path.join(out, name), 'utf8'), new RegExp(`^password ${secret}$`, 'm'), name);
    assert.doesNotMatch(written.out + written.err, new RegExp(secret));

    const printed = await cli('frr-config', '-c', config, '--style', 'split');
    assert.equal(printed.code, 0, printed.err);
    assert.doesNotMatch(printed.out + printed.err, new RegExp(secret));
    assert.doesNotMatch(printed.out, /^password /m);
    assert.match(printed.err, /password line \(frr\.vty_password_file\) is written only with --out/);

    const integrated = await cli('frr-config', '-c', config, '--out', path.join(dir, 'integrated'));
    assert.equal(integrated.code, 0, integrated.err);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'integrated', 'frr.conf'), 'utf8'), /password/);
    assert.match(integrated.err, /frr\.vty_password_file applies to --style split only/);

    fs.chmodSync(passwordFile, 0o000);
    fs.rmSync(passwordFile);
    const missing = await cli('frr-config', '-c', config, '--style', 'split', '--out', out);
    assert.equal(missing.code, 2);
    assert.equal(missing.err, `healthcast frr-config: frr.vty_password_file: cannot read ${passwordFile}: ENOENT`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

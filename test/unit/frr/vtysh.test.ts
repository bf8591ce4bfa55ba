// The vtysh client against a fake vtysh (test/fixtures/frr/fake-vtysh) that replays what FRR 8.4 printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, isHealthcastError } from '../../../src/errors.js';
import { createVtysh, vtyshFromConfig, VtyshError, type VtyshOptions } from '../../../src/frr/vtysh.js';
import { fixture } from '../../support/paths.js';

const FAKE_DIR = fixture('frr', 'fake-vtysh');
const FAKE = path.join(FAKE_DIR, 'vtysh');

function fake(mode: string, options: VtyshOptions = {}) {
  return createVtysh({ binary: FAKE, ...options, env: { FAKE_VTYSH_MODE: mode, ...options.env } });
}

async function rejection(promise: Promise<unknown>): Promise<VtyshError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof VtyshError, `expected a VtyshError, got ${String(error)}`);
  return error;
}

function argsFile(): { file: string; read(): string[]; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-fake-vtysh-'));
  const file = path.join(dir, 'args');
  return { file, read: () => fs.readFileSync(file, 'utf8').split('\n').slice(0, -1), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('show runs one -c with --vty_socket and parses the JSON', async () => {
  const args = argsFile();
  try {
    const vtysh = fake('json', { vtySocket: '/run/frr-test', env: { FAKE_VTYSH_ARGS: args.file } });
    const json = await vtysh.show<{ routerId: string }>('show ip ospf database external self-originate json');
    assert.equal(json.routerId, '10.0.0.2');
    assert.deepEqual(args.read(), ['--vty_socket', '/run/frr-test', '-c', 'show ip ospf database external self-originate json']);
  } finally {
    args.cleanup();
  }
});

test('a vtysh found first on PATH is used when the binary is a bare name', async () => {
  const vtysh = createVtysh({ binary: 'vtysh', env: { PATH: `${FAKE_DIR}:${process.env.PATH ?? ''}`, FAKE_VTYSH_MODE: 'json' } });
  assert.equal((await vtysh.show<{ routerId: string }>('show ip ospf json')).routerId, '10.0.0.2');
});

test('configure prefixes `configure terminal` and keeps the lines in order; FRR notes come back', async () => {
  const args = argsFile();
  try {
    const vtysh = fake('note', { env: { FAKE_VTYSH_ARGS: args.file } });
    const note = await vtysh.configure(['router ospf', ' ospf router-id 10.0.0.9']);
    assert.match(note, /clear ip ospf process/);
    assert.deepEqual(args.read(), ['-c', 'configure terminal', '-c', 'router ospf', '-c', ' ospf router-id 10.0.0.9']);
    assert.equal(await vtysh.configure([]), '', 'nothing to send: vtysh is not run');
  } finally {
    args.cleanup();
  }
});

test('configure calls from one client run one after another, never interleaved', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-fake-vtysh-'));
  const script = path.join(dir, 'vtysh');
  const log = path.join(dir, 'log');
  // Logs start and end of each call; a call takes 100 ms.
  fs.writeFileSync(script, `#!/bin/sh\nlast=""; for a in "$@"; do last="$a"; done\necho "start $last" >> ${log}\nsleep 0.1\necho "end $last" >> ${log}\n`, {
    mode: 0o755,
  });
  try {
    const vtysh = createVtysh({ binary: script });
    const failing = createVtysh({ binary: FAKE, env: { FAKE_VTYSH_MODE: 'unknown' } });
    await Promise.all([vtysh.configure(['one']), vtysh.configure(['two']), vtysh.configure(['three']), failing.configure(['x']).catch(() => undefined)]);
    assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), ['start one', 'end one', 'start two', 'end two', 'start three', 'end three']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a rejected configure does not block the next one', async () => {
  const args = argsFile();
  try {
    const vtysh = createVtysh({ binary: FAKE, env: { FAKE_VTYSH_MODE: 'unknown', FAKE_VTYSH_ARGS: args.file } });
    const first = await rejection(vtysh.configure(['bogus command']));
    assert.equal(first.code, ErrorCodes.VTYSH_REJECTED);
    assert.equal(first.frrMessage, '% Unknown command: bogus command');
    const second = await rejection(vtysh.configure(['another']));
    assert.equal(second.frrMessage, '% Unknown command: another');
  } finally {
    args.cleanup();
  }
});

for (const [mode, code, pattern] of [
  ['not-running', ErrorCodes.VTYSH_NOT_RUNNING, /failed to connect to any daemons/],
  ['permission', ErrorCodes.VTYSH_NOT_RUNNING, /group frrvty/],
  ['daemon-down', ErrorCodes.VTYSH_DAEMON_DOWN, /ospfd is not running/],
  ['unknown', ErrorCodes.VTYSH_REJECTED, /% Unknown command: show ip ospf json/],
  ['config-failed', ErrorCodes.VTYSH_REJECTED, /Error description: Invalid prefix range/],
  ['bgp-running', ErrorCodes.VTYSH_REJECTED, /BGP is already running; AS is 65001/],
  ['not-enabled', ErrorCodes.VTYSH_BAD_OUTPUT, /expected JSON, FRR printed "% OSPF is not enabled on vrf default"/],
  ['empty', ErrorCodes.VTYSH_BAD_OUTPUT, /expected JSON, FRR printed nothing/],
] as const) {
  test(`show: ${mode} becomes ${code} and keeps FRR's words`, async () => {
    const error = await rejection(fake(mode).show('show ip ospf json'));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
  });
}

test('a vtysh that never answers is killed at the timeout', async () => {
  const started = Date.now();
  const error = await rejection(fake('hang', { timeoutMs: 300 }).show('show ip ospf json'));
  const elapsed = Date.now() - started;
  assert.equal(error.code, ErrorCodes.VTYSH_TIMEOUT);
  assert.match(error.message, /no answer within 300ms/);
  assert.ok(elapsed >= 290 && elapsed < 2500, `returned after ${elapsed} ms`);
});

test('a missing binary is NOT_RUNNING, naming the path', async () => {
  const error = await rejection(createVtysh({ binary: '/nonexistent/vtysh' }).show('show version'));
  assert.equal(error.code, ErrorCodes.VTYSH_NOT_RUNNING);
  assert.match(error.message, /\/nonexistent\/vtysh not found/);
});

test('multi-line or empty commands are refused before vtysh runs', async () => {
  const vtysh = fake('json');
  for (const command of ['show ip ospf json\nconfigure terminal', '', '   ']) {
    await assert.rejects(vtysh.show(command), (error: unknown) => isHealthcastError(error, ErrorCodes.USAGE));
  }
  await assert.rejects(vtysh.run([]), (error: unknown) => isHealthcastError(error, ErrorCodes.USAGE));
});

test('vtyshFromConfig takes binary, socket directory and timeout from the frr: section', async () => {
  const args = argsFile();
  try {
    process.env.FAKE_VTYSH_MODE = 'json';
    process.env.FAKE_VTYSH_ARGS = args.file;
    const vtysh = vtyshFromConfig({ vtysh: FAKE, vty_socket: '/run/x', vtysh_timeout: 1000 });
    await vtysh.show('show ip ospf json');
    assert.deepEqual(args.read(), ['--vty_socket', '/run/x', '-c', 'show ip ospf json']);
  } finally {
    delete process.env.FAKE_VTYSH_MODE;
    delete process.env.FAKE_VTYSH_ARGS;
    args.cleanup();
  }
});

// The exec probe with real subprocesses: exit status, output tail, environment, no shell, and process-group kill.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import execProbe from '../../../probes/exec.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import { silentLogger } from '../../../src/log.js';
import { waitFor } from '../../../lab/process.js';
import { watchLoop } from '../../support/loop-lateness.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcast-exec-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function probe(raw: Record<string, unknown>, timeoutMs = 5000, signal?: AbortSignal) {
  const options = execProbe.options.parse(raw);
  return runProbe({
    definition: execProbe,
    options,
    timeoutMs,
    log: silentLogger(),
    service: { name: 'dns', addresses: ['192.0.2.53', '2001:db8::53'] },
    ...(signal ? { signal } : {}),
  });
}

// A zombie waiting for a late-reaping PID 1 counts as gone.
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function pidsFrom(file: string): number[] {
  return fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
}

test('exit 0 is healthy', async () => {
  const result = await probe({ command: ['true'] });
  assert.deepEqual([result.ok, result.reason], [true, undefined]);
});

test('a failing command reports its exit code and the tail of its output', async () => {
  const result = await probe({ command: ['sh', '-c', 'echo "CRITICAL: zone example.test has no SOA" >&2; exit 2'] });
  assert.equal(result.ok, false);
  assert.equal(result.reason, 'exit code 2: CRITICAL: zone example.test has no SOA');
  const long = await probe({ command: ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); done; echo LAST; exit 1'] });
  assert.match(long.reason ?? '', /^exit code 1: \.\.\..*line 299 \| LAST$/);
  assert.ok((long.reason ?? '').length <= 'exit code 1: ...'.length + 200, `reason too long: ${long.reason?.length}`);
  assert.equal((await probe({ command: ['false'] })).reason, 'exit code 1 (no output)');
  assert.equal((await probe({ command: ['sh', '-c', 'kill -TERM $$'] })).reason, 'killed by SIGTERM (no output)');
});

test('the environment carries HEALTHCAST_SERVICE, HEALTHCAST_ADDRESSES and the configured env', async () => {
  const result = await probe({
    command: ['sh', '-c', 'echo "[$HEALTHCAST_SERVICE][$HEALTHCAST_ADDRESSES][$PORT][$NAME]"; exit 3'],
    env: { PORT: 5353, NAME: 'a b' },
  });
  assert.equal(result.reason, 'exit code 3: [dns][192.0.2.53 2001:db8::53][5353][a b]');
  assert.ok(process.env.PATH, 'the parent environment is inherited');
  assert.equal((await probe({ command: ['sh', '-c', 'test -n "$PATH"'] })).ok, true);
});

test('arguments with shell metacharacters are passed literally; no shell runs them', async () => {
  fs.writeFileSync(path.join(dir, 'a-file'), '');
  const tricky = ['$(touch m1)', '`touch m2`', '; touch m3', '*', '> m4', '$HOME', '\'quoted\' "double"', 'a\\b'];
  const result = await probe({ command: ['sh', '-c', 'printf "[%s]" "$@"; exit 1', 'sh', ...tricky], cwd: dir });
  assert.equal(result.reason, `exit code 1: ${tricky.map((arg) => `[${arg}]`).join('')}`);
  const globbed = await probe({ command: ['ls', '*'], cwd: dir });
  assert.equal(globbed.ok, false);
  assert.match(globbed.reason ?? '', /cannot access '\*'/);
  for (const marker of ['m1', 'm2', 'm3', 'm4', '> m4']) assert.equal(fs.existsSync(path.join(dir, marker)), false, `${marker} was created`);
});

test('cwd sets the working directory; a missing program or directory is a clear failure', async () => {
  assert.equal((await probe({ command: ['sh', '-c', 'pwd; exit 1'], cwd: dir })).reason, `exit code 1: ${fs.realpathSync(dir)}`);
  assert.match((await probe({ command: ['/nonexistent/check'] })).reason ?? '', /^cannot run \/nonexistent\/check: .*ENOENT/);
  assert.equal((await probe({ command: ['true'], cwd: '/nonexistent-dir' })).reason, 'cannot run true: working directory /nonexistent-dir does not exist');
});

test('on timeout the whole process group is killed: the command and the grandchild it backgrounded', async () => {
  const pidFile = path.join(dir, 'timeout.pids');
  const started = performance.now();
  const loop = watchLoop();
  const result = await probe({ command: ['sh', '-c', 'sleep 30 & echo $! > "$0"; echo $$ >> "$0"; echo waiting; wait', pidFile] }, 400);
  const elapsed = performance.now() - started;
  const lateMs = loop.stop();
  assert.equal(result.ok, false);
  assert.equal(result.reason, 'timed out after 400ms; killed the process group of sh: waiting');
  assert.ok(elapsed < 1000 + lateMs, `took ${elapsed}ms (event loop late by up to ${lateMs}ms)`);
  const pids = pidsFrom(pidFile);
  assert.equal(pids.length, 2);
  await waitFor('the command and its grandchild to be gone', () => pids.every((pid) => !alive(pid)), { timeoutMs: 2000 });
});

test('what a successful command leaves running in its group is killed too, without delaying the verdict', async () => {
  const pidFile = path.join(dir, 'stray.pids');
  const started = performance.now();
  const loop = watchLoop();
  const result = await probe({ command: ['sh', '-c', 'sleep 30 & echo $! > "$0"', pidFile] });
  const elapsed = performance.now() - started;
  const lateMs = loop.stop();
  assert.equal(result.ok, true, result.reason);
  assert.ok(elapsed < 1000 + lateMs, `the stray still holding stdout did not delay the result: ${elapsed}ms (event loop late by up to ${lateMs}ms)`);
  const [grandchild] = pidsFrom(pidFile);
  await waitFor('the backgrounded sleep to be gone', () => !alive(grandchild!), { timeoutMs: 2000 });
});

test('cancelling through the parent signal kills the command', async () => {
  const pidFile = path.join(dir, 'cancel.pids');
  const controller = new AbortController();
  const pending = probe({ command: ['sh', '-c', 'echo $$ > "$0"; exec sleep 30', pidFile] }, 10_000, controller.signal);
  await waitFor('the pid file', () => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== '');
  controller.abort(new Error('agent stopping'));
  const result = await pending;
  assert.equal(result.reason, 'cancelled; killed the process group of sh (no output)');
  const [pid] = pidsFrom(pidFile);
  await waitFor('the command to be gone', () => !alive(pid!), { timeoutMs: 2000 });
});

test('options: command is a non-empty list, env names are checked', () => {
  const problem = (raw: unknown) => {
    const parsed = execProbe.options.safeParse(raw);
    assert.equal(parsed.success, false);
    return parsed.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  };
  assert.match(problem({ command: 'check_dns -H 127.0.0.1' }), /command: must be a list: the program, then its arguments/);
  assert.match(problem({ command: [] }), /command: must name the program to run/);
  assert.match(problem({ command: [''] }), /program name must not be empty/);
  assert.match(problem({ command: ['true'], env: { 'BAD-NAME': 'x' } }), /env.BAD-NAME: must be an environment variable name/);
  assert.match(problem({ command: ['true'], shell: true }), /shell/);
  assert.deepEqual(execProbe.options.parse({ command: ['true'], env: { A: 1, B: true } }).env, { A: '1', B: 'true' });
});

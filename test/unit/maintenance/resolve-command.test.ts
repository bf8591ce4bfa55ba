import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveCommand, type FileCheck } from '../../../src/maintenance/resolve-command.js';

const files: Record<string, ReturnType<FileCheck>> = {
  '/usr/bin/true': 'ok',
  '/usr/local/bin/notes': 'not-executable',
  '/usr/bin/notes': 'ok',
  '/etc/motd': 'not-executable',
  '/srv/job/run.sh': 'ok',
  '/usr/bin/dir': 'directory',
};
const check: FileCheck = (file) => files[file] ?? 'missing';

test('the command is found as execvp would, before anything is drained: 127 not found, 126 not executable', () => {
  const PATH = '/usr/local/bin:/usr/bin';
  const rows: [string, { file?: string; exitCode?: number; reason?: RegExp }][] = [
    ['true', { file: '/usr/bin/true' }],
    ['notes', { file: '/usr/bin/notes' }], // a non-executable one earlier on PATH is skipped, as execvp does
    ['/nonexistent', { exitCode: 127, reason: /\/nonexistent: no such file/ }],
    ['blacklist2dns', { exitCode: 127, reason: /not found on PATH \(\/usr\/local\/bin:\/usr\/bin\)/ }],
    ['/etc/motd', { exitCode: 126, reason: /not executable/ }],
    ['dir', { exitCode: 126, reason: /is a directory/ }],
    ['./run.sh', { file: '/srv/job/run.sh' }],
  ];
  for (const [name, expected] of rows) {
    const got = resolveCommand(name, { PATH, cwd: '/srv/job', check });
    if (expected.file) assert.deepEqual(got, { ok: true, file: expected.file }, name);
    else {
      assert.equal(got.ok, false, name);
      if (!got.ok) {
        assert.equal(got.exitCode, expected.exitCode, name);
        assert.match(got.reason, expected.reason!, name);
      }
    }
  }
});

test('the real file system: sh is found, a missing path is not', () => {
  assert.equal(resolveCommand('sh', { PATH: process.env.PATH }).ok, true);
  assert.deepEqual(resolveCommand('/nonexistent/blacklist2dns').ok, false);
});

// The ownership record on disk: versioned, atomic, durable, and loud about corruption.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileOwnershipStore, MemoryOwnershipStore } from '../../../src/routing/ownership.js';
import { ErrorCodes, isHealthcastError } from '../../../src/errors.js';
import type { RoutingEntry } from '../../../src/routing/types.js';

const A: RoutingEntry = { kind: 'address', address: '192.0.2.53', interface: 'lo' };
const R: RoutingEntry = { kind: 'route', address: '2001:db8::7', interface: 'lo' };

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hc-owned-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('missing file reads as empty; save creates the state dir with mode 0700 and round-trips', async (t) => {
  const stateDir = path.join(await tempDir(t), 'state', 'nested');
  const store = new FileOwnershipStore(stateDir);
  assert.deepEqual(await store.load(), []);
  await store.save([R, { ...A, service: 'dns' } as RoutingEntry]);
  assert.equal((await fs.stat(stateDir)).mode & 0o777, 0o700);
  assert.deepEqual(await store.load(), [A, R]);
  const onDisk = JSON.parse(await fs.readFile(store.file, 'utf8'));
  assert.equal(onDisk.version, 1);
  assert.deepEqual(onDisk.entries, [A, R], 'sorted, and extra fields such as service are not stored');
  assert.deepEqual(await fs.readdir(stateDir), ['owned.json'], 'no temporary file left behind');
});

test('a later save replaces the record', async (t) => {
  const store = new FileOwnershipStore(await tempDir(t));
  await store.save([A, R]);
  await store.save([R]);
  assert.deepEqual(await store.load(), [R]);
});

for (const [name, content] of [
  ['truncated JSON', '{"version":1,"entr'],
  ['wrong version', JSON.stringify({ version: 2, updated: 'x', entries: [] })],
  ['bad entry', JSON.stringify({ version: 1, updated: 'x', entries: [{ kind: 'tunnel', address: '1', interface: 'lo' }] })],
] as const) {
  test(`corrupt record (${name}) is an error naming the file, and is moved aside`, async (t) => {
    const dir = await tempDir(t);
    const store = new FileOwnershipStore(dir, () => new Date('2024-01-02T03:04:05.678Z'));
    await fs.writeFile(store.file, content);
    await assert.rejects(store.load(), (error: unknown) => {
      assert.ok(isHealthcastError(error, ErrorCodes.OWNERSHIP_CORRUPT));
      assert.match(error.message, new RegExp(store.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
      assert.match(error.message, /moved aside to .*owned\.json\.corrupt-2024-01-02T03-04-05-678Z/);
      return true;
    });
    assert.deepEqual(await fs.readdir(dir), ['owned.json.corrupt-2024-01-02T03-04-05-678Z']);
    assert.equal(await fs.readFile(path.join(dir, 'owned.json.corrupt-2024-01-02T03-04-05-678Z'), 'utf8'), content, 'kept for the operator');
    assert.deepEqual(await store.load(), [], 'after moving aside, the record starts empty');
  });
}

test('a state dir whose parent is a regular file cannot be written: OWNERSHIP_WRITE naming the file', async (t) => {
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'plain-file'), 'x');
  const store = new FileOwnershipStore(path.join(dir, 'plain-file', 'state'));
  await assert.rejects(store.save([A]), (error: unknown) => {
    assert.ok(isHealthcastError(error, ErrorCodes.OWNERSHIP_WRITE));
    assert.match(error.message, /plain-file\/state\/owned\.json/);
    assert.match(error.message, /ENOTDIR/);
    return true;
  });
});

test('memory store: failure injection and one-shot corruption', async () => {
  const store = new MemoryOwnershipStore([A]);
  store.failSave = 'EROFS';
  await assert.rejects(store.save([]), (error: unknown) => isHealthcastError(error, ErrorCodes.OWNERSHIP_WRITE));
  assert.deepEqual(await store.load(), [A]);
  store.corruptOnce = true;
  await assert.rejects(store.load(), (error: unknown) => isHealthcastError(error, ErrorCodes.OWNERSHIP_CORRUPT));
  assert.deepEqual(await store.load(), []);
});

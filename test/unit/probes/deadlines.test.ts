// Shared probe deadlines: runs started together share a timer, each is expired once unless it left, the timer goes
// with the last member, and a run started later than the join window gets a timer of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinDeadline, type Expirable } from '../../../probes/deadlines.js';

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function member(name: string, expired: string[]): Expirable & { left: boolean } {
  return { left: false, expire() { if (!this.left) expired.push(name); } };
}

test('members that join within the window share one timer; only those still in are expired, once', async () => {
  const expired: string[] = [];
  const before = timers();
  const now = performance.now();
  const [a, b, c] = [member('a', expired), member('b', expired), member('c', expired)];
  const group = joinDeadline(30, a, now);
  assert.equal(joinDeadline(30, b, now + 0.5), group, 'within the window: the same group');
  assert.equal(joinDeadline(30, c, now + 1), group);
  assert.equal(timers(), before + 1, 'one timer for three members');
  b.left = true;
  group.leave();
  await sleep(60);
  assert.deepEqual(expired, ['a', 'c']);
  assert.equal(timers(), before, 'the fired timer is gone');
});

test('the timer goes when the last member leaves; a later or different timeout opens another group', async () => {
  const expired: string[] = [];
  const before = timers();
  const now = performance.now();
  const first = joinDeadline(40, member('first', expired), now);
  const later = joinDeadline(40, member('later', expired), now + 1.5);
  const other = joinDeadline(41, member('other', expired), now);
  assert.notEqual(later, first, 'after the window: a new group');
  assert.notEqual(other, first, 'another timeout: another group');
  assert.equal(timers(), before + 3);
  first.leave();
  later.leave();
  other.leave();
  assert.equal(timers(), before, 'every member left: no timer left');
  const fresh = joinDeadline(40, member('fresh', expired), now + 1.5);
  assert.notEqual(fresh, later, 'a group whose members all left takes no new ones');
  fresh.leave();
  await sleep(60);
  assert.deepEqual(expired, [], 'nobody expired');
});

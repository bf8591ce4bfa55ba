import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combine } from '../../../src/core/combine.js';

const ok = (label: string, durationMs = 1) => ({ label, result: { ok: true, durationMs } });
const fail = (label: string, reason: string) => ({ label, result: { ok: false, durationMs: 2, reason } });

test('all: one failure fails and the reason names it', () => {
  const result = combine([ok('dns#0'), fail('tcp#1', '127.0.0.1:53: ECONNREFUSED')], 'all');
  assert.equal(result.ok, false);
  assert.equal(result.reason, '1/2 passed (need 2); tcp#1: 127.0.0.1:53: ECONNREFUSED');
});

test('any: one success is enough, failures still reported', () => {
  const result = combine([fail('a', 'x'), ok('b')], 'any');
  assert.equal(result.ok, true);
  assert.match(result.reason, /a: x/);
});

test('at_least', () => {
  const results = [ok('a'), fail('b', 'y'), ok('c'), fail('d', 'z')];
  assert.equal(combine(results, { at_least: 2 }).ok, true);
  assert.equal(combine(results, { at_least: 3 }).ok, false);
  assert.equal(combine(results, { at_least: 3 }).reason, '2/4 passed (need 3); b: y; d: z');
});

test('a single failing probe reports just its reason; duration is the slowest probe', () => {
  assert.deepEqual(combine([fail('dns', 'rcode SERVFAIL')], 'all'), { ok: false, reason: 'dns: rcode SERVFAIL', durationMs: 2 });
  assert.equal(combine([ok('a', 5), ok('b', 9)], 'all').durationMs, 9);
});

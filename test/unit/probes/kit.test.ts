// The kit's abort reasons: a typed kind instead of a message to compare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { abortKind, canonicalAddress, FINISHED, isTimeout, ProbeAbort, stoppedText, TIMED_OUT } from '../../../probes/kit/index.js';

test('abortKind: ProbeAbort says its kind, AbortSignal.timeout() is a timeout, anything else a cancel', async () => {
  assert.equal(abortKind(TIMED_OUT), 'timeout');
  assert.equal(abortKind(FINISHED), 'finished');
  assert.equal(abortKind(new ProbeAbort('cancelled', 'service stopped')), 'cancelled');
  const timeout = AbortSignal.timeout(1);
  await new Promise((resolve) => timeout.addEventListener('abort', resolve));
  assert.equal(abortKind(timeout.reason), 'timeout');
  assert.equal(abortKind(AbortSignal.abort().reason), 'cancelled');
  // A message is no longer read: an Error that says "timeout" is a cancel like any other.
  assert.equal(isTimeout(new Error('timeout')), false);
  assert.equal(isTimeout('timeout'), false);
});

test('stoppedText words the abort for a reason', () => {
  assert.equal(stoppedText(AbortSignal.abort(TIMED_OUT), 250), 'timed out after 250ms');
  assert.equal(stoppedText(AbortSignal.abort(new ProbeAbort('cancelled')), 250), 'cancelled');
  assert.equal(stoppedText(AbortSignal.abort(), 250), 'cancelled');
});

test('canonicalAddress: one spelling per IPv6 address, IPv4 as given', () => {
  assert.equal(canonicalAddress('2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(canonicalAddress('::ffff:192.0.2.1'), '::ffff:c000:201');
  assert.equal(canonicalAddress('192.0.2.1'), '192.0.2.1');
});

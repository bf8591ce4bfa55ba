import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HookRunner, hookEnvironment, type HookResult } from '../../../src/hooks/hooks.js';
import { silentLogger } from '../../../src/log.js';
import { serviceConfig, switchProbe } from '../../support/agent-fixtures.js';
import type { ServiceConfig } from '../../../src/config/types.js';
import type { StateChange } from '../../../src/core/agent.js';

const change = (overrides: Partial<StateChange>): StateChange => ({
  service: 'dns',
  from: 'unknown',
  to: 'up',
  addresses: ['192.0.2.53', '2001:db8::53'],
  reason: 'all probes passed',
  ...overrides,
});

test('the environment names the service, the new state, the addresses and the reason', () => {
  const env = hookEnvironment(change({ from: 'up', to: 'down', reason: 'tcp: refused' }), { PATH: '/bin' });
  assert.deepEqual(env, {
    PATH: '/bin',
    HEALTHCAST_SERVICE: 'dns',
    HEALTHCAST_STATE: 'down',
    HEALTHCAST_PREVIOUS_STATE: 'up',
    HEALTHCAST_ADDRESSES: '192.0.2.53 2001:db8::53',
    HEALTHCAST_REASON: 'tcp: refused',
  });
});

test('hooks run after changes, in order per service, with a time limit; failures are reported, never thrown', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-hooks-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'hooks.log');
  const record = (tag: string) => [
    'sh',
    '-c',
    `sleep 0.05; echo "${tag} $HEALTHCAST_SERVICE $HEALTHCAST_STATE $HEALTHCAST_ADDRESSES|$HEALTHCAST_REASON" >> ${log}`,
  ];
  const probe = switchProbe();
  const services = new Map<string, ServiceConfig>([
    [
      'dns',
      serviceConfig('dns', ['192.0.2.53', '2001:db8::53'], probe.definition, {
        hooks: { onUp: record('up'), onDown: record('down'), onDrain: record('drain'), timeoutMs: 2000 },
      }),
    ],
    [
      'slow',
      serviceConfig('slow', ['192.0.2.1'], probe.definition, {
        hooks: { onUp: ['sleep', '10'], onDown: ['sh', '-c', 'exit 3'], onDrain: ['/nonexistent/hook'], timeoutMs: 200 },
      }),
    ],
    ['quiet', serviceConfig('quiet', ['192.0.2.2'], probe.definition)],
  ]);
  const results: HookResult[] = [];
  const runner = new HookRunner({ service: (name) => services.get(name), log: silentLogger(), onResult: (r) => results.push(r) });

  const started = Date.now();
  runner.onStateApplied(change({ from: 'unknown', to: 'up' }));
  runner.onStateApplied(change({ from: 'up', to: 'down', reason: 'tcp: 127.0.0.1:53: ECONNREFUSED' }));
  runner.onStateApplied(change({ from: 'down', to: 'drained', reason: 'drained by cli' }));
  runner.onStateApplied(change({ from: 'unknown', to: 'down' })); // never came up: nothing
  runner.onStateApplied(change({ service: 'slow', to: 'up' }));
  runner.onStateApplied(change({ service: 'slow', from: 'up', to: 'down' }));
  runner.onStateApplied(change({ service: 'slow', from: 'down', to: 'drained' }));
  runner.onStateApplied(change({ service: 'quiet', to: 'up' })); // no hooks configured
  // Returns at once: no hook has finished when the calls return (a timed bound failed on a loaded machine).
  assert.equal(results.length, 0, 'onStateApplied returns before any hook ends');
  await runner.idle();

  assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), [
    'up dns up 192.0.2.53 2001:db8::53|all probes passed',
    'down dns down 192.0.2.53 2001:db8::53|tcp: 127.0.0.1:53: ECONNREFUSED',
    'drain dns drained 192.0.2.53 2001:db8::53|drained by cli',
  ]);
  const slow = results.filter((r) => r.service === 'slow').map((r) => [r.hook, r.result, r.exitCode]);
  assert.deepEqual(slow, [
    ['on_up', 'timeout', null],
    ['on_down', 'failed', 3],
    ['on_drain', 'failed', null],
  ]);
  assert.ok(Date.now() - started < 5000, 'the 10 s hook was cut at its 200 ms limit');
});

test('a flapping service with a slow hook does not queue without bound', async () => {
  const probe = switchProbe();
  const service = serviceConfig('flap', ['192.0.2.9'], probe.definition, { hooks: { onUp: ['sleep', '0.2'], onDown: ['true'], timeoutMs: 1000 } });
  const results: HookResult[] = [];
  const runner = new HookRunner({ service: () => service, log: silentLogger(), onResult: (r) => results.push(r), maxQueued: 3 });
  for (let i = 0; i < 10; i += 1) runner.onStateApplied(change({ service: 'flap', from: i % 2 ? 'up' : 'down', to: i % 2 ? 'down' : 'up' }));
  await runner.idle();
  assert.ok(results.filter((r) => r.result === 'skipped').length >= 5, JSON.stringify(results.map((r) => r.result)));
  assert.ok(results.filter((r) => r.result === 'ok').length <= 5);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expired, parseRequest } from '../../../src/control/protocol.js';
import { buildStatus, formatStatus, formatUptime } from '../../../src/control/status.js';
import { hookFor, serviceState } from '../../../src/core/service-state.js';
import type { ServiceStatus } from '../../../src/core/agent.js';

test('requests: valid ones parse, everything else is a coded error with a reason', () => {
  const ok: [string, unknown][] = [
    ['{"command":"status"}', { command: 'status' }],
    ['{"command":"ping"}', { command: 'ping' }],
    ['{"command":"check-now"}', { command: 'check-now', services: [] }],
    ['{"command":"drain","services":["dns"]}', { command: 'drain', services: ['dns'] }],
    ['{"command":"resume","all":true,"by":"me"}', { command: 'resume', all: true, by: 'me' }],
  ];
  for (const [line, expected] of ok) {
    const parsed = parseRequest(line);
    assert.ok('request' in parsed, `${line}: ${JSON.stringify(parsed)}`);
    assert.deepEqual(parsed.request, expected);
  }
  const bad: [string, RegExp][] = [
    ['not json', /not JSON/],
    ['[1,2]', /JSON object/],
    ['null', /JSON object/],
    ['{"command":"reboot"}', /unknown command "reboot"/],
    ['{}', /unknown command undefined/],
    ['{"command":"drain"}', /name services or set "all"/],
    ['{"command":"drain","services":["a"],"all":true}', /not both/],
    ['{"command":"drain","services":[]}', /invalid drain request/],
    ['{"command":"drain","services":["../etc"]}', /not a service name/],
    ['{"command":"status","extra":1}', /invalid status request/],
  ];
  for (const [line, reason] of bad) {
    const parsed = parseRequest(line);
    assert.ok('error' in parsed, `${line} must be rejected`);
    assert.equal(parsed.error.code, 'HC_ERR_CONTROL_PROTOCOL');
    assert.match(parsed.error.message, reason, line);
  }
});

test('service state from mode, drain and phase; hooks only on real changes', () => {
  assert.equal(serviceState({ mode: 'running', drained: false, phase: 'init' }), 'unknown');
  assert.equal(serviceState({ mode: 'running', drained: false, phase: 'rising' }), 'down');
  assert.equal(serviceState({ mode: 'running', drained: false, phase: 'falling' }), 'up');
  assert.equal(serviceState({ mode: 'running', drained: true, phase: 'up' }), 'drained');
  assert.equal(serviceState({ mode: 'paused', drained: false, phase: 'up' }), 'paused');
  assert.equal(serviceState({ mode: 'paused', drained: true, phase: 'up' }), 'drained');
  assert.equal(serviceState({ mode: 'stopped', drained: true, phase: 'up' }), 'stopped');
  const table: [Parameters<typeof hookFor>[0], Parameters<typeof hookFor>[1], string | undefined][] = [
    ['unknown', 'up', 'on_up'],
    ['down', 'up', 'on_up'],
    ['drained', 'up', 'on_up'],
    ['up', 'down', 'on_down'],
    ['drained', 'down', 'on_down'],
    ['unknown', 'down', undefined],
    ['up', 'drained', 'on_drain'],
    ['down', 'drained', 'on_drain'],
    ['up', 'paused', undefined],
    ['up', 'stopped', undefined],
    ['up', 'up', undefined],
  ];
  for (const [from, to, hook] of table) assert.equal(hookFor(from, to), hook, `${from} -> ${to}`);
});

function service(overrides: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    name: 'dns',
    state: 'up',
    phase: 'up',
    successes: 5,
    failures: 0,
    addresses: ['192.0.2.53'],
    wanted: true,
    announced: true,
    routingError: undefined,
    last: { ok: true, reason: 'all probes passed', durationMs: 1.234, at: Date.UTC(2026, 0, 1) },
    advertised: undefined,
    drained: undefined,
    draining: false,
    announce: 'address',
    ...overrides,
  };
}

test('status JSON has the documented shape; the table shows reasons below it', () => {
  const info = {
    version: '1.2.3',
    pid: 42,
    mode: 'running',
    startedAt: Date.UTC(2026, 0, 1),
    now: Date.UTC(2026, 0, 1) + 3_723_000,
    config: '/etc/h.yaml',
    controlSocket: '/run/h.sock',
  };
  const status = buildStatus(info, [
    service(),
    service({
      name: 'web',
      state: 'drained',
      announced: false,
      advertised: false,
      drained: { name: 'web', since: '2026-01-01T00:00:00.000Z', by: 'cli' },
      last: { ok: false, reason: 'tcp: refused', durationMs: 2, at: 0 },
    }),
  ]);
  assert.equal(status.agent.uptime_s, 3723);
  assert.deepEqual(status.services[0], {
    name: 'dns',
    state: 'up',
    phase: 'up',
    successes: 5,
    failures: 0,
    addresses: ['192.0.2.53'],
    announced: true,
    advertised: null,
    maintenance: false,
    maintenance_since: null,
    maintenance_by: null,
    maintenance_pid: null,
    maintenance_holder_alive: null,
    maintenance_stay_drained: false,
    maintenance_note: null,
    maintenance_holders: [],
    routing_error: null,
    advertisers: null,
    kept_last: false,
    last: { ok: true, reason: 'all probes passed', latency_ms: 1.2, at: '2026-01-01T00:00:00.000Z' },
  });
  assert.equal(status.services[1]?.maintenance, true);
  assert.equal(status.services[1]?.advertised, false);
  const table = formatStatus(status);
  assert.match(table, /^healthcast 1\.2\.3 pid 42 running, up 1h2m/);
  assert.match(table, /\nweb +drained +up +5\/0 +FAIL +2ms +no +no +- +yes +192\.0\.2\.53/);
  assert.match(table, /web: last probe: tcp: refused/);
  assert.match(table, /web: drained since 2026-01-01T00:00:00.000Z by cli/);
  assert.equal(formatUptime(59), '59s');
  assert.equal(formatUptime(90_061), '1d1h');
});

test('a drain names its holder; the table says in its own words whether the holder runs, has gone, or asked to stay drained', () => {
  const info = { version: '1', pid: 1, mode: 'running', startedAt: 0, now: 0, config: '/c', controlSocket: '/s' };
  const drained = (name: string, owner: Record<string, unknown>) =>
    service({ name, state: 'drained', drained: { name, since: 'T', by: `maintenance (pid ${String(owner.pid)})`, ...owner } });
  const status = buildStatus(
    info,
    [drained('a', { pid: 10 }), drained('b', { pid: 20 }), drained('c', { pid: 30, stayDrained: true }), drained('d', { pid: 10, stayDrained: true })],
    (pid) => pid === 10,
  );
  assert.deepEqual(
    status.services.map((s) => [s.maintenance_pid, s.maintenance_holder_alive, s.maintenance_stay_drained]),
    [
      [10, true, false],
      [20, false, false],
      [30, false, true],
      [10, true, true],
    ],
  );
  const table = formatStatus(status);
  assert.match(table, /a: drained since T by maintenance \(pid 10\) \(running\)/);
  assert.match(table, /b: drained since T by maintenance \(pid 20\): that process has exited without resuming \(orphaned hold/);
  assert.match(
    table,
    /c: drained since T by maintenance \(pid 30\): its command failed or was stopped and it asked to stay drained \(--stay-drained-on-failure\); resume with: healthcast resume c/,
  );
  assert.match(table, /d: .*\(running; stays drained if its command fails: --stay-drained-on-failure\)/);
});

test('a disable file: status names the file, shows its note, and lists an operator drain beside it', () => {
  const info = { version: '1', pid: 1, mode: 'running', startedAt: 0, now: 0, config: '/c', controlSocket: '/s' };
  const byFile = { name: 'dns', since: 'T', by: 'disable file /etc/healthcast/disable.d/dns', file: '/etc/healthcast/disable.d/dns', note: 'disk swap' };
  const status = buildStatus(info, [service({ state: 'drained', drained: byFile, holds: [byFile, { name: 'dns', since: 'U', by: 'cli' }] })]);
  assert.equal(status.services[0]?.maintenance_by, 'disable file /etc/healthcast/disable.d/dns');
  assert.equal(status.services[0]?.maintenance_note, 'disk swap');
  assert.deepEqual(status.services[0]?.maintenance_holders, ['disable file /etc/healthcast/disable.d/dns', 'cli']);
  const table = formatStatus(status);
  assert.match(table, /dns: drained since T by disable file \/etc\/healthcast\/disable\.d\/dns\n/);
  assert.match(table, /dns: note: disk swap\n/);
  assert.match(table, /dns: also drained by cli/);
});

test('drain requests carry their holder and a deadline; a request read after its deadline has expired', () => {
  const parsed = parseRequest(
    JSON.stringify({ command: 'drain', services: ['dns'], by: 'maintenance (pid 5)', pid: 5, pid_start: 77, stay_drained: true, deadline: 1000 }),
  );
  assert.ok('request' in parsed, JSON.stringify(parsed));
  assert.equal(expired(parsed.request, 1000), false);
  assert.equal(expired(parsed.request, 1001), true);
  const plain = parseRequest(JSON.stringify({ command: 'resume', all: true }));
  assert.ok('request' in plain && !expired(plain.request, Number.MAX_SAFE_INTEGER), 'no deadline: never expires');
  assert.ok('error' in parseRequest(JSON.stringify({ command: 'resume', all: true, pid: 5 })), 'only a drain names a holder');
});

test('the advertisers column: the count from the LSDB, "(kept)" while keep_last holds the last one, a note when none is left', () => {
  const info = { version: '1', pid: 1, mode: 'running', startedAt: 0, now: 0, config: '/c', controlSocket: '/s' };
  const status = buildStatus(info, [
    service({ name: 'dns', advertisers: ['0.0.0.2', '0.0.0.3', '0.0.0.4'] }),
    service({ name: 'ntp', state: 'down', advertisers: ['0.0.0.4'], keptLast: true }),
    service({ name: 'web', state: 'drained', advertisers: [], drained: { name: 'web', since: 'T', by: 'cli' } }),
  ]);
  assert.deepEqual(status.services[0]?.advertisers, ['0.0.0.2', '0.0.0.3', '0.0.0.4']);
  assert.equal(status.services[1]?.kept_last, true);
  const table = formatStatus(status);
  assert.match(table, /ADVERTISED +ADVERTISERS +MAINT/);
  assert.match(table, /\ndns +up .* 3 +no +192/);
  assert.match(table, /\nntp +down .* 1 \(kept\) +no +192/);
  assert.match(table, /ntp: keep_last: down, but kept announced: no other router advertises it/);
  assert.match(table, /web: no router advertises it \(withdrawn deliberately\)/);
});

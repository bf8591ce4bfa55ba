import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../../src/config/load.js';
import { serviceFingerprint } from '../../../src/config/types.js';
import { isHealthcastError } from '../../../src/errors.js';
import { locateControlSocket, readOpsSettings } from '../../../src/control/locate.js';

function write(t: { after(fn: () => void): void }, config: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-opscfg-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'healthcast.yaml');
  fs.writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}

const web = { name: 'web', addresses: ['192.0.2.80'], probes: [{ type: 'tcp', host: '127.0.0.1', ports: [80] }] };

async function errorsOf(file: string): Promise<string[]> {
  try {
    await loadConfig(file);
  } catch (error) {
    if (isHealthcastError(error)) return [...error.details];
    throw error;
  }
  return [];
}

test('operations keys resolve with defaults', async (t) => {
  const file = write(t, {
    state_dir: './state',
    control_socket: 'run/control.sock',
    metrics: { listen: '[::1]:9735' },
    maintenance: [
      { schedule: '17 */6 * * *', services: ['web'], command: ['true'] },
      { name: 'all', schedule: '0 3 * * *', command: ['sh', '-c', 'exit 0'], timeout: '10m', stay_drained_on_failure: true },
    ],
    services: [
      { ...web, on_up: ['logger', 'up'], on_drain: ['logger', 'drain'], announce_l2: true },
      { ...web, name: 'db', addresses: ['192.0.2.81'], announce_l2: { count: 5 }, hook_timeout: '2s' },
    ],
  });
  const config = await loadConfig(file);
  assert.equal(config.controlSocket, path.join(path.dirname(file), 'run/control.sock'));
  assert.deepEqual(config.metrics, { listen: { host: '::1', port: 9735 } });
  assert.deepEqual(config.maintenance, [
    { name: 'maintenance[0]', schedule: '17 */6 * * *', services: ['web'], command: ['true'], timeoutMs: 300_000, stayDrainedOnFailure: false },
    { name: 'all', schedule: '0 3 * * *', services: undefined, command: ['sh', '-c', 'exit 0'], timeoutMs: 600_000, stayDrainedOnFailure: true },
  ]);
  const [w, db] = config.services;
  assert.deepEqual(w?.hooks, { onUp: ['logger', 'up'], onDrain: ['logger', 'drain'], timeoutMs: 10_000 });
  assert.deepEqual(w?.announceL2, { count: 3 });
  assert.deepEqual(db?.announceL2, { count: 5 });
  assert.equal(db?.hooks.timeoutMs, 2000);
  assert.equal(
    serviceFingerprint(w!),
    serviceFingerprint({ ...w!, hooks: { timeoutMs: 1 }, announceL2: undefined }),
    'hooks and announce_l2 never restart a service',
  );

  const defaults = await loadConfig(write(t, { services: [web] }));
  assert.equal(defaults.controlSocket, '/run/healthcast/control.sock');
  assert.equal(defaults.metrics, undefined);
  assert.deepEqual(defaults.maintenance, []);
  assert.equal(defaults.services[0]?.announceL2, undefined);
});

test('operations keys: every mistake is reported with its path', async (t) => {
  const errors = await errorsOf(
    write(t, {
      metrics: { listen: 'localhost:9735' },
      maintenance: [
        { name: 'x', schedule: 'every day', command: ['true'] },
        { name: 'x', schedule: '* * * * *', services: ['nosuch'], command: [] },
        { schedule: '* * * * *', command: ['true'], timeout: '10ms' },
      ],
      services: [web],
    }),
  );
  const expected = [
    /metrics\.listen: host must be an IP address/,
    /maintenance\[0\]\.schedule: not a valid cron expression/,
    /maintenance\[1\]\.command: must name a command/,
    /maintenance\[2\]\.timeout: must be between 1s/,
  ];
  for (const pattern of expected)
    assert.ok(
      errors.some((error) => pattern.test(error)),
      `${pattern} in ${JSON.stringify(errors)}`,
    );
  assert.equal(errors.length, expected.length);
  const serviceErrors = await errorsOf(write(t, { services: [{ ...web, on_up: 'logger up', on_down: [], announce_l2: { count: 0 }, hook_timeout: '2h' }] }));
  for (const pattern of [
    /services\[0\]\.on_up: /,
    /services\[0\]\.on_down: must name a command/,
    /services\[0\]\.announce_l2/,
    /services\[0\]\.hook_timeout: must be between/,
  ]) {
    assert.ok(
      serviceErrors.some((error) => pattern.test(error)),
      `${pattern} in ${JSON.stringify(serviceErrors)}`,
    );
  }
  const crossErrors = await errorsOf(
    write(t, {
      maintenance: [
        { name: 'x', schedule: '* * * * *', services: ['nosuch'], command: ['true'] },
        { name: 'x', schedule: '* * * * *', command: ['true'] },
      ],
      services: [web],
    }),
  );
  assert.deepEqual(crossErrors, [
    'healthcast.yaml: maintenance[0].services: no service named "nosuch"',
    'healthcast.yaml: maintenance[1].name: "x" is used by another job',
  ]);
});

test('the CLI finds the socket and the cleanup settings without a valid config', async (t) => {
  const file = write(
    t,
    'control_socket: ../elsewhere.sock\nstate_dir: st\nroute_protocol: 77\nfrr: { vty_socket: /run/frr-x, asn: 65001, bogus: 1 }\nservices: [ { broken: true } ]\n',
  );
  assert.equal(await locateControlSocket({ config: file }), path.resolve(path.dirname(file), '../elsewhere.sock'));
  assert.equal(await locateControlSocket({ config: file, socket: 'x.sock' }), path.resolve('x.sock'));
  assert.deepEqual(await readOpsSettings(file), {
    controlSocket: path.resolve(path.dirname(file), '../elsewhere.sock'),
    stateDir: path.join(path.dirname(file), 'st'),
    routeProtocol: 77,
    drainInterface: 'hc-drain',
    frr: { vtysh: '/usr/bin/vtysh', vty_socket: '/run/frr-x', asn: 65001 },
  });
  const empty = write(t, '');
  assert.equal(await locateControlSocket({ config: empty }), '/run/healthcast/control.sock');
  assert.equal((await readOpsSettings(empty)).stateDir, '/var/lib/healthcast');
  await assert.rejects(locateControlSocket({ config: '/nonexistent/healthcast.yaml' }), /cannot read/);
});

// The fleet watcher on a ManualClock with a fake vtysh: reads at start and on its timer (faster while urgent), one read
// at a time with one more when asked during it, unknown (not empty) when FRR does not answer, logged once per change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { FleetWatcher, type FleetReading } from '../../../src/fleet/watcher.js';
import { FLEET_COMMANDS } from '../../../src/fleet/lsdb.js';
import { createLogger } from '../../../src/log.js';
import { ErrorCodes } from '../../../src/errors.js';
import { VtyshError } from '../../../src/frr/vtysh-errors.js';
import { ManualClock, settle } from '../../support/manual-clock.js';

const lsdb = (ids: string[]) => ({
  routerId: '0.0.0.2',
  asExternalLinkStates: ids.map((id) => ({ lsaAge: 1, linkStateId: '192.0.2.53', networkMask: 32, advertisingRouter: id })),
});

function setup(options: { urgent?: () => boolean } = {}) {
  const clock = new ManualClock();
  const lines: { msg: string }[] = [];
  const log = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string });
        done();
      },
    }),
  });
  const state = { ids: ['0.0.0.2', '0.0.0.3'], down: false, calls: 0, gate: undefined as Promise<void> | undefined };
  const vtysh = {
    async show<T>(command: string): Promise<T> {
      assert.equal(command, FLEET_COMMANDS[4]);
      state.calls += 1;
      await state.gate;
      if (state.down)
        throw new VtyshError(ErrorCodes.VTYSH_DAEMON_DOWN, 'ospfd is not running', {
          commands: [command],
          outcome: { exitCode: 1, stdout: '', stderr: '', timedOut: false },
        });
      return lsdb(state.ids) as T;
    },
  };
  const readings: FleetReading[] = [];
  const watcher = new FleetWatcher({
    vtysh,
    families: () => new Set([4]),
    log,
    onReading: (r) => readings.push(r),
    clock,
    intervalMs: 10_000,
    urgentIntervalMs: 1000,
    ...options,
  });
  return { clock, watcher, readings, state, lines };
}

test('reads at start and on the slow timer; unknown when FRR does not answer, logged once per change', async () => {
  const { clock, watcher, readings, state, lines } = setup();
  watcher.start();
  await settle();
  assert.equal(readings.length, 1);
  assert.deepEqual([...readings[0]!.snapshot!.advertisers.get('192.0.2.53/32')!], ['0.0.0.2', '0.0.0.3']);
  state.down = true;
  await clock.advance(10_000);
  await clock.advance(10_000);
  assert.equal(readings.length, 3);
  assert.equal(readings[2]!.snapshot, undefined, 'unknown, not an empty fleet');
  assert.match(readings[2]!.problem!, /ospfd is not running/);
  assert.equal(lines.filter((line) => line.msg.startsWith('advertisers unknown')).length, 1, 'logged once');
  state.down = false;
  await clock.advance(10_000);
  assert.ok(readings[3]!.snapshot);
  assert.equal(lines.filter((line) => line.msg === 'FRR answers: advertisers known').length, 1);
  await watcher.stop();
});

test('a read asked for during one in flight runs once more after it (its answer is from after the request)', async () => {
  const { watcher, readings, state, clock } = setup();
  let open!: () => void;
  state.gate = new Promise((resolve) => (open = resolve));
  watcher.start();
  await settle();
  watcher.read();
  watcher.read();
  const askedAt = clock.now();
  open();
  state.gate = undefined;
  await settle(10);
  assert.equal(state.calls, 2, 'two requests during the read make one more read, not two');
  assert.ok(readings[1]!.at >= askedAt);
  await watcher.stop();
});

test('reads every urgentIntervalMs while urgent (a service kept as the last advertiser)', async () => {
  let urgent = false;
  const { watcher, state, clock } = setup({ urgent: () => urgent });
  watcher.start();
  await settle();
  urgent = true;
  await clock.advance(10_000);
  const before = state.calls;
  await clock.advance(3000);
  assert.equal(state.calls - before, 3);
  await watcher.stop();
});

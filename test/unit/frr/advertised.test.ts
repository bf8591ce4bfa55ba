// What FRR originates, read from captured FRR 8.4.4 JSON (test/fixtures/frr/*.json), and the yes/no/unknown check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ErrorCodes, HealthcastError, isHealthcastError } from '../../../src/errors.js';
import {
  ADVERTISEMENT_COMMANDS,
  BGP_HELD_VIEW,
  checkAdvertised,
  normalizePrefix,
  parseBgpLocal,
  parseOspf6AsExternal,
  parseOspfExternal,
} from '../../../src/frr/advertised.js';
import { VtyshError } from '../../../src/frr/vtysh-errors.js';
import type { Vtysh } from '../../../src/frr/vtysh.js';
import { fixture } from '../../support/paths.js';

const load = (name: string): unknown => JSON.parse(fs.readFileSync(fixture('frr', name), 'utf8'));
const sorted = (set: Set<string>) => [...set].sort();

test('OSPFv2: self-originated external LSAs give their prefixes', () => {
  assert.deepEqual(sorted(parseOspfExternal(load('ospf-external-self.json')).prefixes), ['192.0.2.53/32', '192.0.2.54/32']);
  assert.deepEqual(sorted(parseOspfExternal(load('ospf-external-self-none.json')).prefixes), []);
});

test('OSPFv2: an LSA at MaxAge (just withdrawn, still listed) is not advertised', () => {
  const json = load('ospf-external-self-maxage.json') as { 'AS External Link States': Record<string, { lsaAge: number }> };
  assert.equal(json['AS External Link States']['192.0.2.53']!.lsaAge, 3600, 'the fixture holds the withdrawn LSA');
  assert.deepEqual(sorted(parseOspfExternal(json).prefixes), ['192.0.2.54/32']);
});

test('OSPFv2: the network comes from the mask (RFC 2328 appendix E LSIDs with host bits set)', () => {
  const json = { routerId: '10.0.0.2', 'AS External Link States': { '192.0.2.255': { lsaAge: 5, linkStateId: '192.0.2.255', networkMask: 24 } } };
  assert.deepEqual(sorted(parseOspfExternal(json).prefixes), ['192.0.2.0/24']);
});

test("OSPFv2: the plain database form keeps only this router's LSAs", () => {
  const json = {
    routerId: '10.0.0.1',
    asExternalLinkStates: [
      { lsaAge: 3, linkStateId: '192.0.2.53', networkMask: 32, advertisingRouter: '10.0.0.2' },
      { lsaAge: 3, linkStateId: '192.0.2.99', networkMask: 32, advertisingRouter: '10.0.0.1' },
    ],
  };
  assert.deepEqual(sorted(parseOspfExternal(json).prefixes), ['192.0.2.99/32']);
});

test('OSPFv3: AS-external LSAs below MaxAge give their prefixes', () => {
  assert.deepEqual(sorted(parseOspf6AsExternal(load('ospf6-as-external-self.json')).prefixes), ['2001:db8:53::54/128', '2001:db8:53::80/128']);
  assert.deepEqual(sorted(parseOspf6AsExternal(load('ospf6-as-external-self-maxage-only.json')).prefixes), []);
  assert.deepEqual(sorted(parseOspf6AsExternal(load('ospf6-as-external-self-none.json')).prefixes), []);
  const detail = { asScopedLinkStateDb: [{ lsa: [{ age: 7, type: 'AS-External', linkStateId: '0.0.0.1', prefix: '2001:DB8:53::53/128' }] }] };
  assert.deepEqual(sorted(parseOspf6AsExternal(detail).prefixes), ['2001:db8:53::53/128']);
});

test('BGP: valid local paths count; learnt paths and paths being removed do not', () => {
  assert.deepEqual(sorted(parseBgpLocal(load('bgp-ipv4-unicast-node.json')).prefixes), ['192.0.2.53/32', '192.0.2.54/32']);
  assert.deepEqual(sorted(parseBgpLocal(load('bgp-ipv6-unicast-node.json')).prefixes), ['2001:db8:53::53/128', '2001:db8:53::80/128']);
  assert.deepEqual(sorted(parseBgpLocal(load('bgp-ipv4-unicast-learned-only.json')).prefixes), []);
  assert.deepEqual(sorted(parseBgpLocal(load('bgp-ipv4-unicast-removing.json')).prefixes), ['192.0.2.53/32']);
  assert.deepEqual(sorted(parseBgpLocal(load('bgp-ipv4-unicast-local-and-learned.json')).prefixes), ['192.0.2.53/32']);
  const none = parseBgpLocal(load('bgp-no-instance.json'));
  assert.deepEqual(sorted(none.prefixes), []);
  assert.equal(none.note, 'bgpd: Default BGP instance not found');
});

test('output of another shape is VTYSH_BAD_OUTPUT, not an empty answer', () => {
  for (const [parse, json] of [
    [parseOspfExternal, []],
    [parseOspfExternal, { routerId: '10.0.0.1' }],
    [parseOspfExternal, { 'AS External Link States': { x: { lsaAge: 1 } } }],
    [parseOspf6AsExternal, { lsa: [] }],
    [parseOspf6AsExternal, { asScopedLinkStateDb: [{ lsa: [{ type: 'ASE', age: 1 }] }] }],
    [parseBgpLocal, { vrfId: 0 }],
    [parseBgpLocal, { routes: { '192.0.2.1/32': {} } }],
  ] as const) {
    assert.throws(
      () => parse(json),
      (error: unknown) => isHealthcastError(error, ErrorCodes.VTYSH_BAD_OUTPUT),
      JSON.stringify(json),
    );
  }
});

test('prefixes normalise to one spelling', () => {
  assert.equal(normalizePrefix('192.0.2.53'), '192.0.2.53/32');
  assert.equal(normalizePrefix(' 2001:DB8:0:0::53 '), '2001:db8::53/128');
  assert.equal(normalizePrefix('192.0.2.0/24'), '192.0.2.0/24');
  for (const bad of ['192.0.2.300', '192.0.2.1/33', 'x', '2001:db8::/129', '192.0.2.1/32/1']) {
    assert.throws(
      () => normalizePrefix(bad),
      (error: unknown) => isHealthcastError(error, ErrorCodes.USAGE),
      bad,
    );
  }
});

// An in-process vtysh: each command answers with a fixture or fails with a given error.
function fakeVtysh(answers: Record<string, unknown | Error>): Pick<Vtysh, 'show'> & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async show<T>(command: string): Promise<T> {
      asked.push(command);
      const answer = answers[command];
      if (answer === undefined) throw new Error(`unexpected command ${command}`);
      if (answer instanceof Error) throw answer;
      return answer as T;
    },
  };
}

const down = (daemon: string, command: string) =>
  new VtyshError(ErrorCodes.VTYSH_DAEMON_DOWN, `vtysh -c '${command}': ${daemon} is not running`, { commands: [command], daemon });
const badOutput = (command: string, stdout: string) =>
  new VtyshError(ErrorCodes.VTYSH_BAD_OUTPUT, 'expected JSON', { commands: [command], outcome: { exitCode: 0, stdout, stderr: '', timedOut: false } });

test('checkAdvertised over OSPF: yes, no, and only the families asked for', async () => {
  const vtysh = fakeVtysh({
    [ADVERTISEMENT_COMMANDS.ospf[4]]: load('ospf-external-self-maxage.json'),
    [ADVERTISEMENT_COMMANDS.ospf[6]]: load('ospf6-as-external-self.json'),
  });
  const result = await checkAdvertised(vtysh, ['192.0.2.54', '192.0.2.53/32', '2001:DB8:53::80', '2001:db8:53::53/128'], 'ospf');
  assert.deepEqual(
    [...result.values()],
    [
      { prefix: '192.0.2.54/32', advertised: 'yes' },
      { prefix: '192.0.2.53/32', advertised: 'no', reason: 'not among the self-originated external LSAs' },
      { prefix: '2001:db8:53::80/128', advertised: 'yes' },
      { prefix: '2001:db8:53::53/128', advertised: 'no', reason: 'not among the self-originated external LSAs' },
    ],
  );
  const v4only = fakeVtysh({ [ADVERTISEMENT_COMMANDS.ospf[4]]: load('ospf-external-self.json') });
  assert.equal((await checkAdvertised(v4only, ['192.0.2.53'], 'ospf')).get('192.0.2.53/32')?.advertised, 'yes');
  assert.deepEqual(v4only.asked, [ADVERTISEMENT_COMMANDS.ospf[4]]);
});

test('checkAdvertised: a daemon that is down makes its family unknown, the other family still answers', async () => {
  const v6 = ADVERTISEMENT_COMMANDS.ospf[6];
  const vtysh = fakeVtysh({ [ADVERTISEMENT_COMMANDS.ospf[4]]: load('ospf-external-self.json'), [v6]: down('ospf6d', v6) });
  const result = await checkAdvertised(vtysh, ['192.0.2.53', '2001:db8:53::53'], 'ospf');
  assert.equal(result.get('192.0.2.53/32')?.advertised, 'yes');
  assert.equal(result.get('2001:db8:53::53/128')?.advertised, 'unknown');
  assert.match(result.get('2001:db8:53::53/128')?.reason ?? '', /ospf6d is not running/);
});

test('checkAdvertised: FRR unreachable or answering nonsense is unknown; "no instance" answers are no', async () => {
  const v4 = ADVERTISEMENT_COMMANDS.ospf[4];
  const v6 = ADVERTISEMENT_COMMANDS.ospf[6];
  const notRunning = new VtyshError(ErrorCodes.VTYSH_NOT_RUNNING, 'FRR is not running', { commands: [v4] });
  const unreachable = await checkAdvertised(fakeVtysh({ [v4]: notRunning }), ['192.0.2.53'], 'ospf');
  assert.deepEqual(unreachable.get('192.0.2.53/32'), {
    prefix: '192.0.2.53/32',
    advertised: 'unknown',
    reason: 'HC_ERR_VTYSH_NOT_RUNNING: FRR is not running',
  });
  const garbage = await checkAdvertised(fakeVtysh({ [v4]: { unexpected: true } }), ['192.0.2.53'], 'ospf');
  assert.equal(garbage.get('192.0.2.53/32')?.advertised, 'unknown');
  const timeout = await checkAdvertised(fakeVtysh({ [v4]: new HealthcastError(ErrorCodes.VTYSH_TIMEOUT, 'no answer within 5000ms') }), ['192.0.2.53'], 'ospf');
  assert.deepEqual(timeout.get('192.0.2.53/32'), { prefix: '192.0.2.53/32', advertised: 'unknown', reason: 'HC_ERR_VTYSH_TIMEOUT: no answer within 5000ms' });
  const noInstance = await checkAdvertised(
    fakeVtysh({ [v4]: badOutput(v4, '% OSPF is not enabled on vrf default'), [v6]: badOutput(v6, '') }),
    ['192.0.2.53', '2001:db8::53'],
    'ospf',
  );
  assert.deepEqual(
    [...noInstance.values()],
    [
      { prefix: '192.0.2.53/32', advertised: 'no', reason: 'not among the self-originated external LSAs (ospfd: OSPF is not enabled on vrf default)' },
      { prefix: '2001:db8::53/128', advertised: 'no', reason: 'not among the self-originated external LSAs (ospf6d has no `router ospf6`)' },
    ],
  );
});

test('checkAdvertised over BGP reads local paths in both tables', async () => {
  const vtysh = fakeVtysh({
    // No hold lists (a hand-written config): FRR's answer to the held view sends the check to the plain tables.
    [BGP_HELD_VIEW[4]]: badOutput(BGP_HELD_VIEW[4], '% HC-BGP-HOLD-V4 prefix-list not found'),
    [BGP_HELD_VIEW[6]]: new VtyshError(ErrorCodes.VTYSH_REJECTED, 'bgpd vty', {
      commands: [BGP_HELD_VIEW[6]],
      frrMessage: '% HC-BGP-HOLD-V6 prefix-list not found',
    }),
    [ADVERTISEMENT_COMMANDS.bgp[4]]: load('bgp-ipv4-unicast-local-and-learned.json'),
    [ADVERTISEMENT_COMMANDS.bgp[6]]: load('bgp-no-instance.json'),
  });
  const result = await checkAdvertised(vtysh, ['192.0.2.53', '192.0.2.99', '2001:db8:53::53'], 'bgp');
  assert.deepEqual(
    [...result.values()],
    [
      { prefix: '192.0.2.53/32', advertised: 'yes' },
      { prefix: '192.0.2.99/32', advertised: 'no', reason: 'no valid local path in the BGP table' },
      { prefix: '2001:db8:53::53/128', advertised: 'no', reason: 'no valid local path in the BGP table (bgpd: Default BGP instance not found)' },
    ],
  );
});

test('checkAdvertised over BGP with the hold lists: a statement held back (in the table, denied to every neighbour) is not advertised', async () => {
  const table = load('bgp-ipv4-unicast-local-and-learned.json') as { routes: Record<string, unknown> };
  const heldBack = { ...table, routes: Object.fromEntries(Object.entries(table.routes).filter(([prefix]) => prefix !== '192.0.2.53/32')) };
  const vtysh = fakeVtysh({ [BGP_HELD_VIEW[4]]: heldBack, [ADVERTISEMENT_COMMANDS.bgp[4]]: table });
  const result = await checkAdvertised(vtysh, ['192.0.2.53'], 'bgp');
  assert.equal(result.get('192.0.2.53/32')?.advertised, 'no');
  assert.deepEqual(vtysh.asked, [BGP_HELD_VIEW[4]], 'one question when the list is there');
  const broken = await checkAdvertised(fakeVtysh({ [BGP_HELD_VIEW[4]]: down('bgpd', BGP_HELD_VIEW[4]) }), ['192.0.2.53'], 'bgp');
  assert.equal(broken.get('192.0.2.53/32')?.advertised, 'unknown', 'bgpd down is not "no list"');
});

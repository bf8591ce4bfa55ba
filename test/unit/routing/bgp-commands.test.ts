// bgpd text: which network statements `show running-config bgpd` lists as ours-or-not, and the lines we write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isHealthcastError } from '../../../src/errors.js';
import { bgpConfigLines, LIST_COMMANDS, NETWORK_NOT_FOUND, parseBgpdConfig, parseBgpdListing, parseHeld } from '../../../src/routing/bgp-commands.js';
import { BGP_INTERFACE, type RoutingOp } from '../../../src/routing/types.js';

// Printed by FRR 8.4.4 in the lab after `network` statements were configured through vtysh and a
// `redistribute connected route-map X` was added (its routes are in the BGP table but are not statements).
const FRR_84_OUTPUT = `Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname a
hostname vm
service integrated-vtysh-config
!
router bgp 65001
 bgp router-id 0.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 198.51.100.1 remote-as 65000
 neighbor 2001:db8:ffff::1 remote-as 65000
 !
 address-family ipv4 unicast
  network 192.0.2.53/32
  network 192.0.2.99/32
  redistribute connected route-map X
  no neighbor 2001:db8:ffff::1 activate
 exit-address-family
 !
 address-family ipv6 unicast
  network 2001:db8:53::53/128
  neighbor 2001:db8:ffff::1 activate
 exit-address-family
exit
!
ip prefix-list X seq 5 permit 192.0.2.54/32
!
route-map X permit 10
 match ip address prefix-list X
exit
!
end
`;

const names = (text: string) => parseBgpdConfig(text).networks.map((entry) => entry.address);

test('FRR 8.4 running config: the default instance AS and its host network statements, both families', () => {
  const parsed = parseBgpdConfig(FRR_84_OUTPUT);
  assert.equal(parsed.asn, '65001');
  assert.deepEqual(parsed.networks, [
    { kind: 'bgp', address: '192.0.2.53', interface: BGP_INTERFACE, prefixLength: 32 },
    { kind: 'bgp', address: '192.0.2.99', interface: BGP_INTERFACE, prefixLength: 32 },
    { kind: 'bgp', address: '2001:db8:53::53', interface: BGP_INTERFACE, prefixLength: 128 },
  ]);
});

// FRR 8.4.4's `show bgp vrfs json`, printed before the configuration in the same vtysh process.
const VRFS_JSON = `{
  "vrfs":{
    "default":{
      "type":"DFLT",
      "vrfId":0,
      "routerId":"0.0.0.2",
      "numConfiguredPeers":2,
      "numEstablishedPeers":2,
      "l3vni":0,
      "rmac":"00:00:00:00:00:00",
      "interface":"unknown"
    }
  },
  "totalVrfs":1
}
`;
// What `show running-config bgpd` alone printed with bgpd stopped (exit 0, nothing on stderr): vtysh's own lines.
const BGPD_DOWN_CONFIG = 'Building configuration...\n\nCurrent configuration:\n!\nhostname vm\nservice integrated-vtysh-config\n!\nend\n';

test('the listing: bgpd answered the vrfs JSON, then its configuration is parsed', () => {
  assert.deepEqual(LIST_COMMANDS, ['show bgp vrfs json', 'show running-config bgpd']);
  assert.deepEqual(parseBgpdListing(VRFS_JSON + FRR_84_OUTPUT), parseBgpdConfig(FRR_84_OUTPUT));
  assert.equal(parseBgpdListing('{\n  "vrfs":{\n  },\n  "totalVrfs":0\n}\n' + BGPD_DOWN_CONFIG).asn, undefined, 'bgpd up, no instance');
});

test('the listing without bgpd\'s JSON (config alone looks like "no statements") is refused', () => {
  for (const printed of [BGPD_DOWN_CONFIG, VRFS_JSON, '', '% Unknown command: show bgp vrfs json\n' + BGPD_DOWN_CONFIG]) {
    assert.throws(
      () => parseBgpdListing(printed),
      (error: unknown) => isHealthcastError(error, ErrorCodes.VTYSH_BAD_OUTPUT),
      JSON.stringify(printed.slice(0, 40)),
    );
  }
});

test('no `router bgp`: no AS and no statements (bgpd up but empty)', () => {
  const parsed = parseBgpdConfig('Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nhostname a\n!\nend\n');
  assert.equal(parsed.asn, undefined);
  assert.deepEqual(parsed.networks, []);
});

test('statements of vrf instances, other address families, non-host prefixes and the wrong family are not listed', () => {
  const text = [
    'router bgp 65001 vrf blue',
    ' address-family ipv4 unicast',
    '  network 192.0.2.1/32',
    ' exit-address-family',
    'exit',
    '!',
    'router bgp 65001',
    ' address-family ipv4 multicast',
    '  network 192.0.2.2/32',
    ' exit-address-family',
    ' address-family ipv4 unicast',
    '  network 192.0.2.0/24',
    '  network 2001:db8::3/128',
    '  network 192.0.2.4/32 route-map SET-COMMUNITY',
    '  network 192.0.2.4/32',
    ' exit-address-family',
    ' address-family ipv6 unicast',
    '  network 192.0.2.5/32',
    '  network 2001:DB8:0:0::6/128',
    '  network 2001:db8::/64',
    ' exit-address-family',
    ' address-family l2vpn evpn',
    '  network 192.0.2.7/32',
    ' exit-address-family',
    'exit',
    '!',
    'router bgp 65002 view other',
    ' network 192.0.2.8/32',
    'exit',
    'end',
  ].join('\n');
  const parsed = parseBgpdConfig(text);
  assert.equal(parsed.asn, '65001', 'the vrf instance comes first but is not the default one');
  assert.deepEqual(names(text), ['192.0.2.4', '2001:db8::6'], 'a statement with a route-map counts once; IPv6 in canonical form');
});

test('Quagga-era layout: IPv4 statements directly under router bgp, block ended by "!" alone', () => {
  const text = 'router bgp 64512\n bgp router-id 10.0.0.1\n network 192.0.2.9/32\n network 2001:db8::9/128\n!\nline vty\n!\n';
  const parsed = parseBgpdConfig(text);
  assert.equal(parsed.asn, '64512');
  assert.deepEqual(names(text), ['192.0.2.9'], 'an IPv6 prefix outside an ipv6 address-family is not a statement there');
  assert.deepEqual(names(`${text}router ospf\n network 192.0.2.10/32 area 0\n!\n`), ['192.0.2.9'], 'other router sections end the block');
});

test('config lines: one router context, one address-family block per family, order kept within a family', () => {
  const op = (action: 'add' | 'remove', address: string): RoutingOp => ({ action, entry: { kind: 'bgp', address, interface: BGP_INTERFACE } });
  assert.deepEqual(bgpConfigLines('65001', [op('remove', '2001:db8::1'), op('add', '192.0.2.53'), op('remove', '192.0.2.54')]), [
    'router bgp 65001',
    'address-family ipv4 unicast',
    'network 192.0.2.53/32',
    'no network 192.0.2.54/32',
    'exit-address-family',
    'address-family ipv6 unicast',
    'no network 2001:db8::1/128',
    'exit-address-family',
  ]);
  assert.deepEqual(bgpConfigLines('65001', [op('add', '2001:db8:53::53')]), [
    'router bgp 65001',
    'address-family ipv6 unicast',
    'network 2001:db8:53::53/128',
    'exit-address-family',
  ]);
});

test("bgpd's answer to removing a missing statement is recognised", () => {
  assert.match("% Can't find static route specified", NETWORK_NOT_FOUND);
  assert.doesNotMatch('BGP is already running; AS is 65001', NETWORK_NOT_FOUND);
});

const HOLD_CONFIG = `ip prefix-list HC-BGP-HOLD-V4 seq 1 deny 192.0.2.54/32
ip prefix-list HC-BGP-HOLD-V4 seq 7 deny 192.0.2.60/32
ip prefix-list HC-BGP-HOLD-V4 seq 4294967295 permit any
!
router bgp 65001
 !
 address-family ipv4 unicast
  network 192.0.2.53/32
  network 192.0.2.54/32
 exit-address-family
exit
!
`;

test('hold lists: deny entries per family, only from a list with its closing permit any', () => {
  assert.deepEqual(
    parseHeld(HOLD_CONFIG),
    {
      4: new Map([
        ['192.0.2.54', 1],
        ['192.0.2.60', 7],
      ]),
    },
    'no ipv6 list: nothing to write to',
  );
  assert.deepEqual(parseHeld('ip prefix-list HC-BGP-HOLD-V4 seq 1 deny 192.0.2.54/32\n'), {}, 'without the closing entry the list is not used');
  assert.deepEqual(parseHeld('ipv6 prefix-list HC-BGP-HOLD-V6 seq 4294967295 permit any\n'), { 6: new Map() });
  // A statement with a deny entry is listed as held back: the reconciler tells it from an announced one.
  assert.deepEqual(
    parseBgpdConfig(HOLD_CONFIG).networks.map((entry) => `${entry.address} ${entry.interface}`),
    ['192.0.2.53 bgp', '192.0.2.54 bgp-held'],
  );
});

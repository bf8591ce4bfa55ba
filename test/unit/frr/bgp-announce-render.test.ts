// announce: bgp services reach the neighbours through network statements, never through redistribution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveRenderOptions, type RenderSource } from '../../../src/frr/render-options.js';
import { renderFrrConfig } from '../../../src/frr/render.js';

const source: RenderSource = {
  interface: 'lo',
  services: [
    { addresses: ['192.0.2.53', '2001:db8:53::53'], interface: 'lo', announce: 'address' },
    { addresses: ['192.0.2.80', '2001:db8:80::80'], interface: 'lo', announce: 'bgp' },
  ],
  frr: {
    vtysh: '/usr/bin/vtysh',
    router_id: '198.51.100.2',
    asn: 65002,
    neighbors: [
      { address: '198.51.100.1', remote_as: 65001 },
      { address: '2001:db8:ffff::1', remote_as: 65001 },
    ],
  } as RenderSource['frr'],
};

for (const style of ['split', 'integrated'] as const) {
  test(`${style} bgp config: outbound filter has every service prefix and no interface match; redistribution leaves out announce: bgp`, () => {
    const resolved = resolveRenderOptions(source, { style, protocol: 'bgp' }, 'node');
    if (!resolved.ok) assert.fail(resolved.errors.join('\n'));
    const text = renderFrrConfig(resolved.options)
      .map((file) => file.text)
      .join('\n');
    assert.match(text, /ip prefix-list HC-SERVICES-V4 seq \d+ permit 192\.0\.2\.80\/32/);
    assert.match(text, /ip prefix-list HC-BGP-REDIST-V4 seq \d+ permit 192\.0\.2\.53\/32/);
    assert.doesNotMatch(text, /ip prefix-list HC-BGP-REDIST-V4 seq \d+ permit 192\.0\.2\.80\/32/);
    assert.doesNotMatch(text, /ipv6 prefix-list HC-BGP-REDIST-V6 seq \d+ permit 2001:db8:80::80\/128/);
    assert.match(text, /route-map HC-BGP-OUT-V4 permit 10\n match ip address prefix-list HC-SERVICES-V4\nexit/);
    assert.match(text, /neighbor 198\.51\.100\.1 route-map HC-BGP-OUT-V4 out/);
    assert.match(text, /neighbor 2001:db8:ffff::1 route-map HC-BGP-OUT-V6 out/);
    assert.match(text, /redistribute connected route-map HC-BGP-REDIST-V4/);
    assert.match(text, /route-map HC-BGP-REDIST-V4 permit 10\n match ip address prefix-list HC-BGP-REDIST-V4\n match interface lo/);
  });
}

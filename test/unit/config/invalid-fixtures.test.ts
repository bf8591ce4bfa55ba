import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/load.js';
import { isHealthcastError, ErrorCodes } from '../../../src/errors.js';
import { fixture } from '../../support/paths.js';

// Every invalid fixture maps to its exact errors: file, key path and what is wrong.
const expectations: Record<string, (string | RegExp)[]> = {
  'unknown-top-level-key.yaml': ['unknown-top-level-key.yaml: intervall: unknown key'],
  'port-out-of-range.yaml': ['port-out-of-range.yaml: services[0].probes[0].ports[0]: must be 1-65535'],
  'wide-prefix.yaml': ['wide-prefix.yaml: services[0].addresses[0]: "192.0.2.0/24" is not a host address: use /32 or no prefix length'],
  'wide-prefix-v6.yaml': ['wide-prefix-v6.yaml: services[0].addresses[0]: "2001:db8::/64" is not a host address: use /128 or no prefix length'],
  'not-an-address.yaml': ['not-an-address.yaml: services[0].addresses[0]: not an IPv4 or IPv6 address: "dns.example.com"'],
  'unknown-probe-type.yaml': [/^unknown-probe-type\.yaml: services\[0\]\.probes\[0\]\.type: unknown probe type "ftp" \(known: .*tcp.*\)$/],
  'unknown-probe-option.yaml': ['unknown-probe-option.yaml: services[0].probes[0].retries: unknown key'],
  'timeout-longer-than-interval.yaml': ['timeout-longer-than-interval.yaml: services[0].timeout: 2000ms is longer than the interval (1000ms)'],
  'bad-duration.yaml': ['bad-duration.yaml: defaults.interval: not a duration: "1 sec" (use e.g. "250ms", "1s", "2m" or milliseconds)'],
  'duplicate-service-name.yaml': [
    'duplicate-service-name.yaml: services[1]: name: service "dns" is already defined in duplicate-service-name.yaml: services[0]',
  ],
  'address-claimed-twice.yaml': ['address-claimed-twice.yaml: services[1]: addresses: 2001:db8::53 is already claimed by service "dns"'],
  'no-probes.yaml': ['no-probes.yaml: services[0].probes: must list at least one probe'],
  'bad-service-name.yaml': [
    'bad-service-name.yaml: services[0].name: must start with a letter or digit and use only letters, digits, "_", "." and "-" (at most 63)',
  ],
  'at-least-too-many.yaml': ['at-least-too-many.yaml: services[0].require.at_least: 2 is more than the 1 probe(s) listed'],
  'yaml-syntax.yaml': [
    'yaml-syntax.yaml: Nested mappings are not allowed in compact mappings at line 2, column 11',
    'yaml-syntax.yaml: Implicit keys need to be on a single line at line 2, column 11',
  ],
  'duplicate-key.yaml': ['duplicate-key.yaml: Map keys must be unique at line 2, column 1'],
  'alias-bomb.yaml': ['alias-bomb.yaml: Excessive alias count indicates a resource exhaustion attack'],
  'route-protocol-reserved.yaml': ['route-protocol-reserved.yaml: route_protocol: must be 5-254 (0-4 are reserved by the kernel)'],
  'lease-too-short.yaml': ['lease-too-short.yaml: lease: must be 0 (off) or at least 3s (it is renewed every lease/3)'],
  'frr-bfd-and-password.yaml': [
    'frr-bfd-and-password.yaml: frr.bfd.detect_multiplier: must be 2-255',
    'frr-bfd-and-password.yaml: frr.vty_password_file: must be an absolute path',
  ],
  'empty-disable-dir.yaml': ['empty-disable-dir.yaml: disable_dir: must name a directory'],
  'l2-router-without-announce-l2.yaml': [
    'l2-router-without-announce-l2.yaml: services[0].l2_router[1]: not an IPv4 or IPv6 address: "not-an-address"',
    'l2-router-without-announce-l2.yaml: services[1].l2_router: needs announce_l2 (the router is told after the LAN announcement)',
  ],
  'not-a-mapping.yaml': ['not-a-mapping.yaml: Invalid input: expected object, received array'],
  'missing-services-dir.yaml': [/^missing-services-dir\.yaml: services_dir: cannot read .*does-not-exist\.d: ENOENT/],
  // Routing policy (issue 14).
  'policy-keys.yaml': [/^policy-keys\.yaml: services\[0\]\.probes\[1\]\.effect: .*"down".*"degrade"/],
  'policy-values.yaml': [
    'policy-values.yaml: services[0].fast_interval: 2000ms is longer than the interval (1000ms)',
    'policy-values.yaml: services[0].degraded_metric: 100 must be above metric (500): degraded must be less preferred',
  ],
  'damping-never-suppresses.yaml': [
    'damping-never-suppresses.yaml: services[0].damping: max_suppress is too short for this half_life: the capped penalty (reuse x 2^(max_suppress/half_life)) never reaches suppress',
  ],
  'services-dir-errors/healthcast.yaml': [
    'services.d/b-port.yaml: probes[1].ports[0]: must be 1-65535',
    'services.d/a-dup.yaml: name: service "dns" is already defined in healthcast.yaml: services[0]',
  ],
};

for (const [name, expected] of Object.entries(expectations)) {
  test(`invalid config ${name} is rejected with its exact errors`, async () => {
    const error = await loadConfig(fixture('config', 'invalid', name)).then(
      () => assert.fail('config was accepted'),
      (caught: unknown) => caught,
    );
    assert.ok(isHealthcastError(error, ErrorCodes.CONFIG_INVALID), `unexpected error: ${String(error)}`);
    assert.equal(error.details.length, expected.length, `got: ${error.details.join(' | ')}`);
    expected.forEach((want, index) => {
      const got = error.details[index] ?? '';
      if (want instanceof RegExp) assert.match(got, want);
      else assert.equal(got, want);
    });
  });
}

test('a huge config file is refused before parsing', async (t) => {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hc-cfg-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'big.yaml');
  await fs.writeFile(file, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
  await assert.rejects(
    loadConfig(file),
    (error: unknown) => isHealthcastError(error) && /big\.yaml: file is \d+ bytes, larger than/.test(error.details[0] ?? ''),
  );
});

test('deeply nested values are rejected, not crashed on', async (t) => {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hc-cfg-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'deep.yaml');
  await fs.writeFile(file, `interface: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
  await assert.rejects(loadConfig(file), (error: unknown) => isHealthcastError(error, ErrorCodes.CONFIG_INVALID) && error.details.length > 0);
});

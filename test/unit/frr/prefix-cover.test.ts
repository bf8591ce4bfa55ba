import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactCover } from '../../../src/frr/prefix-cover.js';

const hosts = (from: number, count: number) => Array.from({ length: count }, (_, i) => `198.18.${Math.floor((from + i) / 256)}.${(from + i) % 256}/32`);

// Every address a list of entries permits, for small IPv4 cases.
function permitted(entries: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const entry of entries) {
    const [prefix = '', ge] = entry.split(' ge ');
    const [address = '', length = '32'] = prefix.split('/');
    const base = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
    assert.ok(ge === undefined || ge === '32', entry);
    for (let i = 0; i < 2 ** (32 - Number(length)); i += 1) {
      const value = base + i;
      out.add(`${[24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.')}/32`);
    }
  }
  return out;
}

test('exactCover: blocks of consecutive addresses, exactly the set, lone addresses unchanged', () => {
  assert.deepEqual(exactCover(['192.0.2.53/32', '192.0.2.9/32']), ['192.0.2.9/32', '192.0.2.53/32']);
  assert.deepEqual(exactCover(hosts(0, 4)), ['198.18.0.0/30 ge 32']);
  assert.deepEqual(exactCover(hosts(1, 4)), ['198.18.0.1/32', '198.18.0.2/31 ge 32', '198.18.0.4/32']);
  assert.equal(exactCover(hosts(0, 1000)).length, 6);
  for (const [from, count] of [
    [0, 1000],
    [3, 77],
    [255, 3],
  ] as const) {
    const input = hosts(from, count);
    assert.deepEqual([...permitted(exactCover(input))].sort(), [...new Set(input)].sort(), `${from}+${count}`);
  }
});

test('exactCover: IPv6 in canonical form', () => {
  assert.deepEqual(exactCover(['2001:db8:100::4/128', '2001:db8:100::5/128', '2001:db8:100::6/128', '2001:db8:100::7/128']), ['2001:db8:100::4/126 ge 128']);
  assert.deepEqual(exactCover(['2001:db8:53::53/128']), ['2001:db8:53::53/128']);
});

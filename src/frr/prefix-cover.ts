// Pure: the fewest prefix-list entries that permit exactly a set of host addresses. Consecutive addresses that fill an
// aligned block become one `P/len ge 32` (`ge 128`) entry, which permits that block's host routes and nothing else;
// a lone address stays `A/32`. Why: bgpd spent ~12 s of CPU loading 1,000 exact /32 entries (twice) through vtysh and
// ~10 ms loading the 6 blocks that cover 1,000 consecutive addresses (FRR 8.4.4, busy 2-core machine, docs/performance.md).
import net from 'node:net';

function toBig(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((sum, octet) => (sum << 8n) + BigInt(octet), 0n);
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = address.includes('::') ? groups(tail) : [];
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((sum, group) => (sum << 16n) + BigInt(parseInt(group, 16)), 0n);
}

function fromBig(value: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((value >> shift) & 0xffffn).toString(16));
  // The canonical form: the longest run of zero groups (two or more) becomes '::'.
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j += 1;
    if (j - i > best.length && j - i > 1) best = { at: i, length: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

// Host prefixes ("192.0.2.1/32", "2001:db8::1/128") of one family in, prefix-list entries out, in address order.
export function exactCover(hostPrefixes: readonly string[]): string[] {
  if (hostPrefixes.length === 0) return [];
  const family = net.isIP(hostPrefixes[0]!.split('/')[0] ?? '') === 6 ? 6 : 4;
  const bits = family === 4 ? 32 : 128;
  const values = [...new Set(hostPrefixes.map((prefix) => toBig(prefix.split('/')[0] ?? '', family)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const entries: string[] = [];
  let index = 0;
  while (index < values.length) {
    const start = values[index]!;
    // The largest aligned block starting here whose every address is in the set.
    let size = 1n;
    let length = 0;
    while (start % (size * 2n) === 0n && index + Number(size * 2n) <= values.length && values[index + Number(size * 2n) - 1] === start + size * 2n - 1n) {
      size *= 2n;
      length += 1;
    }
    entries.push(length === 0 ? `${fromBig(start, family)}/${bits}` : `${fromBig(start, family)}/${bits - length} ge ${bits}`);
    index += Number(size);
  }
  return entries;
}

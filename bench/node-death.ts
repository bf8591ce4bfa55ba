// Node death: how long a router keeps routing a service address to a node that went silent (FRR frozen, see
// bench/lib/node-death-lab.ts), with and without BFD (100 ms x 3, what `frr-config --profile fast` renders), over
// OSPF (IPv4 = OSPFv2, IPv6 = OSPFv3, both redistribute connected) and eBGP. Goal with BFD: under 500 ms median.
// Usage: node dist/bench/node-death.js [RUNS=10] [PROTOCOLS=ospf,bgp]   (root; writes bench/results/node-death.json,
//        or the file named by BENCH_NODE_DEATH_RESULT: the test runs `node-death.js 1` that way)
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_BFD } from '../src/config/defaults.js';
import { buildNodeDeathLab, type NodeDeathProtocol, type NodeDeathSample } from './lib/node-death-lab.js';
import { machine, row, table, writeResult, type Row } from './lib/report.js';

const RUNS = Number(process.argv[2] ?? 10);
const PROTOCOLS = (process.argv[3] ?? 'ospf,bgp').split(',').map((name) => name.trim()) as NodeDeathProtocol[];
// Without BFD the dead interval (3 s) or hold time (3 s) decides; give it room on a busy machine.
const DETECT_TIMEOUT_MS = 15_000;

interface Variant {
  protocol: NodeDeathProtocol;
  bfd: boolean;
  samples: NodeDeathSample[];
}

function ms(value: number | undefined): string {
  return value === undefined ? 'never' : `${Math.round(value)} ms`;
}

function label(protocol: NodeDeathProtocol, family: 'v4' | 'v6', bfd: boolean): string {
  const name = protocol === 'bgp' ? `eBGP ${family === 'v4' ? 'IPv4' : 'IPv6'}` : family === 'v4' ? 'OSPFv2 (redistribute connected)' : 'OSPFv3';
  return `${name}, ${bfd ? 'BFD 100 ms x 3' : 'no BFD'}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the node-death benchmark needs root (network namespaces)');
  if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`RUNS must be a positive integer, got ${process.argv[2]}`);
  const variants: Variant[] = [];
  for (const protocol of PROTOCOLS) {
    for (const bfd of [true, false]) {
      const lab = await buildNodeDeathLab({ protocol, ...(bfd ? { bfd: { ...DEFAULT_BFD } } : {}) });
      const variant: Variant = { protocol, bfd, samples: [] };
      variants.push(variant);
      try {
        for (let index = 0; index < RUNS; index += 1) {
          const sample = await lab.run(DETECT_TIMEOUT_MS);
          variant.samples.push(sample);
          process.stdout.write(`${protocol} ${bfd ? 'BFD' : 'no BFD'} run ${index + 1}/${RUNS}: IPv4 ${ms(sample.v4Ms)}, IPv6 ${ms(sample.v6Ms)}\n`);
        }
      } finally {
        await lab.destroy();
      }
    }
  }
  const rows: Row[] = variants.flatMap((variant) =>
    (['v4', 'v6'] as const).map((family) =>
      row(
        label(variant.protocol, family, variant.bfd),
        'ms',
        variant.samples.map((sample) => (family === 'v4' ? sample.v4Ms : sample.v6Ms) ?? Number.NaN),
        variant.bfd ? '< 500' : undefined,
      ),
    ),
  );
  process.stdout.write(`\n${table(`Node frozen -> the router's kernel route to the service address gone (${RUNS} runs each)`, rows)}\n`);
  const missed = variants.flatMap((variant) => variant.samples.filter((sample) => sample.v4Ms === undefined || sample.v6Ms === undefined)).length;
  if (missed > 0) process.stdout.write(`${missed} run(s) where a route was not deleted within ${DETECT_TIMEOUT_MS} ms (left out above)\n`);
  const data = {
    settings: {
      runs: RUNS,
      protocols: PROTOCOLS,
      bfd: DEFAULT_BFD,
      detectTimeoutMs: DETECT_TIMEOUT_MS,
      topology: 'router + 1 node, one veth; OSPF point-to-point hello 1 s / dead 3 s, eBGP keepalive 1 s / hold 3 s; node frozen with SIGSTOP',
    },
    rows,
    variants,
  };
  const target = process.env.BENCH_NODE_DEATH_RESULT;
  if (target) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, JSON.stringify({ benchmark: 'node-death', machine: machine(), ...data }, null, 2) + '\n');
    process.stdout.write(`\nwrote ${target}\n`);
  } else {
    process.stdout.write(`\nwrote ${writeResult('node-death', data)}\n`);
  }
}

await main();

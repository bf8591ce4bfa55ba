// A DNS load client for the anycast lab, run inside the router's namespace (`ip netns exec NS node ...`): for each
// target, RATE queries a second for DURATION ms, each from a fresh socket (a fresh source port, so the router's L4
// ECMP hash spreads them over the nodes) with its own id and a short timeout. Prints one JSON line when it starts,
// one per query ({t, target, id, ok, by?, err?, rttMs}) and one when every query has settled.
// Usage: node dns-load-client.js --port P [--rate 100] [--duration 4000] [--timeout 300] [--name who.test] TARGET...
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';

const { values, positionals: targets } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '4000' },
    timeout: { type: 'string', default: '300' },
    name: { type: 'string', default: 'who.test' },
  },
});
const port = Number(values.port);
const rate = Number(values.rate);
const durationMs = Number(values.duration);
const timeoutMs = Number(values.timeout);
if (!Number.isInteger(port) || targets.length === 0 || !(rate > 0) || !(durationMs > 0) || !(timeoutMs > 0)) {
  process.stderr.write('usage: dns-load-client --port P [--rate N] [--duration MS] [--timeout MS] [--name NAME] TARGET...\n');
  process.exit(2);
}

interface Outcome {
  ok: boolean;
  by?: string;
  err?: string;
}

// The answering node's name is the TXT record's text; anything else is a failure with a reason.
function outcomeOf(bytes: Buffer, id: number): Outcome | undefined {
  const answer = dnsPacket.decode(bytes);
  if (answer.id !== id) return undefined;
  const txt = answer.answers?.find((record) => record.type === 'TXT');
  const data = txt && 'data' in txt ? txt.data : undefined;
  const by = Array.isArray(data) ? data.map((part) => part.toString()).join('') : undefined;
  return by === undefined ? { ok: false, err: `no TXT answer (flags ${answer.flags ?? '?'})` } : { ok: true, by };
}

function query(target: string, id: number): Promise<void> {
  const sent = Date.now();
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(target) ? 'udp6' : 'udp4');
    let settled = false;
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      const rttMs = Math.round((performance.now() - started) * 100) / 100;
      process.stdout.write(`${JSON.stringify({ t: sent, target, id, ...outcome, rttMs })}\n`);
      resolve();
    };
    const timer = setTimeout(() => done({ ok: false, err: 'timeout' }), timeoutMs);
    // A connected socket reports ICMP unreachables (a node that dropped the address and has no route) as errors.
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, err: error.code ?? error.message }));
    socket.on('message', (bytes) => {
      try {
        const outcome = outcomeOf(bytes, id);
        if (outcome) done(outcome);
      } catch (error) {
        done({ ok: false, err: `undecodable answer: ${(error as Error).message}` });
      }
    });
    // The callback also runs on failure (no route), and may come after the timeout closed the socket.
    socket.connect(port, target, (error?: NodeJS.ErrnoException) => {
      if (settled) return;
      if (error) {
        done({ ok: false, err: error.code ?? error.message });
        return;
      }
      socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'TXT', name: values.name }] }), (sendError) => {
        if (sendError) done({ ok: false, err: (sendError as NodeJS.ErrnoException).code ?? sendError.message });
      });
    });
  });
}

// Drift-free schedule: query n of each target leaves at start + n / rate, whatever the previous ones cost.
const periodMs = 1000 / rate;
const total = Math.max(1, Math.floor((durationMs * rate) / 1000));
const start = Date.now();
process.stdout.write(`${JSON.stringify({ started: start, rate, durationMs, timeoutMs, targets })}\n`);
const pending: Promise<void>[] = [];
let n = 0;
const tick = () => {
  const due = Math.min(total, Math.floor((Date.now() - start) / periodMs) + 1);
  for (; n < due; n += 1) for (const target of targets) pending.push(query(target, (n % 65535) + 1));
  if (n < total) setTimeout(tick, Math.max(0, start + n * periodMs - Date.now()));
  else void Promise.all(pending).then(() => process.stdout.write(`${JSON.stringify({ done: Date.now(), sent: total * targets.length })}\n`));
};
tick();

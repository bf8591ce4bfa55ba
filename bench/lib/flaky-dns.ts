// A DNS server for the soak: answers svcNNNN.test with 192.0.2.1, except for a random FRACTION of the services,
// redrawn every RESHUFFLE_MS, which get NXDOMAIN (half of them) or no answer at all (the other half, a timeout).
// Usage: node flaky-dns.js PORT SERVICES FRACTION RESHUFFLE_MS   (prints "listening", then one JSON line per redraw)
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';

const [port = 5353, services = 1000, fraction = 0.1, reshuffleMs = 20_000] = process.argv.slice(2).map(Number);
const failing = new Map<number, 'nxdomain' | 'silent'>();

function redraw(): void {
  failing.clear();
  while (failing.size < Math.round(services * fraction)) failing.set(randomInt(services), randomInt(2) === 0 ? 'nxdomain' : 'silent');
  process.stdout.write(`${JSON.stringify({ t: Date.now(), failing: [...failing.keys()].sort((a, b) => a - b) })}\n`);
}

const socket = dgram.createSocket('udp4');
socket.on('message', (bytes, remote) => {
  let query: dnsPacket.Packet;
  try {
    query = dnsPacket.decode(bytes);
  } catch {
    return;
  }
  const question = query.questions?.[0];
  const index = Number(/^svc(\d+)\.test$/.exec(question?.name ?? '')?.[1] ?? Number.NaN);
  const mode = failing.get(index);
  if (mode === 'silent') return;
  const ok = mode === undefined && Number.isInteger(index);
  const reply = dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: (ok ? 0 : 3) | dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED),
    questions: query.questions ?? [],
    answers: ok && question ? [{ type: 'A', name: question.name, ttl: 60, data: '192.0.2.1' }] : [],
  });
  socket.send(reply, remote.port, remote.address);
});
socket.bind(port, '127.0.0.1', () => {
  process.stdout.write('listening\n');
  redraw();
  setInterval(redraw, reshuffleMs);
});

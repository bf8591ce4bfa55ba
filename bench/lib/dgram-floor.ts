// The floor under any Node.js prober: the same DNS query sent RATE times a second from pooled connected UDP sockets
// (as the dns probe pools them), a 500 ms timer per query, the answer's id checked and nothing else: no schedule,
// state machine, metrics or result. What healthcast costs above this is its own work; this much is Node and the
// kernel's loopback path, for any agent written on Node's dgram. Prints one JSON line.
// Usage: node dgram-floor.js SERVER PORT SECONDS [RATE=1000]
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

const [server = '127.0.0.1', portText = '53', secondsText = '20', rateText = '1000'] = process.argv.slice(2);
const [port, seconds, rate] = [portText, secondsText, rateText].map(Number) as [number, number, number];
const query = dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'probe.test' }] });

interface Pooled {
  socket: dgram.Socket;
  id: number;
  timer: NodeJS.Timeout | undefined;
  // A socket made when the pool ran dry is still connecting: its first query waits here (a send before the connect
  // finishes throws ERR_SOCKET_BAD_PORT), as the agent's pool queues it.
  connecting: boolean;
  queued: Buffer | undefined;
}

const free: Pooled[] = [];
let sent = 0;
let answered = 0;
let timedOut = 0;

function pooled(): Pooled {
  const entry: Pooled = { socket: dgram.createSocket(net.isIPv6(server) ? 'udp6' : 'udp4'), id: -1, timer: undefined, connecting: true, queued: undefined };
  entry.socket.connect(port, server, () => {
    entry.connecting = false;
    if (entry.queued) entry.socket.send(entry.queued);
    entry.queued = undefined;
  });
  entry.socket.on('message', (message: Buffer) => {
    if (message.length < 2 || message.readUInt16BE(0) !== entry.id) return;
    answered += 1;
    clearTimeout(entry.timer);
    entry.id = -1;
    free.push(entry);
  });
  return entry;
}

for (let index = 0; index < 64; index++) free.push(pooled());
await new Promise((resolve) => setTimeout(resolve, 500));

const cpu0 = process.cpuUsage();
const started = Date.now();
// 100 wake-ups a second, as the agent's 10 ms slot grid wakes it.
const tick = setInterval(() => {
  for (let index = 0; index < rate / 100; index++) {
    const entry = free.pop() ?? pooled();
    entry.id = Math.floor(Math.random() * 65536);
    const payload = Buffer.from(query);
    payload.writeUInt16BE(entry.id, 0);
    entry.timer = setTimeout(() => {
      timedOut += 1;
      entry.id = -1;
      entry.queued = undefined;
      free.push(entry);
    }, 500);
    if (entry.connecting) entry.queued = payload;
    else entry.socket.send(payload);
    sent += 1;
  }
}, 10);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
clearInterval(tick);
const cpu = process.cpuUsage(cpu0);
const wallSeconds = (Date.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ sent, answered, timedOut, wallSeconds, userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6 })}\n`);
process.exit(0);

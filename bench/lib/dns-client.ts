// A client that queries the anycast address at a steady rate from a fresh socket each time (a fresh source port,
// so the router's L4 ECMP hash spreads queries over the nodes), printing one JSON line per query.
// Usage: node dns-client.js SERVER PORT EVERY_MS DURATION_MS
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

const [server = '192.0.2.53', port = '53', everyMs = '20', durationMs = '3000'] = process.argv.slice(2);
const TIMEOUT_MS = 150;

function queryOnce(id: number): Promise<{ ok: boolean; by?: string; err?: string; rttMs: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const done = (result: { ok: boolean; by?: string; err?: string }) => {
      clearTimeout(timer);
      socket.close();
      resolve({ ...result, rttMs: Math.round((performance.now() - started) * 100) / 100 });
    };
    const timer = setTimeout(() => done({ ok: false, err: 'timeout' }), TIMEOUT_MS);
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, err: error.code ?? error.message }));
    socket.on('message', (bytes) => {
      try {
        const answer = dnsPacket.decode(bytes);
        if (answer.id !== id) return;
        const txt = answer.answers?.find((record) => record.type === 'TXT');
        const data = txt && 'data' in txt ? txt.data : undefined;
        const by = Array.isArray(data) ? data.map((part) => part.toString()).join('') : undefined;
        done(by === undefined ? { ok: false, err: 'no TXT answer' } : { ok: true, by });
      } catch (error) {
        done({ ok: false, err: (error as Error).message });
      }
    });
    socket.connect(Number(port), server, () => {
      socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'TXT', name: 'who.test' }] }));
    });
  });
}

const end = Date.now() + Number(durationMs);
let id = 1;
const tick = () => {
  if (Date.now() >= end) return;
  const sent = Date.now();
  const current = id;
  id = (id % 65535) + 1;
  void queryOnce(current).then((result) => process.stdout.write(`${JSON.stringify({ t: sent, ...result })}\n`));
  setTimeout(tick, Number(everyMs));
};
tick();

// An in-process DNS server on port 0 (UDP and TCP on the same port) whose replies each test scripts.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';

export type Transport = 'udp' | 'tcp';

export interface Received {
  transport: Transport;
  query: DecodedPacket;
  from: string;
}

// Returns the DNS messages to send back (no TCP length prefix), or nothing to stay silent.
export type Responder = (query: DecodedPacket, transport: Transport) => Buffer[] | Buffer | undefined | Promise<Buffer[] | Buffer | undefined>;

export interface FakeDns {
  host: string;
  port: number;
  received: Received[];
  udp: dgram.Socket;
  close(): Promise<void>;
}

const RCODE_NUMBERS: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

// A well-formed response to `query`; tests override what they want to break.
export function reply(
  query: DecodedPacket,
  options: { rcode?: string; answers?: Answer[]; truncated?: boolean; id?: number; questions?: DecodedPacket['questions'] } = {},
): Buffer {
  const rcode = RCODE_NUMBERS[options.rcode ?? 'NOERROR'] ?? 0;
  const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (options.truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | rcode;
  return dnsPacket.encode({
    type: 'response',
    id: options.id ?? query.id ?? 0,
    flags,
    questions: options.questions ?? query.questions ?? [],
    answers: options.answers ?? [],
  });
}

export async function startFakeDns(responder: Responder, host = '127.0.0.1'): Promise<FakeDns> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await bindBoth(responder, host);
    } catch (error) {
      // The TCP side can lose the race for the UDP port number; pick another.
      if (attempt >= 5 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

async function bindBoth(responder: Responder, host: string): Promise<FakeDns> {
  const received: Received[] = [];
  const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, host, () => resolve());
  });
  const port = udp.address().port;
  udp.on('message', (message, remote) => {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    received.push({ transport: 'udp', query, from: remote.address });
    void Promise.resolve(responder(query, 'udp')).then((out) => {
      for (const buffer of toList(out)) udp.send(buffer, remote.port, remote.address);
    });
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
        const length = buffered.readUInt16BE(0);
        const query = dnsPacket.decode(buffered.subarray(2, length + 2));
        buffered = buffered.subarray(length + 2);
        received.push({ transport: 'tcp', query, from: socket.remoteAddress ?? '' });
        void Promise.resolve(responder(query, 'tcp')).then((out) => {
          for (const buffer of toList(out)) {
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(buffer.length);
            if (!socket.destroyed) socket.write(Buffer.concat([prefix, buffer]));
          }
        });
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve());
    });
  } catch (error) {
    udp.close();
    throw error;
  }
  return {
    host,
    port,
    received,
    udp,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
    },
  };
}

function toList(out: Buffer[] | Buffer | undefined): Buffer[] {
  if (out === undefined) return [];
  return Array.isArray(out) ? out : [out];
}

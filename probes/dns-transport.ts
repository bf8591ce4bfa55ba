// The DNS probe's transport: UDP from a pool of connected sockets, and one TCP connection per query. Moves bytes only;
// dns.ts builds the query and judges what comes back.
//
// UDP: a pool of connected sockets per (server, port, source address), each carrying one query at a time and kept
// between queries, so 1,000 probes a second do not each create, bind, connect and close a socket. One query per
// socket keeps a private socket's guarantee: a reply with a wrong id (a broken server, a forged answer) can never be
// taken for another query's answer. Ids are never reused over a socket's life, so a late answer to an earlier query
// is recognised and reported, never accepted.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { canonicalAddress, formatHostPort, messageOf } from './kit/index.js';

export interface DnsTarget {
  server: string;
  port: number;
  source: string | undefined;
}

// What a socket tells the query it carries.
export interface UdpWaiter {
  // A datagram from the server carrying this query's id (or too short to carry any id).
  message(bytes: Buffer): void;
  // A datagram that is not this query's answer, and why (a timeout reason says how many were ignored).
  ignored(why: string): void;
  // Final: the socket failed (bind, connect, an ICMP error such as port unreachable) or the send did.
  failed(reason: string): void;
}

// One query's use of a socket: its id, its send, and its release when the query is over (whatever the outcome).
export interface UdpLease {
  readonly id: number;
  send(payload: Buffer): void;
  release(): void;
}

// A socket retires after this many queries or this age, so no source port lives long: a forged answer must guess the
// port as well as the id, as with a socket per query.
export const MAX_QUERIES_PER_SOCKET = 4096;
export const MAX_SOCKET_AGE_MS = 30_000;
// An idle socket closes after this long; services probed every few seconds or faster keep theirs.
export const IDLE_CLOSE_MS = 2_000;
// At most this many idle sockets per target: a burst of queries in flight at once does not leave as many open. The idle
// timer (IDLE_CLOSE_MS), not this cap, retires what a burst opened: at 64, a loaded machine whose loop stalls for tens of
// ms sends a burst of more than 64 queries, and the pool closed and re-made sockets all the time (bench/probe-cost's CPU
// profile, load average ~14: creating, binding and closing sockets were ~6 % of the agent's busy samples).
export const MAX_IDLE_PER_TARGET = 256;

// The sockets of one process's DNS probes. Probe definitions are module objects shared by every agent and service in
// the process, and the pool is shared by every service that queries the same server: in bench/probe-cost's 1,000
// services on a loaded machine the agent held ~30 UDP sockets (counted in /proc/PID/net/udp, 2026-12-05), where a
// pool per service would keep 1,000 open (each is probed more often than IDLE_CLOSE_MS). So it is one object, made
// here.
export class UdpPool {
  // Idle sockets per target, most recently used last; and every open socket.
  private readonly idle = new Map<string, PooledSocket[]>();
  private readonly open = new Set<PooledSocket>();

  // An idle socket for `target` (or a new one) carrying this query, with a fresh id, until released.
  lease(target: DnsTarget, key: string, waiter: UdpWaiter): UdpLease {
    const free = this.idle.get(key);
    let socket: PooledSocket | undefined;
    while (free && free.length > 0) {
      const candidate = free.pop()!;
      if (candidate.accepts()) {
        socket = candidate;
        break;
      }
      candidate.close();
    }
    return (socket ?? new PooledSocket(this, target, key)).lease(waiter);
  }

  // Sockets currently open (tests, and a leak check).
  get openSockets(): number {
    return this.open.size;
  }

  // Queries currently waiting on sockets (tests: a finished or cancelled query must not stay registered).
  get pendingQueries(): number {
    let total = 0;
    for (const socket of this.open) if (socket.busy) total += 1;
    return total;
  }

  opened(socket: PooledSocket): void {
    this.open.add(socket);
  }

  closed(socket: PooledSocket, key: string): void {
    this.open.delete(socket);
    const free = this.idle.get(key);
    const index = free?.indexOf(socket) ?? -1;
    if (index >= 0) free!.splice(index, 1);
    if (free?.length === 0) this.idle.delete(key);
  }

  // Back among the idle sockets; false when there are enough already (the caller closes it).
  parked(socket: PooledSocket, key: string): boolean {
    let free = this.idle.get(key);
    if (!free) {
      free = [];
      this.idle.set(key, free);
    }
    if (free.length >= MAX_IDLE_PER_TARGET) return false;
    free.push(socket);
    return true;
  }
}

export const udpPool = new UdpPool();

// The pool key of a target; the probe computes it once per configuration.
export function udpKey(target: DnsTarget): string {
  return `${target.server}|${target.port}|${target.source ?? ''}`;
}

export function openUdpSockets(): number {
  return udpPool.openSockets;
}

export function pendingUdpQueries(): number {
  return udpPool.pendingQueries;
}

// One object per query rather than two closures over the socket and id.
class Lease implements UdpLease {
  constructor(
    private readonly socket: PooledSocket,
    readonly id: number,
  ) {}

  send(payload: Buffer): void {
    this.socket.sendFor(this.id, payload);
  }

  release(): void {
    this.socket.releaseFor(this.id);
  }
}

class PooledSocket {
  private readonly where: string;
  private readonly address: string;
  private readonly socket: dgram.Socket;
  private current: { id: number; waiter: UdpWaiter } | undefined;
  // A send made before the connect finished (a socket cannot send while it connects).
  private queued: Buffer | undefined;
  private connecting = true;
  private readonly used = new Uint8Array(65536 / 8);
  private queries = 0;
  private readonly born = performance.now();
  private lastUsed = this.born;
  private closed = false;
  private readonly idleTimer: NodeJS.Timeout;

  constructor(
    private readonly pool: UdpPool,
    private readonly target: DnsTarget,
    private readonly key: string,
  ) {
    pool.opened(this);
    this.where = `${formatHostPort(target.server, target.port)} udp`;
    this.address = canonicalAddress(target.server);
    this.socket = dgram.createSocket({ type: net.isIPv6(target.server) ? 'udp6' : 'udp4' });
    this.socket.unref();
    // On a connected socket an ICMP port unreachable arrives here as ECONNREFUSED.
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.fail(`${this.where}: ${error.code ?? error.message}`));
    this.socket.on('message', (message, remote) => this.receive(message, remote));
    const connect = () => {
      if (!this.closed)
        this.socket.connect(target.port, target.server, (error?: Error) => (error ? this.fail(`${this.where}: ${messageOf(error)}`) : this.connected()));
    };
    if (target.source) this.socket.bind({ address: target.source, port: 0, exclusive: true }, connect);
    else connect();
    this.idleTimer = setTimeout(() => this.checkIdle(), IDLE_CLOSE_MS).unref();
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  // False once full, old or failed: the next query takes another socket.
  accepts(): boolean {
    return !this.closed && this.queries < MAX_QUERIES_PER_SOCKET && performance.now() - this.born < MAX_SOCKET_AGE_MS;
  }

  lease(waiter: UdpWaiter): UdpLease {
    const id = this.freshId();
    this.queries += 1;
    this.current = { id, waiter };
    this.lastUsed = performance.now();
    return new Lease(this, id);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.pool.closed(this, this.key);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  private freshId(): number {
    for (;;) {
      const id = randomInt(0, 65536);
      const byte = id >> 3;
      const bit = 1 << (id & 7);
      if ((this.used[byte]! & bit) === 0) {
        this.used[byte] = this.used[byte]! | bit;
        return id;
      }
    }
  }

  private wasUsed(id: number): boolean {
    return (this.used[id >> 3]! & (1 << (id & 7))) !== 0;
  }

  sendFor(id: number, payload: Buffer): void {
    if (this.closed || this.current?.id !== id) return;
    if (this.connecting) {
      this.queued = payload;
      return;
    }
    // No callback: a send error comes as the socket's 'error' event (fail() tells the query).
    this.socket.send(payload);
  }

  private connected(): void {
    this.connecting = false;
    const queued = this.queued;
    this.queued = undefined;
    if (queued && this.current) this.sendFor(this.current.id, queued);
  }

  // Back to the pool for the next query, or closed when full, old, or one idle socket too many.
  releaseFor(id: number): void {
    if (this.current?.id !== id) return;
    this.current = undefined;
    this.queued = undefined;
    this.lastUsed = performance.now();
    if (this.closed) return;
    if (!this.accepts() || !this.pool.parked(this, this.key)) this.close();
  }

  private receive(message: Buffer, remote: dgram.RemoteInfo): void {
    const current = this.current;
    if (!current) return;
    // The kernel filters a connected socket's senders; this check is for the odd stack that does not.
    if (remote.port !== this.target.port || (remote.address !== this.target.server && canonicalAddress(remote.address) !== this.address)) {
      return current.waiter.ignored('from an unexpected source');
    }
    // Too short to carry an id: the query's own checks say it is malformed.
    if (message.length < 2) return current.waiter.message(message);
    const id = message.readUInt16BE(0);
    if (id === current.id) return current.waiter.message(message);
    current.waiter.ignored(this.wasUsed(id) ? 'to an earlier query' : 'with wrong id');
  }

  private fail(reason: string): void {
    const current = this.current;
    this.current = undefined;
    this.close();
    current?.waiter.failed(reason);
  }

  private checkIdle(): void {
    if (this.closed) return;
    if (!this.current && performance.now() - this.lastUsed >= IDLE_CLOSE_MS) this.close();
    else this.idleTimer.refresh();
  }
}

// What a TCP connection tells its query: each complete DNS message (the 2-byte length stripped), or the end.
export interface TcpWaiter {
  message(bytes: Buffer): void;
  // Final: connect failed or the connection broke (closed: false), or it closed before the query finished (true).
  failed(reason: string, closed: boolean): void;
}

// One query over a fresh TCP connection (DNS over TCP: a 2-byte length, then the message); close() ends it.
export class TcpExchange {
  private readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private done = false;

  constructor(
    target: DnsTarget,
    framed: Buffer,
    private readonly waiter: TcpWaiter,
  ) {
    const where = `${formatHostPort(target.server, target.port)} tcp`;
    this.socket = net.connect({ host: target.server, port: target.port, ...(target.source ? { localAddress: target.source } : {}) });
    this.socket.setNoDelay(true);
    this.socket.once('connect', () => this.socket.write(framed));
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.fail(`${where}: ${error.code ?? error.message}`, false));
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('close', () => {
      const partial = this.buffered.length > 0 ? ` (${this.buffered.length} bytes of an incomplete message)` : '';
      this.fail(`${where}: connection closed before a response${partial}`, true);
    });
  }

  close(): void {
    this.done = true;
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    // Several messages may arrive in one chunk, or one across several.
    while (!this.done && this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0);
      if (this.buffered.length < length + 2) break;
      const message = this.buffered.subarray(2, length + 2);
      this.buffered = this.buffered.subarray(length + 2);
      this.waiter.message(message);
    }
  }

  private fail(reason: string, closed: boolean): void {
    if (this.done) return;
    this.close();
    this.waiter.failed(reason, closed);
  }
}

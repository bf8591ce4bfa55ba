// Reused UDP sockets for DNS queries: a pool of connected sockets per (server, port, source address), each carrying one
// query at a time and kept between queries, so 1,000 probes a second do not each create, bind, connect and close a
// socket. One query per socket keeps a private socket's guarantee: a reply with a wrong id (a broken server, a forged
// answer) can never be taken for another query's answer. Ids are never reused over a socket's life, so a late answer
// to an earlier query is recognised and reported, never accepted.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomFillSync } from 'node:crypto';
import { formatHostPort } from './common.js';
import { canonical } from '../src/config/address.js';
import { messageOf } from '../src/errors.js';

export interface UdpTarget {
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
// At most this many idle sockets per target: a burst of queries in flight at once does not leave as many open.
export const MAX_IDLE_PER_TARGET = 64;

// Idle sockets per target, most recently used last; and every open socket.
const idle = new Map<string, PooledSocket[]>();
const open = new Set<PooledSocket>();

// An idle socket for `target` (or a new one) carrying this query, with a fresh id, until released.
export function udpLease(target: UdpTarget, key: string, waiter: UdpWaiter): UdpLease {
  const free = idle.get(key);
  let socket: PooledSocket | undefined;
  while (free && free.length > 0) {
    const candidate = free.pop()!;
    if (candidate.accepts()) {
      socket = candidate;
      break;
    }
    candidate.close();
  }
  return (socket ?? new PooledSocket(target, key)).lease(waiter);
}

// The pool key of a target; probes compute it once per configuration.
export function udpKey(target: UdpTarget): string {
  return `${target.server}|${target.port}|${target.source ?? ''}`;
}

// Sockets currently open (tests, and a leak check).
export function openUdpSockets(): number {
  return open.size;
}

// Queries currently waiting on sockets (tests: a finished or cancelled query must not stay registered).
export function pendingUdpQueries(): number {
  let total = 0;
  for (const socket of open) if (socket.busy) total += 1;
  return total;
}

const RANDOM_IDS = new Uint16Array(1024);
let randomAt = RANDOM_IDS.length;

function randomId(): number {
  if (randomAt >= RANDOM_IDS.length) {
    randomFillSync(RANDOM_IDS);
    randomAt = 0;
  }
  return RANDOM_IDS[randomAt++]!;
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
  // A send made before the connect finished.
  private queued: Buffer | undefined;
  private connecting = true;
  private readonly used = new Uint8Array(65536 / 8);
  private queries = 0;
  private readonly born = Date.now();
  private lastUsed = this.born;
  private closed = false;
  private readonly idleTimer: NodeJS.Timeout;

  constructor(
    private readonly target: UdpTarget,
    private readonly key: string,
  ) {
    open.add(this);
    this.where = `${formatHostPort(target.server, target.port)} udp`;
    this.address = canonical(target.server);
    this.socket = dgram.createSocket({ type: net.isIPv6(target.server) ? 'udp6' : 'udp4' });
    this.socket.unref();
    // On a connected socket an ICMP port unreachable arrives here as ECONNREFUSED.
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.fail(`${this.where}: ${error.code ?? error.message}`));
    this.socket.on('message', (message, remote) => this.receive(message, remote));
    const connect = () => {
      if (!this.closed) this.socket.connect(target.port, target.server, (error?: Error) => (error ? this.fail(`${this.where}: ${messageOf(error)}`) : this.connected()));
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
    return !this.closed && this.queries < MAX_QUERIES_PER_SOCKET && Date.now() - this.born < MAX_SOCKET_AGE_MS;
  }

  lease(waiter: UdpWaiter): UdpLease {
    const id = this.freshId();
    this.queries += 1;
    this.current = { id, waiter };
    this.lastUsed = Date.now();
    return new Lease(this, id);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    open.delete(this);
    clearTimeout(this.idleTimer);
    this.removeFromIdle();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  private freshId(): number {
    for (;;) {
      const id = randomId();
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
    // No callback: a send error comes as the socket's 'error' event (fail() tells the query), and a send that needs
    // none saves a process.nextTick per query.
    this.socket.send(payload);
  }

  private connected(): void {
    this.connecting = false;
    const queued = this.queued;
    this.queued = undefined;
    if (queued && this.current) this.sendFor(this.current.id, queued);
  }

  // Back to the pool for the next query, or closed when full or old.
  releaseFor(id: number): void {
    if (this.current?.id !== id) return;
    this.current = undefined;
    this.queued = undefined;
    this.lastUsed = Date.now();
    if (this.closed) return;
    if (!this.accepts()) return this.close();
    let free = idle.get(this.key);
    if (!free) {
      free = [];
      idle.set(this.key, free);
    }
    if (free.length >= MAX_IDLE_PER_TARGET) return this.close();
    free.push(this);
  }

  private receive(message: Buffer, remote: dgram.RemoteInfo): void {
    const current = this.current;
    if (!current) return;
    // The kernel filters a connected socket's senders; this check is for the odd stack that does not.
    if (remote.port !== this.target.port || (remote.address !== this.target.server && canonical(remote.address) !== this.address)) {
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
    if (!this.current && Date.now() - this.lastUsed >= IDLE_CLOSE_MS) this.close();
    else this.idleTimer.refresh();
  }

  private removeFromIdle(): void {
    const free = idle.get(this.key);
    const index = free?.indexOf(this) ?? -1;
    if (index >= 0) free!.splice(index, 1);
    if (free?.length === 0) idle.delete(this.key);
  }
}

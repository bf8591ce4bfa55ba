// Shared UDP sockets for DNS queries: one connected socket per (server, port, source address), used by every query to
// that server and kept between queries, so 1,000 probes a second do not each create, bind, connect and close a socket.
// A reply is routed by its id (unique among the ids a socket ever used) to the query that sent it, whose own checks
// then judge it exactly as on a private socket; a datagram no query can claim is reported to all of them.
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

// What a shared socket tells the query it carries.
export interface UdpWaiter {
  // A datagram from the server carrying this query's id (or too short to carry any id).
  message(bytes: Buffer): void;
  // A datagram that is not this query's answer, and why (a timeout reason says how many were ignored).
  ignored(why: string): void;
  // Final: the socket failed (bind, connect, an ICMP error such as port unreachable) or this query's send did.
  failed(reason: string): void;
}

// One query's place on a socket: its id, its send, and its release when the query is over (whatever the outcome).
export interface UdpLease {
  readonly id: number;
  send(payload: Buffer): void;
  release(): void;
}

// A socket retires after this many queries or this age, so no source port lives long: a forged answer must guess the
// port as well as the id, as with a socket per query. Its ids are then never reused, so a late answer is recognised.
export const MAX_QUERIES_PER_SOCKET = 4096;
export const MAX_SOCKET_AGE_MS = 30_000;
// An idle socket closes after this long; services probed every few seconds or faster keep theirs.
export const IDLE_CLOSE_MS = 2_000;

const pool = new Map<string, SharedSocket>();

// Takes a fresh id on the shared socket for `target` and routes that id's datagrams to `waiter` until released.
export function udpLease(target: UdpTarget, key: string, waiter: UdpWaiter): UdpLease {
  let socket = pool.get(key);
  if (!socket || !socket.accepts()) {
    socket?.retire();
    socket = new SharedSocket(target, key);
    pool.set(key, socket);
  }
  return socket.lease(waiter);
}

// The pool key of a target; probes compute it once per configuration.
export function udpKey(target: UdpTarget): string {
  return `${target.server}|${target.port}|${target.source ?? ''}`;
}

// Sockets currently open (tests, and a leak check).
export function openUdpSockets(): number {
  return pool.size + retiring.size;
}

// Queries currently waiting on shared sockets (tests: a finished or cancelled query must not stay registered).
export function pendingUdpQueries(): number {
  let total = 0;
  for (const socket of [...pool.values(), ...retiring]) total += socket.pending;
  return total;
}

const retiring = new Set<SharedSocket>();

const RANDOM_IDS = new Uint16Array(1024);
let randomAt = RANDOM_IDS.length;

function randomId(): number {
  if (randomAt >= RANDOM_IDS.length) {
    randomFillSync(RANDOM_IDS);
    randomAt = 0;
  }
  return RANDOM_IDS[randomAt++]!;
}

class SharedSocket {
  private readonly where: string;
  private readonly address: string;
  private readonly socket: dgram.Socket;
  private readonly waiters = new Map<number, UdpWaiter>();
  // Sends made before the connect finished, in order.
  private queued: { id: number; payload: Buffer }[] | undefined = [];
  private readonly used = new Uint8Array(65536 / 8);
  private queries = 0;
  private readonly born = Date.now();
  private lastUsed = this.born;
  private closed = false;
  private retired = false;
  private readonly idleTimer: NodeJS.Timeout;

  constructor(
    private readonly target: UdpTarget,
    private readonly key: string,
  ) {
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

  get pending(): number {
    return this.waiters.size;
  }

  // False once full, old or failed: the next query opens a new socket.
  accepts(): boolean {
    return !this.closed && !this.retired && this.queries < MAX_QUERIES_PER_SOCKET && Date.now() - this.born < MAX_SOCKET_AGE_MS;
  }

  lease(waiter: UdpWaiter): UdpLease {
    const id = this.freshId();
    this.queries += 1;
    this.waiters.set(id, waiter);
    this.lastUsed = Date.now();
    return {
      id,
      send: (payload) => this.send(id, payload),
      release: () => this.release(id),
    };
  }

  // Leaves the pool; closes once its last query is over.
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (pool.get(this.key) === this) pool.delete(this.key);
    if (this.waiters.size === 0) this.close();
    else retiring.add(this);
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

  private send(id: number, payload: Buffer): void {
    if (this.closed || !this.waiters.has(id)) return;
    if (this.queued) {
      this.queued.push({ id, payload });
      return;
    }
    this.socket.send(payload, (error) => {
      if (error) this.waiters.get(id)?.failed(`${this.where}: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
    });
  }

  private connected(): void {
    const queued = this.queued ?? [];
    this.queued = undefined;
    for (const { id, payload } of queued) this.send(id, payload);
  }

  private release(id: number): void {
    if (!this.waiters.delete(id)) return;
    this.lastUsed = Date.now();
    if (this.waiters.size > 0) return;
    if (this.retired) this.close();
    else if (!this.accepts()) this.retire();
  }

  private receive(message: Buffer, remote: dgram.RemoteInfo): void {
    // The kernel filters a connected socket's senders; this check is for the odd stack that does not.
    if (remote.port !== this.target.port || (remote.address !== this.target.server && canonical(remote.address) !== this.address)) {
      return this.tellAll('from an unexpected source');
    }
    if (message.length < 2) {
      // Too short to carry an id: every query's own checks say it is malformed.
      for (const waiter of [...this.waiters.values()]) waiter.message(message);
      return;
    }
    const id = message.readUInt16BE(0);
    const waiter = this.waiters.get(id);
    if (waiter) return waiter.message(message);
    this.tellAll(this.wasUsed(id) ? 'to an earlier query' : 'with wrong id');
  }

  private tellAll(why: string): void {
    for (const waiter of this.waiters.values()) waiter.ignored(why);
  }

  private fail(reason: string): void {
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    this.close();
    for (const waiter of waiters) waiter.failed(reason);
  }

  private checkIdle(): void {
    if (this.closed) return;
    const idleFor = Date.now() - this.lastUsed;
    if (this.waiters.size === 0 && idleFor >= IDLE_CLOSE_MS) this.close();
    else this.idleTimer.refresh();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retired = true;
    clearTimeout(this.idleTimer);
    if (pool.get(this.key) === this) pool.delete(this.key);
    retiring.delete(this);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

// Configuration writes to one FRR daemon over its vty socket (DIR/bgpd.vty), kept open: the protocol vtysh itself
// speaks to each daemon. A command is its text and a NUL; the daemon answers with the output, three NULs and the
// command's status byte (0 = CMD_SUCCESS). A new connection starts in view mode: `enable` first.
// Why: a vtysh process costs 70-100 ms before bgpd sees the first line (measured on FRR 8.4.4, 2 busy cores); a command
// on an open socket takes 0.2-0.4 ms, which takes `announce: bgp` from ~255 ms to a few ms between decision and bgpd.
// When the socket cannot be connected (not there, refused, not permitted: FRR elsewhere behind a vtysh wrapper, or the
// daemon down) the write goes through vtysh as before, which then says why in its own words.
import net from 'node:net';
import path from 'node:path';
import { ErrorCodes } from '../errors.js';
import { DEFAULT_VTY_SOCKET_DIR } from '../config/defaults.js';
import { VtyshError } from './vtysh-errors.js';
import type { Vtysh } from './vtysh.js';

export interface DaemonVtyOptions {
  daemon: string; // 'bgpd'
  // FRR's --vty_socket directory; default /var/run/frr.
  vtySocket?: string;
  timeoutMs: number;
  // Where writes go when the socket cannot be connected.
  fallback: Pick<Vtysh, 'configure'>;
}

export interface DaemonVty extends Pick<Vtysh, 'configure'> {
  close(): void;
}

// One answer: the output text and the status byte.
export interface Answer {
  status: number;
  text: string;
}

const END_MARK = Buffer.from([0, 0, 0]);

// Pure: the first complete answer in the buffer, and what follows it.
export function takeAnswer(buffer: Buffer): { answer: Answer; rest: Buffer } | undefined {
  const end = buffer.indexOf(END_MARK);
  if (end < 0 || buffer.length < end + 4) return undefined;
  return { answer: { status: buffer[end + 3]!, text: buffer.subarray(0, end).toString('utf8') }, rest: buffer.subarray(end + 4) };
}

export class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined;
  closed = false;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      const taken = takeAnswer(this.buffer);
      if (!taken || !this.pending) return;
      this.buffer = taken.rest;
      const { resolve } = this.pending;
      this.pending = undefined;
      resolve(taken.answer);
    });
    const end = (error?: Error) => {
      this.closed = true;
      this.pending?.reject(error ?? new Error('the daemon closed its vty socket'));
      this.pending = undefined;
    };
    socket.on('error', end);
    socket.on('close', () => end());
  }

  // One command at a time (the caller serializes).
  command(text: string, timeoutMs: number): Promise<Answer> {
    if (this.closed) return Promise.reject(new Error('the daemon closed its vty socket'));
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.destroy();
        reject(new TimeoutError());
      }, timeoutMs);
      this.pending = {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.socket.write(`${text}\0`);
    });
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export class TimeoutError extends Error {}

// The connected socket, or why not (the errno error; ETIMEDOUT after timeoutMs).
export function connectOrError(socketPath: string, timeoutMs: number): Promise<net.Socket | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Object.assign(new Error(`no connection to ${socketPath} within ${timeoutMs}ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error);
    });
  });
}

export async function connect(socketPath: string, timeoutMs: number): Promise<net.Socket | undefined> {
  const connected = await connectOrError(socketPath, timeoutMs);
  return connected instanceof net.Socket ? connected : undefined;
}

// A fresh connection in enable mode (a new one starts in view mode: no `configure terminal`, no `show
// running-config`); undefined, and the socket closed, when the daemon refuses.
export async function enabledConnection(socket: net.Socket, timeoutMs: number): Promise<Connection | undefined> {
  socket.unref();
  const fresh = new Connection(socket);
  const enabled = await fresh.command('enable', timeoutMs).catch(() => undefined);
  if (enabled?.status === 0) return fresh;
  fresh.destroy();
  return undefined;
}

// What a failed command on an open connection means: no answer in time, or the daemon gone.
export function socketFailure(daemon: string, timeoutMs: number, commands: readonly string[], error: unknown): VtyshError {
  if (error instanceof TimeoutError)
    return new VtyshError(ErrorCodes.VTYSH_TIMEOUT, `${daemon} vty: no answer within ${timeoutMs}ms (${daemon} stopped, hung or overloaded)`, { commands });
  const frrMessage = error instanceof Error ? error.message : String(error);
  return new VtyshError(ErrorCodes.VTYSH_DAEMON_DOWN, `${daemon} vty: ${daemon} is not running (${frrMessage})`, { commands, daemon, frrMessage });
}

export function createDaemonVty(options: DaemonVtyOptions): DaemonVty {
  const socketPath = path.join(options.vtySocket ?? DEFAULT_VTY_SOCKET_DIR, `${options.daemon}.vty`);
  let connection: Connection | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  async function open(): Promise<Connection | undefined> {
    if (connection && !connection.closed) return connection;
    return reopen();
  }

  async function reopen(): Promise<Connection | undefined> {
    connection = undefined;
    const socket = await connect(socketPath, options.timeoutMs);
    connection = socket && (await enabledConnection(socket, options.timeoutMs));
    return connection;
  }

  // `configure terminal`, the lines in order up to the first one the daemon refuses, then `end`, as vtysh does.
  async function write(lines: readonly string[]): Promise<string> {
    const reused = connection !== undefined && !connection.closed;
    let open_ = await open();
    if (!open_) return options.fallback.configure(lines);
    const commands = ['configure terminal', ...lines];
    // A kept connection the daemon closed (it restarted) may not have been seen closed yet: if `configure terminal`
    // fails on it, nothing was applied, so one fresh connection is tried before calling the daemon down.
    if (reused) {
      const entered = await open_.command('configure terminal', options.timeoutMs).then(
        (answer) => answer,
        (error: unknown) => error,
      );
      if (entered instanceof TimeoutError) return finish(open_, commands, entered);
      if (entered instanceof Error) {
        open_.destroy();
        open_ = await reopen();
        if (!open_) return options.fallback.configure(lines);
      } else return finish(open_, commands, entered as Answer);
    }
    return finish(open_, commands, undefined);
  }

  // `entered`: the answer to `configure terminal` already read, or the timeout it ended in.
  async function finish(open_: Connection, commands: readonly string[], entered: Answer | TimeoutError | undefined): Promise<string> {
    const notes: string[] = [];
    try {
      if (entered instanceof TimeoutError) throw entered;
      for (const [index, line] of commands.entries()) {
        const answer = index === 0 && entered !== undefined ? entered : await open_.command(line, options.timeoutMs);
        if (answer.text.trim()) notes.push(answer.text.trim());
        if (answer.status !== 0) {
          await open_.command('end', options.timeoutMs);
          const frrMessage = answer.text.trim() || `status ${answer.status}, no message`;
          throw new VtyshError(ErrorCodes.VTYSH_REJECTED, `${options.daemon} vty: \`${line}\`: FRR rejected it: ${frrMessage}`, { commands, frrMessage });
        }
      }
      await open_.command('end', options.timeoutMs);
      return notes.join('\n');
    } catch (error) {
      if (error instanceof VtyshError) throw error;
      open_.destroy();
      // The daemon went away mid-batch: the lines before may have been applied; it is down now.
      throw socketFailure(options.daemon, options.timeoutMs, commands, error);
    }
  }

  return {
    configure(lines) {
      if (lines.length === 0) return Promise.resolve('');
      const next = queue.then(() => write(lines));
      queue = next.catch(() => undefined);
      return next;
    },
    close() {
      connection?.destroy();
      connection = undefined;
    },
  };
}

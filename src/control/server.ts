// The control socket: a Unix socket (mode 0600) speaking line-delimited JSON. Bounded per client in size, time and
// buffered output, so a silent, slow, flooding or malformed client is dropped and never holds the agent up.
import net from 'node:net';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { ErrorCodes, HealthcastError, isHealthcastError, messageOf } from '../errors.js';
import { encode, expired, MAX_REQUEST_BYTES, parseRequest, type ControlRequest, type ControlResponse } from './protocol.js';

export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

export interface ControlServerOptions {
  path: string;
  handler: ControlHandler;
  log: Logger;
  maxRequestBytes?: number;
  // A connection with no request in progress is closed after this long.
  idleTimeoutMs?: number;
  // A request line must be complete this long after its first byte (slow senders).
  requestTimeoutMs?: number;
  maxConnections?: number;
  // Output a client does not read beyond this closes the connection.
  maxPendingOutputBytes?: number;
  // Epoch ms, to compare with a request's deadline.
  now?: () => number;
}

export class ControlServer {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly log: Logger;

  constructor(private readonly options: ControlServerOptions) {
    this.log = options.log.child({ component: 'control' });
  }

  get path(): string {
    return this.options.path;
  }

  // Refuses to take over a socket another live agent answers on; a stale one (crash) is replaced.
  async listen(): Promise<void> {
    const file = this.options.path;
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
    await removeStaleSocket(file);
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections ?? 32;
    // Bound in a private directory (0700), made 0600, then renamed into place: no moment in which another user could
    // connect, without changing the process-wide umask across an await.
    const privateDir = await fs.mkdtemp(path.join(path.dirname(file), '.control-'));
    const bound = path.join(privateDir, 'socket');
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(bound, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await fs.chmod(bound, 0o600);
      await fs.rename(bound, file);
    } catch (error) {
      server.close();
      throw error;
    } finally {
      await fs.rm(privateDir, { recursive: true, force: true });
    }
    server.on('error', (error) => this.log.error({ err: messageOf(error) }, 'control socket error'));
    this.server = server;
    this.log.info({ path: file }, 'control socket listening');
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fs.rm(this.options.path, { force: true }).catch(() => undefined);
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    const maxBytes = this.options.maxRequestBytes ?? MAX_REQUEST_BYTES;
    const maxOutput = this.options.maxPendingOutputBytes ?? 1024 * 1024;
    const idleMs = this.options.idleTimeoutMs ?? 5000;
    const requestMs = this.options.requestTimeoutMs ?? 10_000;
    let buffer: Buffer = Buffer.alloc(0);
    let busy = false;
    let closed = false;
    // The client closed its side: our clients keep the connection open until they have their answer, so one that
    // ended it has gone (gave up, was killed) and its request must not take effect.
    let ended = false;
    let requestTimer: NodeJS.Timeout | undefined;
    const lines: string[] = [];

    const drop = (why: string) => {
      if (closed) return;
      closed = true;
      clearTimeout(requestTimer);
      this.log.debug({ why }, 'control client dropped');
      socket.destroy();
    };
    const send = (response: ControlResponse) => {
      if (closed) return;
      socket.write(encode(response));
      if (socket.writableLength > maxOutput) drop('does not read its replies');
    };
    const fail = (code: string, message: string, close: boolean) => {
      send({ ok: false, error: { code, message } });
      if (close && !closed) {
        closed = true;
        clearTimeout(requestTimer);
        socket.end();
        socket.destroySoon();
      }
    };
    const next = async () => {
      if (busy || closed) return;
      const line = lines.shift();
      if (line === undefined) {
        socket.setTimeout(idleMs);
        return;
      }
      busy = true;
      socket.setTimeout(0); // the client waits for the answer: a long drain is not idleness
      const parsed = parseRequest(line);
      if ('error' in parsed) send({ ok: false, error: parsed.error });
      else {
        // Two turns of the event loop first: an end that came with the request (the agent was stopped while the
        // client gave up) is read by the poll phase after the one that read the request, and must be seen before
        // anything is done.
        for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
        const abandoned = this.abandoned(parsed.request, ended || closed);
        if (abandoned) send({ ok: false, error: { code: ErrorCodes.CONTROL_TIMEOUT, message: abandoned } });
        else send(await this.handle(parsed.request));
      }
      busy = false;
      void next();
    };

    socket.setTimeout(idleMs);
    socket.on('timeout', () => drop('idle'));
    socket.on('error', () => drop('socket error'));
    socket.on('end', () => {
      ended = true;
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(requestTimer);
      this.sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      let newline: number;
      while ((newline = buffer.indexOf(0x0a)) !== -1) {
        if (newline > maxBytes) return fail(ErrorCodes.CONTROL_PROTOCOL, `request larger than ${maxBytes} bytes`, true);
        const line = buffer.subarray(0, newline).toString('utf8').trim();
        buffer = buffer.subarray(newline + 1);
        clearTimeout(requestTimer);
        requestTimer = undefined;
        if (line !== '') lines.push(line);
        if (lines.length > 16) return fail(ErrorCodes.CONTROL_PROTOCOL, 'too many requests queued on one connection', true);
      }
      if (buffer.length > maxBytes) return fail(ErrorCodes.CONTROL_PROTOCOL, `request larger than ${maxBytes} bytes`, true);
      if (buffer.length > 0 && requestTimer === undefined) {
        requestTimer = setTimeout(() => fail(ErrorCodes.CONTROL_TIMEOUT, `request not complete within ${requestMs} ms`, true), requestMs);
      }
      void next();
    });
  }

  // Why a request is not acted on: its client stopped waiting (deadline passed) or went away. Read-only requests are
  // answered anyway; a drain, resume or check-now is not, and the log says so loudly.
  private abandoned(request: ControlRequest, gone: boolean): string | undefined {
    if (request.command === 'ping' || request.command === 'status') return undefined;
    const now = (this.options.now ?? Date.now)();
    const why = expired(request, now)
      ? `its deadline passed ${now - (request as { deadline: number }).deadline} ms ago`
      : gone
        ? 'its client closed the connection first'
        : undefined;
    if (why === undefined) return undefined;
    this.log.warn(
      { command: request.command, ...('services' in request ? { services: request.services } : {}), ...('by' in request ? { by: request.by } : {}) },
      `control: ${request.command} request not applied: ${why} (the client has given up)`,
    );
    return `${request.command} not applied: ${why}`;
  }

  private async handle(request: ControlRequest): Promise<ControlResponse> {
    try {
      return { ok: true, result: await this.options.handler(request) };
    } catch (error) {
      if (!isHealthcastError(error)) this.log.error({ err: messageOf(error), command: request.command }, 'control request failed');
      return { ok: false, error: { code: isHealthcastError(error) ? error.code : 'HC_ERR_INTERNAL', message: messageOf(error) } };
    }
  }
}

// A socket file nobody answers on is left over from a crash; a live one belongs to another agent.
async function removeStaleSocket(file: string): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isSocket()) throw new HealthcastError(ErrorCodes.CONTROL_UNREACHABLE, `${file} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new HealthcastError(ErrorCodes.CONTROL_UNREACHABLE, `another healthcast is already listening on ${file}`);
  await fs.rm(file, { force: true });
}

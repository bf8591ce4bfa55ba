// The CLI side of the control socket: one request, one response, bounded in time.
import net from 'node:net';
import { ErrorCodes, HealthcastError } from '../errors.js';
import type { ControlRequest, ControlResponse } from './protocol.js';

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

// Requests that change something carry the moment the client stops waiting: the agent acts on none it reads later.
const ACTIONS = new Set(['drain', 'resume', 'check-now']);

export interface RequestOptions {
  timeoutMs?: number;
  // Ends the exchange at once (closing the connection, which the agent also takes as "do not act on it").
  signal?: AbortSignal | undefined;
  now?: () => number;
}

// Resolves with the agent's result; rejects with a coded error (unreachable, timeout, protocol, or the agent's own),
// or with the signal's reason when aborted.
export async function controlRequest(socketPath: string, request: ControlRequest | Record<string, unknown>, options: RequestOptions = {}): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const stamped =
    ACTIONS.has(String(request.command)) && !('deadline' in request) ? { ...request, deadline: (options.now ?? Date.now)() + timeoutMs } : request;
  const response = await exchange(socketPath, stamped, timeoutMs, options.signal);
  if (response.ok) return response.result;
  const code = Object.values(ErrorCodes).find((known) => known === response.error.code) ?? ErrorCodes.CONTROL_PROTOCOL;
  throw new HealthcastError(code, response.error.message);
}

function exchange(socketPath: string, request: unknown, timeoutMs: number, signal: AbortSignal | undefined): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const socket = net.connect(socketPath);
    const onAbort = () => finish(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HealthcastError(ErrorCodes.CONTROL_TIMEOUT, `no answer from the agent on ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error: Error | undefined, response?: ControlResponse) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(response!);
    };
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_RESPONSE_BYTES) return finish(new HealthcastError(ErrorCodes.CONTROL_PROTOCOL, 'response too large'));
      const newline = buffer.indexOf('\n');
      if (newline === -1) return;
      try {
        finish(undefined, JSON.parse(buffer.slice(0, newline)) as ControlResponse);
      } catch {
        finish(new HealthcastError(ErrorCodes.CONTROL_PROTOCOL, 'the agent sent a response that is not JSON'));
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => finish(unreachable(socketPath, error)));
    socket.once('close', () => finish(new HealthcastError(ErrorCodes.CONTROL_PROTOCOL, 'the agent closed the connection without answering')));
  });
}

function unreachable(socketPath: string, error: NodeJS.ErrnoException): HealthcastError {
  const hint =
    error.code === 'EACCES' || error.code === 'EPERM'
      ? 'permission denied: run as root or as the user healthcast runs as'
      : error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
        ? 'is healthcast running? (`control_socket` in the config names the socket)'
        : error.message;
  return new HealthcastError(ErrorCodes.CONTROL_UNREACHABLE, `cannot reach the agent on ${socketPath}: ${error.code ?? 'error'}: ${hint}`, { cause: error });
}

// A control request that knows about a stopped agent: refused at once when the agent is stopped (state T), and ended
// as soon as it becomes stopped while the request waits, instead of waiting out the timeout. With waitForResume the
// request waits for `kill -CONT` instead (bounded only by `signal`).
import { controlRequest } from '../control/client.js';
import { AgentStoppedError, stoppedAgent } from '../control/agent-process.js';

// How often a waiting CLI looks at the agent's process state: well inside the "few hundred ms" an operator accepts.
export const STOPPED_POLL_MS = 100;

export interface AgentRequestOptions {
  timeoutMs: number;
  waitForResume?: boolean;
  // Aborts the request (and any wait) at once, e.g. on the wrapper's SIGTERM.
  signal?: AbortSignal;
  // Called once when the agent is found stopped and we wait for it.
  onWaiting?: (pid: number) => void;
  stopped?: (socket: string) => number | undefined;
}

export async function agentRequest(socket: string, request: Record<string, unknown>, options: AgentRequestOptions): Promise<unknown> {
  const stopped = options.stopped ?? stoppedAgent;
  const pid = stopped(socket);
  if (pid !== undefined) {
    if (!options.waitForResume) throw new AgentStoppedError(pid);
    options.onWaiting?.(pid);
    await untilRunning(socket, stopped, options.signal);
  }
  const cancel = new AbortController();
  const onAbort = () => cancel.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const watch = setInterval(() => {
    const now = stopped(socket);
    if (now !== undefined && !options.waitForResume) cancel.abort(new AgentStoppedError(now));
  }, STOPPED_POLL_MS);
  try {
    return await controlRequest(socket, request, { timeoutMs: options.timeoutMs, signal: cancel.signal });
  } finally {
    clearInterval(watch);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function untilRunning(socket: string, stopped: (socket: string) => number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setInterval(() => {
      if (stopped(socket) !== undefined) return;
      done();
      resolve();
    }, STOPPED_POLL_MS);
    const onAbort = () => {
      done();
      reject(signal!.reason as Error);
    };
    const done = () => {
      clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

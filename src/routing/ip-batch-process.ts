// One long-lived `ip -j -force -batch -` per backend: a request is written to its stdin and takes effect as soon as ip
// reads it, instead of after a fork and exec of a new ip (3-5 ms each on a small VM, on the path from a health
// decision to the kernel). ip flushes each command's JSON, prints "Command failed -:N" on stderr for a failed line N
// and, with -force, carries on. Each request ends with a sentinel line that always fails (no interface name contains
// a '/'), so its "Command failed" marks the end of the request on the same stream as the errors before it.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { systemClock, type Clock, type Timer } from '../clock.js';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';

// `address show`, not `link show`: iproute2 keeps `link show`'s filter, and the next `address show` prints no addresses.
const SENTINEL = 'address show dev hc/end';

// iproute2 6.1 never frees the buffer it reads each netlink ACK into: every `add`/`replace`/`change` line leaves one
// touched 4 KiB page (32 KiB of heap) behind, 4 MB per renewal of 1,000 addresses. So ip is replaced by a fresh one,
// between requests, once it has read this many lines: at most ~40 MB, one spawn (~5 ms) per 10,000 lines.
export const RECYCLE_AFTER_LINES = 10_000;

export interface IpBatchOptions {
  ip: string;
  namespace?: string;
  timeoutMs: number;
  // Lines after which ip is replaced before the next request; default RECYCLE_AFTER_LINES.
  recycleAfterLines?: number;
  // For the per-request timeout; default systemClock.
  clock?: Clock;
}

export interface BatchFailure {
  // 0-based index into the request's lines.
  index: number;
  reason: string;
}

export interface BatchResult {
  // One JSON document per line of output, in order (only `show` commands print).
  documents: string[];
  failures: BatchFailure[];
}

interface Pending {
  first: number; // ip's line number of the request's first line
  sentinel: number;
  expectDocuments: number;
  sentinelSeen: boolean;
  documents: string[];
  failures: BatchFailure[];
  resolve: (result: BatchResult) => void;
  reject: (error: Error) => void;
  timer: Timer;
}

type IpChild = ChildProcessByStdio<Writable, Readable, Readable>;

export class IpBatchProcess {
  private child: IpChild | undefined;
  private linesSent = 0;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stdoutRest = '';
  private stderrRest = '';
  private errorLines: string[] = [];

  private readonly clock: Clock;

  constructor(private readonly options: IpBatchOptions) {
    this.clock = options.clock ?? systemClock;
  }

  // Requests run one at a time, in call order. A request without failures resolves once `expectDocuments` JSON lines
  // arrived (stdout and stderr are separate pipes: the sentinel's error may be read before the last output).
  run(lines: readonly string[], expectDocuments = 0): Promise<BatchResult> {
    const next = this.queue.then(() => this.send(lines, expectDocuments));
    this.queue = next.catch(() => undefined);
    return next;
  }

  // Ends ip by closing its stdin (it also ends by itself when healthcast exits and the pipe closes); a later request
  // starts a new one.
  close(): void {
    this.stop();
  }

  private send(lines: readonly string[], expectDocuments: number): Promise<BatchResult> {
    const bad = lines.find((line) => line.includes('\n'));
    if (bad !== undefined) return Promise.reject(new HealthcastError(ErrorCodes.USAGE, `an ip batch line contains a newline: ${JSON.stringify(bad)}`));
    // Nothing is in flight here (requests run one at a time), so the old ip can go at once.
    if (this.child && this.linesSent >= (this.options.recycleAfterLines ?? RECYCLE_AFTER_LINES)) this.stop();
    let child: IpChild;
    try {
      child = this.child ?? this.start();
    } catch (error) {
      return Promise.reject(new HealthcastError(ErrorCodes.BACKEND_COMMAND, `cannot run ${this.options.ip}: ${messageOf(error)}`, { cause: error }));
    }
    return new Promise<BatchResult>((resolve, reject) => {
      const first = this.linesSent + 1;
      const sentinel = first + lines.length;
      this.linesSent = sentinel;
      const timer = this.clock.setTimeout(
        () =>
          this.fail(new HealthcastError(ErrorCodes.BACKEND_COMMAND, `ip did not finish a batch of ${lines.length} lines within ${this.options.timeoutMs}ms`)),
        this.options.timeoutMs,
      );
      this.pending = { first, sentinel, expectDocuments, sentinelSeen: false, documents: [], failures: [], resolve, reject, timer };
      child.stdin.write([...lines, SENTINEL].join('\n') + '\n');
    });
  }

  private start(): IpChild {
    const prefix = this.options.namespace === undefined ? [] : ['-n', this.options.namespace];
    // detached: a Ctrl-C meant for healthcast must not kill the ip it needs to withdraw.
    const child = spawn(this.options.ip, [...prefix, '-j', '-force', '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child = child;
    this.linesSent = 0;
    this.stdoutRest = '';
    this.stderrRest = '';
    this.errorLines = [];
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr.on('data', (chunk: string) => this.onStderr(chunk));
    child.stdin.on('error', () => undefined); // EPIPE after ip died: reported by the exit handler
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const detail = this.errorLines.concat(this.stderrRest.trim()).filter(Boolean).slice(-5).join('; ');
      this.fail(new HealthcastError(ErrorCodes.BACKEND_COMMAND, `${this.options.ip} ${why}${detail ? `: ${detail}` : ''}`));
    };
    child.on('error', (error) => gone(`failed: ${messageOf(error)}`));
    child.on('exit', (code, signal) => gone(signal ? `was killed by ${signal}` : `exited with status ${code}`));
    // Neither the child nor its pipes keep healthcast alive; a request in flight does, through its timer.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
    return child;
  }

  private onStdout(chunk: string): void {
    const text = this.stdoutRest + chunk;
    const lines = text.split('\n');
    this.stdoutRest = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') this.pending?.documents.push(line);
    if (this.pending?.sentinelSeen) this.settle(this.pending);
  }

  private onStderr(chunk: string): void {
    const text = this.stderrRest + chunk;
    const lines = text.split('\n');
    this.stderrRest = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim();
      const match = /^Command failed -:(\d+)$/.exec(line);
      if (!match) {
        if (line !== '') this.errorLines.push(line);
        continue;
      }
      const number = Number(match[1]);
      const reason = this.errorLines.join('; ') || 'ip reported a failure';
      this.errorLines = [];
      const pending = this.pending;
      if (!pending || number < pending.first) continue; // a late line of a request that already timed out
      if (number < pending.sentinel) pending.failures.push({ index: number - pending.first, reason });
      else {
        pending.sentinelSeen = true;
        this.settle(pending);
      }
    }
  }

  // After a failure the expected output may never come: give stdout one more turn, then answer with what arrived.
  private settle(pending: Pending): void {
    const resolve = () => {
      if (this.pending !== pending) return;
      this.pending = undefined;
      this.clock.clearTimeout(pending.timer);
      pending.resolve({ documents: pending.documents, failures: pending.failures });
    };
    if (pending.documents.length >= pending.expectDocuments) resolve();
    else if (pending.failures.length > 0) setImmediate(resolve);
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      this.clock.clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.stop();
  }

  private stop(): void {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    // Whatever the old ip still prints belongs to no request, and must not mix into the next ip's line counts.
    child.stdout.removeAllListeners('data');
    child.stderr.removeAllListeners('data');
    child.stdin.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

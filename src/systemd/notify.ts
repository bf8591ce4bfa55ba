// sd_notify for Type=notify: READY, STATUS, STOPPING and the watchdog. Node cannot send a Unix datagram, so a long-lived
// helper (perl, from perl-base, which Debian marks Essential) does it: the agent writes one message per line to its stdin.
// The helper is a child of the agent, so it sits in the service's cgroup and stays alive while sending: systemd
// attributes every message to the unit (NotifyAccess=all), without the race of a short-lived `systemd-notify` that may
// exit before systemd reads its message. If the event loop hangs, no WATCHDOG=1 is written and systemd restarts us.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.js';
import type { ServiceStatus } from '../core/agent.js';

export interface NotifyEnv {
  socket: string;
  watchdogMs: number | undefined; // ping interval: half of WATCHDOG_USEC
  watchdogUsec?: number | undefined; // WATCHDOG_USEC itself, to restore it after a pause
}

// Pure: what the environment asks for; undefined when not started by systemd with NOTIFY_SOCKET.
export function notifyEnv(env: NodeJS.ProcessEnv, pid: number): NotifyEnv | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (!socket || (!socket.startsWith('/') && !socket.startsWith('@'))) return undefined;
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === '' || Number(env.WATCHDOG_PID) === pid;
  const watchdogMs = Number.isFinite(usec) && usec > 0 && forUs ? Math.max(1, Math.floor(usec / 1000 / 2)) : undefined;
  return watchdogMs === undefined ? { socket, watchdogMs } : { socket, watchdogMs, watchdogUsec: usec };
}

// STATUS= text: "3/4 services announced; drained: web; down: dns".
export function statusText(mode: string, services: readonly ServiceStatus[]): string {
  if (mode !== 'running') return `${mode}: nothing announced`;
  const announced = services.filter((service) => service.announced).length;
  const drained = services.filter((service) => service.state === 'drained').map((service) => service.name);
  const down = services.filter((service) => service.state === 'down').map((service) => service.name);
  const parts = [`${announced}/${services.length} services announced`];
  if (drained.length > 0) parts.push(`drained: ${drained.join(', ')}`);
  if (down.length > 0) parts.push(`down: ${down.join(', ')}`);
  return parts.join('; ');
}

// One datagram as one line: fields joined by \x1f (the helper turns it into \n); control characters are dropped.
export function encodeMessage(fields: Readonly<Record<string, string>>): string {
  const clean = (value: string) =>
    [...value]
      .map((char) => (char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f ? ' ' : char))
      .join('')
      .slice(0, 1000);
  return `${Object.entries(fields)
    .map(([key, value]) => `${key}=${clean(value)}`)
    .join('\x1f')}\n`;
}

export const HELPER_SCRIPT = [
  'use strict; use Socket;',
  'my $path = $ENV{NOTIFY_SOCKET}; $path =~ s/^\\@/\\0/;',
  'socket(my $s, AF_UNIX, SOCK_DGRAM, 0) or die "healthcast-notify: socket: $!\\n";',
  'my $addr = pack_sockaddr_un($path); $| = 1;',
  'while (my $line = <STDIN>) { chomp $line; $line =~ tr/\\x1f/\\n/; defined(send($s, $line, 0, $addr)) or print STDERR "healthcast-notify: send: $!\\n"; }',
].join(' ');

export class SystemdNotifier {
  private helper: ChildProcess | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastStatus: string | undefined;
  private readonly log: Logger;

  constructor(
    private readonly env: NotifyEnv,
    log: Logger,
    private readonly perl = 'perl',
  ) {
    this.log = log.child({ component: 'systemd' });
  }

  start(): void {
    const helper = spawn(this.perl, ['-e', HELPER_SCRIPT], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { NOTIFY_SOCKET: this.env.socket, PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    helper.stderr?.setEncoding('utf8');
    helper.stderr?.on('data', (text: string) => this.log.warn({ helper: text.trim() }, 'sd_notify helper reported an error'));
    helper.stdin?.on('error', () => undefined);
    helper.once('error', (error) =>
      this.log.error({ err: error.message, perl: this.perl }, 'cannot start the sd_notify helper; systemd will not see READY or the watchdog'),
    );
    helper.once('exit', (code, signal) => {
      if (this.helper === helper) this.log.error({ code, signal }, 'the sd_notify helper exited');
      this.helper = undefined;
    });
    this.helper = helper;
    if (this.env.watchdogMs !== undefined) {
      this.watchdog = setInterval(() => this.send({ WATCHDOG: '1' }), this.env.watchdogMs);
      this.watchdog.unref();
      this.log.info({ interval_ms: this.env.watchdogMs }, 'systemd watchdog pings on');
    }
  }

  ready(status: string): void {
    this.lastStatus = status;
    this.send({ READY: '1', STATUS: status });
  }

  status(status: string): void {
    if (status === this.lastStatus) return;
    this.lastStatus = status;
    this.send({ STATUS: status });
  }

  // SIGTSTP stops the process after withdrawing: without this systemd's watchdog would kill and restart it, and the
  // restarted agent would announce again. WATCHDOG_USEC=0 turns the watchdog off until resumed() restores it.
  paused(): void {
    const fields: Record<string, string> = { STATUS: 'paused (SIGTSTP): everything withdrawn; SIGCONT resumes' };
    if (this.env.watchdogUsec !== undefined) fields.WATCHDOG_USEC = '0';
    this.lastStatus = undefined;
    this.send(fields);
  }

  resumed(): void {
    if (this.env.watchdogUsec !== undefined) this.send({ WATCHDOG_USEC: String(this.env.watchdogUsec), WATCHDOG: '1' });
  }

  reloading(): void {
    this.send({ STATUS: 'reloading the configuration' });
    this.lastStatus = undefined;
  }

  stopping(): void {
    this.send({ STOPPING: '1', STATUS: 'withdrawing everything and stopping' });
  }

  // Lets queued messages go out, then ends the helper.
  async close(): Promise<void> {
    clearInterval(this.watchdog);
    const helper = this.helper;
    this.helper = undefined;
    if (!helper || helper.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => helper.once('exit', () => resolve()));
    helper.stdin?.end();
    const timer = setTimeout(() => helper.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private send(fields: Record<string, string>): void {
    this.helper?.stdin?.write(encodeMessage(fields));
  }
}

// syslog: send a line with a one-time token to a syslog relay and wait for the relay to deliver it back to our own listener.
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { z } from 'zod';
import { defineProbe, formatHostPort, ipAddress, isTimeout, port, type ProbeContext, type ProbeOutcome } from './kit/index.js';

// RFC 5424 section 6.2.1 numbering; 13-15 have no agreed names and are left out.
export const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp'] as const;
const LOCAL = ['local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const;
export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

type Facility = (typeof FACILITIES)[number] | (typeof LOCAL)[number];
type Severity = (typeof SEVERITIES)[number];

const transport = z.enum(['udp', 'tcp']);

const options = z
  .strictObject({
    server: ipAddress,
    port: port.default(514),
    transport: transport.default('udp'),
    // TCP only: LF-terminated lines (syslog-ng network(), rsyslog imtcp) or RFC 6587 octet counting (syslog-ng syslog()).
    framing: z.enum(['lf', 'octet']).optional(),
    format: z.enum(['rfc3164', 'rfc5424']).default('rfc3164'),
    facility: z.enum([...FACILITIES, ...LOCAL]).default('user'),
    severity: z.enum(SEVERITIES).default('notice'),
    // The RFC 3164 TAG / RFC 5424 APP-NAME.
    app_name: z
      .string()
      .regex(/^[A-Za-z0-9._/-]{1,32}$/, 'must be 1-32 letters, digits, ".", "_", "/" or "-"')
      .default('healthcast'),
    listen_address: ipAddress.default('127.0.0.1'),
    listen_port: port,
    listen_transport: transport.default('udp'),
    source: ipAddress.optional(),
  })
  .refine((o) => o.framing === undefined || o.transport === 'tcp', { message: 'framing only applies to transport tcp', path: ['framing'] })
  .refine((o) => o.source === undefined || net.isIP(o.source) === net.isIP(o.server), {
    message: 'must be the same address family as server',
    path: ['source'],
  })
  .refine((o) => !(o.listen_port === o.port && o.listen_address === o.server && o.listen_transport === o.transport), {
    message: 'the listener cannot be the server itself',
    path: ['listen_port'],
  });

export type SyslogOptions = z.output<typeof options>;

// Our own deadline fires this much before the runner's, so the specific reason wins over a bare "timed out".
const DEADLINE_MARGIN_MS = 20;

export default defineProbe({
  type: 'syslog',
  summary: 'sends a tokened syslog line to a relay; healthy when the relay delivers it to our listener',
  options,
  async run(opts, ctx): Promise<ProbeOutcome> {
    const started = performance.now();
    const token = crypto.randomBytes(8).toString('hex');
    const message = formatSyslogMessage({
      format: opts.format,
      facility: opts.facility,
      severity: opts.severity,
      appName: opts.app_name,
      hostname: os.hostname(),
      pid: process.pid,
      now: new Date(),
      text: `healthcast-probe ${ctx.service.name} ${token}`,
    });
    const payload = opts.transport === 'tcp' ? frameForTcp(message, opts.framing ?? 'lf') : Buffer.from(message);
    return roundTrip(opts, payload, token, ctx, started);
  },
});

export interface MessageInput {
  format: SyslogOptions['format'];
  facility: Facility;
  severity: Severity;
  appName: string;
  hostname: string;
  pid: number;
  now: Date;
  text: string;
}

// A header a relay parses without complaint; relays rewrite it anyway, so only the text's token is matched on return.
export function formatSyslogMessage(input: MessageInput): string {
  const pri = facilityCode(input.facility) * 8 + SEVERITIES.indexOf(input.severity);
  const host = input.hostname.replace(/[^!-~]/g, '-').slice(0, 255) || '-';
  if (input.format === 'rfc5424') return `<${pri}>1 ${input.now.toISOString()} ${host} ${input.appName} ${input.pid} - - ${input.text}`;
  const d = input.now;
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${month} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `<${pri}>${stamp} ${host.split('.')[0]} ${input.appName}[${input.pid}]: ${input.text}`;
}

// RFC 6587: TCP syslog needs framing; which one depends on the receiving source driver.
export function frameForTcp(message: string, framing: 'lf' | 'octet'): Buffer {
  const body = Buffer.from(message);
  return framing === 'lf' ? Buffer.concat([body, Buffer.from('\n')]) : Buffer.concat([Buffer.from(`${body.length} `), body]);
}

function facilityCode(facility: Facility): number {
  const local = (LOCAL as readonly string[]).indexOf(facility);
  return local >= 0 ? 16 + local : (FACILITIES as readonly string[]).indexOf(facility);
}

interface Listener {
  close(): void;
}

function roundTrip(opts: SyslogOptions, payload: Buffer, token: string, ctx: ProbeContext, started: number): Promise<ProbeOutcome> {
  const listenAt = `${formatHostPort(opts.listen_address, opts.listen_port)}/${opts.listen_transport}`;
  const target = `${formatHostPort(opts.server, opts.port)}/${opts.transport}`;
  return new Promise((resolve) => {
    let others = 0;
    let done = false;
    // Filled in as they open; finish() may run before either exists.
    const open: { listener?: Listener; sender?: Listener } = {};
    const finish = (outcome: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      open.listener?.close();
      open.sender?.close();
      resolve(outcome);
    };
    const silence = () => {
      const ignored = others === 0 ? '' : ` (ignored ${others} other message${others === 1 ? '' : 's'})`;
      return `no message with the probe token arrived on ${listenAt} within ${ctx.timeoutMs}ms after sending to ${target}${ignored}`;
    };
    const onAbort = () => finish({ ok: false, reason: isTimeout(ctx.signal.reason) ? silence() : 'cancelled' });
    const timer = setTimeout(() => finish({ ok: false, reason: silence() }), Math.max(1, ctx.timeoutMs - DEADLINE_MARGIN_MS - (performance.now() - started)));
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const seen: Seen = { token: () => finish({ ok: true }), other: () => (others += 1) };
    const listenHandlers = {
      ready: () => {
        if (!done) open.sender = (opts.transport === 'udp' ? sendUdp : sendTcp)(opts, payload, target, (reason) => finish({ ok: false, reason }));
      },
      failed: (code: string) => finish({ ok: false, reason: `cannot listen on ${formatHostPort(opts.listen_address, opts.listen_port)}: ${code}` }),
    };
    open.listener = (opts.listen_transport === 'udp' ? listenUdp : listenTcp)(opts, token, seen, listenHandlers);
  });
}

type ListenHandlers = { ready(): void; failed(code: string): void };
type Seen = { token(): void; other(): void };

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

function listenUdp(opts: SyslogOptions, token: string, seen: Seen, handlers: ListenHandlers): Listener {
  const socket = dgram.createSocket(net.isIPv6(opts.listen_address) ? 'udp6' : 'udp4');
  let bound = false;
  socket.on('error', (error) => (bound ? undefined : handlers.failed(errorCode(error))));
  socket.on('message', (data) => (data.toString('latin1').includes(token) ? seen.token() : seen.other()));
  socket.bind({ port: opts.listen_port, address: opts.listen_address, exclusive: true }, () => {
    bound = true;
    handlers.ready();
  });
  return { close: () => closeQuietly(socket) };
}

// A relay may keep one TCP connection for many messages, LF- or octet-framed: scan the stream, keeping an unfinished line.
function listenTcp(opts: SyslogOptions, token: string, seen: Seen, handlers: ListenHandlers): Listener {
  const server = net.createServer();
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      if (pending.includes(token)) return seen.token();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (let i = 0; i < lines.length; i++) seen.other();
      // Octet-counted streams have no LF: bound the memory, keeping enough to catch a token cut in two.
      if (pending.length > 65_536) pending = pending.slice(-token.length);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.once('error', (error) => handlers.failed(errorCode(error)));
  server.listen({ port: opts.listen_port, host: opts.listen_address, exclusive: true }, () => handlers.ready());
  return {
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

// Connected UDP: a relay that is down answers with ICMP port unreachable, which the kernel reports as ECONNREFUSED.
function sendUdp(opts: SyslogOptions, payload: Buffer, target: string, fail: (reason: string) => void): Listener {
  const socket = dgram.createSocket(net.isIPv6(opts.server) ? 'udp6' : 'udp4');
  let phase: 'bind' | 'send' = 'bind';
  socket.on('error', (error) => {
    const code = errorCode(error);
    if (phase === 'bind') fail(`cannot send from source ${opts.source ?? 'any'}: ${code}`);
    else if (code === 'ECONNREFUSED') fail(`${target}: ECONNREFUSED: nothing listening (ICMP port unreachable)`);
    else fail(`${target}: send failed: ${code}`);
  });
  socket.bind({ port: 0, ...(opts.source ? { address: opts.source } : {}), exclusive: true }, () => {
    phase = 'send';
    socket.connect(opts.port, opts.server, () => socket.send(payload));
  });
  return { close: () => closeQuietly(socket) };
}

function sendTcp(opts: SyslogOptions, payload: Buffer, target: string, fail: (reason: string) => void): Listener {
  let connected = false;
  const socket = net.connect({ host: opts.server, port: opts.port, ...(opts.source ? { localAddress: opts.source } : {}) }, () => {
    connected = true;
    socket.end(payload);
  });
  socket.on('error', (error) =>
    fail(connected ? `${target}: connection failed while sending: ${errorCode(error)}` : `cannot connect to ${target}: ${errorCode(error)}`),
  );
  return { close: () => socket.destroy() };
}

function closeQuietly(socket: dgram.Socket): void {
  socket.removeAllListeners('message');
  socket.on('error', () => undefined);
  try {
    socket.close();
  } catch {
    // Already closed.
  }
}

// dns: one query to one server over UDP (TCP on truncation or by choice), checking id, question echo, rcode and answer.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { z } from 'zod';
import { defineProbe, type ProbeContext, type ProbeOutcome } from './types.js';
import { formatHostPort, ipAddress, port } from './common.js';
import { IgnoredResponses, isDnsName, judgeResponse, QTYPES, queryPacket, RCODES, type DnsExpectation, type DnsQuestion, type Transport, type Verdict } from './dns-wire.js';
import { canonical } from '../src/config/address.js';
import { messageOf } from '../src/errors.js';

const upperCase = (value: unknown) => (typeof value === 'string' ? value.toUpperCase() : value);

const options = z
  .strictObject({
    server: ipAddress,
    port: port.default(53),
    query: z.string().refine(isDnsName, { message: 'must be a domain name such as "www.example.com" or "."' }),
    qtype: z.preprocess(upperCase, z.enum(QTYPES)).default('A'),
    // Recursion desired: leave on for resolvers, turn off to check an authoritative server answers from its own data.
    rd: z.boolean().default(true),
    expect_rcode: z.preprocess(upperCase, z.enum(RCODES)).default('NOERROR'),
    expect_answer: z.string().min(1).max(1024).optional(),
    transport: z.enum(['udp', 'tcp']).default('udp'),
    source: ipAddress.optional(),
  })
  .superRefine((opts, ctx) => {
    if (opts.source !== undefined && net.isIP(opts.source) !== net.isIP(opts.server)) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'must be the same address family as server' });
    }
    if (opts.expect_answer !== undefined && opts.qtype === 'A' && !net.isIPv4(opts.expect_answer)) {
      ctx.addIssue({ code: 'custom', path: ['expect_answer'], message: 'must be an IPv4 address for qtype A' });
    }
    if (opts.expect_answer !== undefined && opts.qtype === 'AAAA' && !net.isIPv6(opts.expect_answer)) {
      ctx.addIssue({ code: 'custom', path: ['expect_answer'], message: 'must be an IPv6 address for qtype AAAA' });
    }
  });

type Options = z.output<typeof options>;

// How long before ctx's deadline the probe stops waiting itself, so its own reason (with ignored responses) is the one reported.
const MAX_MARGIN_MS = 10;

export default defineProbe({
  type: 'dns',
  summary: 'DNS query to a server (UDP, TCP on truncation) checking rcode and, optionally, an expected answer',
  options,
  async run(opts, ctx): Promise<ProbeOutcome> {
    const stop = new AbortController();
    const onParentAbort = () => stop.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onParentAbort, { once: true });
    if (ctx.signal.aborted) onParentAbort();
    const budget = ctx.timeoutMs;
    const timer = Number.isFinite(budget) && budget < 2 ** 31 ? setTimeout(() => stop.abort(new Error('timeout')), Math.max(1, budget - Math.min(MAX_MARGIN_MS, Math.floor(budget / 10)))) : undefined;
    try {
      return await query(opts, ctx, stop.signal);
    } catch (error) {
      return { ok: false, reason: `probe error: ${messageOf(error)}` };
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onParentAbort);
      if (!stop.signal.aborted) stop.abort(new Error('probe finished'));
    }
  },
});

async function query(opts: Options, ctx: ProbeContext, stop: AbortSignal): Promise<ProbeOutcome> {
  const question: DnsQuestion = { id: randomInt(0, 65536), name: opts.query, qtype: opts.qtype, rd: opts.rd };
  const expectation: DnsExpectation = { rcode: opts.expect_rcode, ...(opts.expect_answer !== undefined ? { answer: opts.expect_answer } : {}) };
  const ignored = new IgnoredResponses();
  const exchange = (transport: Transport, q: DnsQuestion) => {
    const judge = (bytes: Buffer) => judgeResponse(bytes, q, expectation, transport);
    const target = { server: opts.server, port: opts.port, source: opts.source };
    return transport === 'udp' ? udpExchange(target, dnsPacket.encode(queryPacket(q)), judge, stop, ignored) : tcpExchange(target, dnsPacket.streamEncode(queryPacket(q)), judge, stop, ignored);
  };
  let verdict = await exchange(opts.transport, question);
  let prefix = '';
  if (verdict.kind === 'truncated') {
    ctx.log.debug({ server: opts.server }, 'dns: truncated response over udp, retrying over tcp');
    prefix = 'truncated over udp, tcp retry: ';
    verdict = await exchange('tcp', { ...question, id: randomInt(0, 65536) });
  }
  switch (verdict.kind) {
    case 'ok':
      return prefix ? { ok: true, reason: 'answered over tcp after truncation' } : { ok: true };
    case 'fail':
      return { ok: false, reason: prefix + verdict.reason };
    case 'truncated':
      return { ok: false, reason: 'truncated response over tcp' };
    case 'ignore':
    case 'stopped':
      return { ok: false, reason: prefix + stoppedReason(stop, ctx.timeoutMs, ignored) };
  }
}

function stoppedReason(stop: AbortSignal, timeoutMs: number, ignored: IgnoredResponses): string {
  const reason: unknown = stop.reason;
  const timedOut = reason instanceof Error && reason.message === 'timeout';
  return `${timedOut ? `timed out after ${timeoutMs}ms` : 'cancelled'}${ignored.suffix()}`;
}

interface Target {
  server: string;
  port: number;
  source: string | undefined;
}

type Exchanged = Verdict | { kind: 'stopped' };

function udpExchange(target: Target, payload: Buffer, judge: (bytes: Buffer) => Verdict, stop: AbortSignal, ignored: IgnoredResponses): Promise<Exchanged> {
  const where = `${formatHostPort(target.server, target.port)} udp`;
  const expectedAddress = canonical(target.server);
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: net.isIPv6(target.server) ? 'udp6' : 'udp4' });
    let done = false;
    const finish = (result: Exchanged) => {
      if (done) return;
      done = true;
      stop.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(result);
    };
    const onAbort = () => finish({ kind: 'stopped' });
    if (stop.aborted) return onAbort();
    stop.addEventListener('abort', onAbort, { once: true });
    // On a connected socket an ICMP port unreachable arrives here as ECONNREFUSED.
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'fail', reason: `${where}: ${error.code ?? error.message}` }));
    socket.on('message', (message, remote) => {
      if (done) return;
      // The kernel filters a connected socket's senders; this check is for the odd stack that does not.
      if (remote.port !== target.port || canonical(remote.address) !== expectedAddress) return ignored.add('from an unexpected source');
      const verdict = judge(message);
      if (verdict.kind === 'ignore') ignored.add(verdict.why);
      else finish(verdict);
    });
    const send = (error?: Error) => {
      if (error) return finish({ kind: 'fail', reason: `${where}: ${messageOf(error)}` });
      if (done) return;
      socket.send(payload, (sendError) => {
        if (sendError) finish({ kind: 'fail', reason: `${where}: ${(sendError as NodeJS.ErrnoException).code ?? sendError.message}` });
      });
    };
    const connect = () => {
      if (!done) socket.connect(target.port, target.server, send);
    };
    if (target.source) socket.bind({ address: target.source, port: 0, exclusive: true }, connect);
    else connect();
  });
}

function tcpExchange(target: Target, payload: Buffer, judge: (bytes: Buffer) => Verdict, stop: AbortSignal, ignored: IgnoredResponses): Promise<Exchanged> {
  const where = `${formatHostPort(target.server, target.port)} tcp`;
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.server, port: target.port, ...(target.source ? { localAddress: target.source } : {}) });
    let done = false;
    let buffered = Buffer.alloc(0);
    const finish = (result: Exchanged) => {
      if (done) return;
      done = true;
      stop.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ kind: 'stopped' });
    if (stop.aborted) return onAbort();
    stop.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write(payload));
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'fail', reason: `${where}: ${error.code ?? error.message}` }));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      // Frames are a 2-byte length then a message; several may arrive in one chunk or one across several.
      while (!done && buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < length + 2) break;
        const verdict = judge(buffered.subarray(2, length + 2));
        buffered = buffered.subarray(length + 2);
        if (verdict.kind === 'ignore') ignored.add(verdict.why);
        else finish(verdict);
      }
    });
    socket.on('close', () => {
      const partial = buffered.length > 0 ? ` (${buffered.length} bytes of an incomplete message)` : '';
      finish({ kind: 'fail', reason: `${where}: connection closed before a response${partial}${ignored.suffix()}` });
    });
  });
}

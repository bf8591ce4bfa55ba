// dns: one query to one server over UDP (TCP on truncation or by choice), checking id, question echo, rcode and answer.
import net from 'node:net';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { z } from 'zod';
import { defineProbe, type ProbeContext, type ProbeOutcome } from './types.js';
import { formatHostPort, ipAddress, port } from './common.js';
import { IgnoredResponses, isDnsName, judgeResponse, QTYPES, queryPacket, quickAcceptName, RCODES, type DnsExpectation, type DnsQuestion, type Verdict } from './dns-wire.js';
import { udpKey, udpLease, type UdpLease, type UdpTarget, type UdpWaiter } from './dns-udp.js';
import { Cancellation, cancellationOf, FINISHED_REASON, isTimeout, signalHook, TIMEOUT_REASON, type CancelHook, type CancelTarget } from './cancel.js';
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

// When called directly (not by runProbe), how long before ctx's deadline the probe stops waiting itself, so its own
// reason (with ignored responses) is the one reported. Under runProbe the runner's deadline cancels it instead.
const MAX_MARGIN_MS = 10;

export default defineProbe({
  type: 'dns',
  summary: 'DNS query to a server (UDP, TCP on truncation) checking rcode and, optionally, an expected answer',
  options,
  run(opts, ctx): Promise<ProbeOutcome> {
    const given = cancellationOf(ctx);
    if (given) return query(opts, ctx, given);
    return runAlone(opts, ctx);
  },
});

// Called directly with a plain context: its own deadline slightly before ctx's, and ctx.signal bridged.
async function runAlone(opts: Options, ctx: ProbeContext): Promise<ProbeOutcome> {
  const stop = new Cancellation();
  const removeParent = signalHook(ctx.signal).onCancel((reason) => stop.cancel(reason));
  if (ctx.signal.aborted) stop.cancel(ctx.signal.reason);
  const budget = ctx.timeoutMs;
  const timer = Number.isFinite(budget) && budget < 2 ** 31 ? setTimeout(() => stop.cancel(TIMEOUT_REASON), Math.max(1, budget - Math.min(MAX_MARGIN_MS, Math.floor(budget / 10)))) : undefined;
  try {
    return await query(opts, ctx, stop);
  } finally {
    clearTimeout(timer);
    removeParent();
    stop.cancel(FINISHED_REASON);
  }
}

// What every query of one configured probe shares, worked out once: options objects live as long as the config.
interface Plan {
  target: UdpTarget;
  key: string;
  name: string;
  acceptName: string;
  qtype: DnsQuestion['qtype'];
  rd: boolean;
  expectation: DnsExpectation;
  // The encoded UDP query with id 0; each query copies it and writes its own id.
  template: Buffer;
}

// Kept on the options object itself: a symbol-keyed property is an inline-cached load, a WeakMap lookup per query is not.
const PLAN = Symbol('dns plan');

function planOf(opts: Options): Plan {
  const holder = opts as Options & { [PLAN]?: Plan };
  let plan = holder[PLAN];
  if (!plan) {
    const target = { server: opts.server, port: opts.port, source: opts.source };
    const question: DnsQuestion = { id: 0, name: opts.query, qtype: opts.qtype, rd: opts.rd };
    plan = {
      target,
      key: udpKey(target),
      name: opts.query,
      acceptName: quickAcceptName(opts.query),
      qtype: opts.qtype,
      rd: opts.rd,
      expectation: { rcode: opts.expect_rcode, ...(opts.expect_answer !== undefined ? { answer: opts.expect_answer } : {}) },
      template: dnsPacket.encode(queryPacket(question)),
    };
    Object.defineProperty(holder, PLAN, { value: plan });
  }
  return plan;
}

// Never rejects: an error becomes a failed outcome naming it.
function query(opts: Options, ctx: ProbeContext, stop: CancelHook): Promise<ProbeOutcome> {
  try {
    const plan = planOf(opts);
    if (opts.transport === 'tcp') return tcpQuery(plan, ctx, stop, new IgnoredResponses(), '');
    if (stop.cancelled) return Promise.resolve({ ok: false, reason: stoppedReason(stop, ctx.timeoutMs, undefined) });
    // The common case in one promise: the exchange resolves it with the outcome (or with the TCP retry's).
    return new Promise((resolve) => new UdpExchange(plan, ctx, stop, resolve));
  } catch (error) {
    return Promise.resolve({ ok: false, reason: `probe error: ${messageOf(error)}` });
  }
}

async function tcpQuery(plan: Plan, ctx: ProbeContext, stop: CancelHook, ignored: IgnoredResponses, prefix: string): Promise<ProbeOutcome> {
  try {
    const question: DnsQuestion = { id: randomInt(0, 65536), name: plan.name, qtype: plan.qtype, rd: plan.rd };
    const verdict = await tcpExchange(plan.target, question, plan.expectation, stop, ignored);
    if (verdict.kind === 'truncated') return { ok: false, reason: 'truncated response over tcp' };
    return outcomeOf(verdict, prefix, stop, ctx.timeoutMs, ignored);
  } catch (error) {
    return { ok: false, reason: `probe error: ${messageOf(error)}` };
  }
}

function outcomeOf(verdict: Exchanged, prefix: string, stop: CancelHook, timeoutMs: number, ignored: IgnoredResponses | undefined): ProbeOutcome {
  switch (verdict.kind) {
    case 'ok':
      return prefix ? { ok: true, reason: 'answered over tcp after truncation' } : OK;
    case 'fail':
      return { ok: false, reason: prefix + verdict.reason };
    case 'truncated':
      return { ok: false, reason: prefix + 'truncated response' };
    case 'ignore':
    case 'stopped':
      return { ok: false, reason: prefix + stoppedReason(stop, timeoutMs, ignored) };
  }
}

const OK: ProbeOutcome = Object.freeze({ ok: true });

function stoppedReason(stop: CancelHook, timeoutMs: number, ignored: IgnoredResponses | undefined): string {
  return `${isTimeout(stop.reason) ? `timed out after ${timeoutMs}ms` : 'cancelled'}${ignored?.suffix() ?? ''}`;
}

type Exchanged = Verdict | { kind: 'stopped' };

const STOPPED: Exchanged = { kind: 'stopped' };

// One UDP query on the shared socket for its server: waits for a datagram with its id that its checks accept or
// reject, a socket failure, or the cancellation; a truncated answer hands over to a TCP retry.
class UdpExchange implements UdpWaiter, CancelTarget {
  private done = false;
  private ignoredResponses: IgnoredResponses | undefined;
  private readonly lease: UdpLease;
  private readonly question: DnsQuestion;

  constructor(
    private readonly plan: Plan,
    private readonly ctx: ProbeContext,
    private readonly stop: CancelHook,
    private readonly resolve: (outcome: ProbeOutcome | Promise<ProbeOutcome>) => void,
  ) {
    this.lease = udpLease(plan.target, plan.key, this);
    this.question = { id: this.lease.id, name: plan.name, qtype: plan.qtype, rd: plan.rd, acceptName: plan.acceptName };
    stop.attach(this);
    const payload = Buffer.allocUnsafe(plan.template.length);
    plan.template.copy(payload);
    payload.writeUInt16BE(this.lease.id, 0);
    this.lease.send(payload);
  }

  message(bytes: Buffer): void {
    if (this.done) return;
    const verdict = judgeResponse(bytes, this.question, this.plan.expectation, 'udp');
    if (verdict.kind === 'ignore') this.ignored(verdict.why);
    else this.finish(verdict);
  }

  ignored(why: string): void {
    if (!this.done) (this.ignoredResponses ??= new IgnoredResponses()).add(why);
  }

  failed(reason: string): void {
    this.finish({ kind: 'fail', reason });
  }

  // The run's cancellation (its timeout, the service stopping, or its end).
  cancel(): void {
    this.finish(STOPPED);
  }

  private finish(verdict: Exchanged): void {
    if (this.done) return;
    this.done = true;
    this.stop.detach(this);
    this.lease.release();
    if (verdict.kind !== 'truncated') return this.resolve(outcomeOf(verdict, '', this.stop, this.ctx.timeoutMs, this.ignoredResponses));
    this.ctx.log.debug({ server: this.plan.target.server }, 'dns: truncated response over udp, retrying over tcp');
    this.resolve(tcpQuery(this.plan, this.ctx, this.stop, this.ignoredResponses ?? new IgnoredResponses(), 'truncated over udp, tcp retry: '));
  }
}

function tcpExchange(target: UdpTarget, question: DnsQuestion, expectation: DnsExpectation, stop: CancelHook, ignored: IgnoredResponses): Promise<Exchanged> {
  const where = `${formatHostPort(target.server, target.port)} tcp`;
  const payload = dnsPacket.streamEncode(queryPacket(question));
  const judge = (bytes: Buffer) => judgeResponse(bytes, question, expectation, 'tcp');
  return new Promise((resolve) => {
    if (stop.cancelled) return resolve(STOPPED);
    const socket = net.connect({ host: target.server, port: target.port, ...(target.source ? { localAddress: target.source } : {}) });
    let done = false;
    let buffered = Buffer.alloc(0);
    const finish = (result: Exchanged) => {
      if (done) return;
      done = true;
      removeStop();
      socket.destroy();
      resolve(result);
    };
    const removeStop = stop.onCancel(() => finish(STOPPED));
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

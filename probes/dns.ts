// dns: one query to one server over UDP (TCP on truncation or by choice), checking id, question echo, rcode and answer.
// One round: run() takes the query's plan (made once per configuration), sends it through dns-transport.ts (a pooled
// UDP socket, or a TCP connection), and judges each message that comes back (judgeResponse, below) until one is final,
// ctx.signal aborts, or the socket fails.
import net from 'node:net';
import { randomInt } from 'node:crypto';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import { z } from 'zod';
import { canonicalAddress, defineProbe, ipAddress, messageOf, port, stoppedText, type ProbeContext, type ProbeOutcome } from './kit/index.js';
import { TcpExchange, udpKey, udpPool, type DnsTarget, type TcpWaiter, type UdpLease, type UdpWaiter } from './dns-transport.js';

export const QTYPES = ['A', 'AAAA', 'TXT', 'SOA', 'NS', 'MX', 'PTR', 'CNAME', 'SRV'] as const;
export type QType = (typeof QTYPES)[number];

export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'] as const;
export type RcodeName = (typeof RCODES)[number];

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

export default defineProbe({
  type: 'dns',
  summary: 'DNS query to a server (UDP, TCP on truncation) checking rcode and, optionally, an expected answer',
  options,
  run(opts, ctx): Promise<ProbeOutcome> {
    try {
      const plan = planOf(opts);
      if (ctx.signal.aborted) return Promise.resolve({ ok: false, reason: stoppedText(ctx.signal, ctx.timeoutMs) });
      return new Promise((resolve) => {
        if (opts.transport === 'tcp') new TcpQuery(plan, ctx, new IgnoredResponses(), '', resolve);
        else new UdpQuery(plan, ctx, resolve);
      });
    } catch (error) {
      return Promise.resolve({ ok: false, reason: `probe error: ${messageOf(error)}` });
    }
  },
});

// What every query of one configured probe shares, worked out once: options objects live as long as the config.
interface Plan {
  target: DnsTarget;
  key: string;
  question: Omit<DnsQuestion, 'id'>;
  expectation: DnsExpectation;
  // The encoded UDP query with id 0; each query copies it and writes its own id.
  template: Buffer;
}

const plans = new WeakMap<Options, Plan>();

function planOf(opts: Options): Plan {
  let plan = plans.get(opts);
  if (!plan) {
    const target = { server: opts.server, port: opts.port, source: opts.source };
    const question = { name: opts.query, qtype: opts.qtype, rd: opts.rd };
    plan = {
      target,
      key: udpKey(target),
      question,
      expectation: {
        rcode: opts.expect_rcode,
        ...(opts.expect_answer !== undefined ? { answer: opts.expect_answer, answerForm: normalizeValue(opts.qtype, opts.expect_answer) } : {}),
      },
      template: dnsPacket.encode(queryPacket({ id: 0, ...question })),
    };
    plans.set(opts, plan);
  }
  return plan;
}

type Exchanged = Verdict | { kind: 'stopped' };

const STOPPED: Exchanged = { kind: 'stopped' };
const OK: ProbeOutcome = Object.freeze({ ok: true });

function outcomeOf(verdict: Exchanged, prefix: string, ctx: ProbeContext, ignored: IgnoredResponses | undefined): ProbeOutcome {
  switch (verdict.kind) {
    case 'ok':
      return prefix ? { ok: true, reason: 'answered over tcp after truncation' } : OK;
    case 'fail':
      return { ok: false, reason: prefix + verdict.reason };
    case 'truncated':
      return { ok: false, reason: prefix + 'truncated response' };
    case 'ignore':
    case 'stopped':
      return { ok: false, reason: prefix + stoppedText(ctx.signal, ctx.timeoutMs) + (ignored?.suffix() ?? '') };
  }
}

// One UDP query on a pooled socket for its server: waits for a datagram with its id that the checks accept or reject,
// a socket failure, or ctx.signal; a truncated answer hands over to a TCP query. It is its own abort listener
// (handleEvent), so a query makes no closure for it.
class UdpQuery implements UdpWaiter {
  private done = false;
  private ignoredResponses: IgnoredResponses | undefined;
  private readonly lease: UdpLease;
  private readonly question: DnsQuestion;

  constructor(
    private readonly plan: Plan,
    private readonly ctx: ProbeContext,
    private readonly resolve: (outcome: ProbeOutcome) => void,
  ) {
    this.lease = udpPool.lease(plan.target, plan.key, this);
    this.question = { ...plan.question, id: this.lease.id };
    ctx.signal.addEventListener('abort', this);
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

  // ctx.signal aborted: the timeout, the service stopping.
  handleEvent(): void {
    this.finish(STOPPED);
  }

  private finish(verdict: Exchanged): void {
    if (this.done) return;
    this.done = true;
    this.ctx.signal.removeEventListener('abort', this);
    this.lease.release();
    if (verdict.kind !== 'truncated') return this.resolve(outcomeOf(verdict, '', this.ctx, this.ignoredResponses));
    this.ctx.log.debug({ server: this.plan.target.server }, 'dns: truncated response over udp, retrying over tcp');
    new TcpQuery(this.plan, this.ctx, this.ignoredResponses ?? new IgnoredResponses(), 'truncated over udp, tcp retry: ', this.resolve);
  }
}

// One query over its own TCP connection: by choice (transport: tcp) or after a truncated UDP answer (`prefix` says so).
class TcpQuery implements TcpWaiter {
  private done = false;
  private exchange: TcpExchange | undefined;
  private readonly question: DnsQuestion;

  constructor(
    private readonly plan: Plan,
    private readonly ctx: ProbeContext,
    private readonly ignoredResponses: IgnoredResponses,
    private readonly prefix: string,
    private readonly resolve: (outcome: ProbeOutcome) => void,
  ) {
    this.question = { ...plan.question, id: randomInt(0, 65536) };
    if (ctx.signal.aborted) {
      this.done = true;
      resolve(outcomeOf(STOPPED, prefix, ctx, ignoredResponses));
      return;
    }
    ctx.signal.addEventListener('abort', this);
    try {
      this.exchange = new TcpExchange(plan.target, dnsPacket.streamEncode(queryPacket(this.question)), this);
    } catch (error) {
      this.finish({ kind: 'fail', reason: `probe error: ${messageOf(error)}` }, true);
    }
  }

  message(bytes: Buffer): void {
    if (this.done) return;
    const verdict = judgeResponse(bytes, this.question, this.plan.expectation, 'tcp');
    if (verdict.kind === 'ignore') this.ignoredResponses.add(verdict.why);
    else this.finish(verdict);
  }

  failed(reason: string, closed: boolean): void {
    this.finish({ kind: 'fail', reason: closed ? reason + this.ignoredResponses.suffix() : reason });
  }

  handleEvent(): void {
    this.finish(STOPPED);
  }

  private finish(verdict: Exchanged, unprefixed = false): void {
    if (this.done) return;
    this.done = true;
    this.ctx.signal.removeEventListener('abort', this);
    this.exchange?.close();
    if (verdict.kind === 'truncated') return this.resolve({ ok: false, reason: 'truncated response over tcp' });
    this.resolve(outcomeOf(verdict, unprefixed ? '' : this.prefix, this.ctx, this.ignoredResponses));
  }
}

// ---- Judging: the query's bytes and the checks of a response, with no sockets, so they can be unit-tested and fuzzed.

export type Transport = 'udp' | 'tcp';

export interface DnsQuestion {
  id: number;
  name: string;
  qtype: QType;
  rd: boolean;
}

export interface DnsExpectation {
  rcode: RcodeName;
  // Must equal one answer RR of the query type (addresses compared canonically, names case-insensitively).
  answer?: string;
  // `answer` in the form answers are compared in, worked out once per configuration (the plan); made per check if absent.
  answerForm?: string;
}

// ignore: not an answer to our query (keep waiting); truncated: retry over TCP; fail/ok: final.
export type Verdict = { kind: 'ok' } | { kind: 'truncated' } | { kind: 'ignore'; why: string } | { kind: 'fail'; reason: string };

const MAX_SHOWN = 5;

// Validates query names in options: "." or dot-separated labels of 1-63 characters, 253 at most.
export function isDnsName(value: string): boolean {
  if (value === '.') return true;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => label.length >= 1 && label.length <= 63 && /^[A-Za-z0-9_*-]+$/.test(label));
}

// The query packet; encode() gives the UDP payload, streamEncode() the length-prefixed TCP form.
export function queryPacket(question: DnsQuestion): Packet {
  return {
    type: 'query',
    id: question.id,
    flags: question.rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type: question.qtype, class: 'IN', name: question.name }],
  };
}

// The single entry point for received bytes: dns-packet decodes everything, then checkResponse; never throws, whatever
// the bytes.
export function judgeResponse(bytes: Buffer, question: DnsQuestion, expectation: DnsExpectation, transport: Transport): Verdict {
  try {
    // A datagram whose id is not ours is someone else's answer (or a spoof): not a failure of the server we probe.
    if (bytes.length >= 2 && bytes.readUInt16BE(0) !== question.id) return { kind: 'ignore', why: 'with wrong id' };
    if (bytes.length < 12) return { kind: 'fail', reason: `malformed response: ${bytes.length} bytes, shorter than a DNS header` };
    let packet: DecodedPacket;
    try {
      packet = dnsPacket.decode(bytes);
    } catch (error) {
      return { kind: 'fail', reason: `malformed response: ${printable(messageOf(error))}` };
    }
    return checkResponse(packet, question, expectation, transport);
  } catch (error) {
    return { kind: 'fail', reason: `malformed response: ${printable(messageOf(error))}` };
  }
}

// Checks a decoded response: id, QR bit, truncation, question echo, rcode, expected answer.
export function checkResponse(packet: DecodedPacket, question: DnsQuestion, expectation: DnsExpectation, transport: Transport): Verdict {
  try {
    if (packet.id !== question.id) return { kind: 'ignore', why: 'with wrong id' };
    if (!packet.flag_qr) return { kind: 'fail', reason: 'not a response (QR bit clear)' };
    const header = packet as DecodedPacket & { opcode?: string; rcode?: string };
    if (header.opcode !== undefined && header.opcode !== 'QUERY')
      return { kind: 'fail', reason: `response has opcode ${printable(String(header.opcode))}, expected QUERY` };
    if (packet.flag_tc && transport === 'udp') return { kind: 'truncated' };
    const echo = checkQuestion(packet, question);
    if (echo) return { kind: 'fail', reason: echo };
    const rcode = String(header.rcode ?? 'NOERROR');
    if (rcode !== expectation.rcode) return { kind: 'fail', reason: `rcode ${printable(rcode)}, expected ${expectation.rcode}` };
    if (expectation.answer !== undefined) {
      const missing = checkAnswer(packet.answers ?? [], question.qtype, expectation.answer, expectation.answerForm);
      if (missing) return { kind: 'fail', reason: missing };
    }
    return { kind: 'ok' };
  } catch (error) {
    return { kind: 'fail', reason: `malformed response: ${printable(messageOf(error))}` };
  }
}

function checkQuestion(packet: DecodedPacket, question: DnsQuestion): string | undefined {
  const questions = packet.questions ?? [];
  if (questions.length !== 1) return `response question section has ${questions.length} entries, expected 1 echoing the query`;
  const echoed = questions[0];
  if (!echoed || typeof echoed.name !== 'string') return 'response question section is unreadable';
  if (normalizeName(echoed.name) !== normalizeName(question.name)) {
    return `response question name ${printable(echoed.name)} does not match query ${question.name}`;
  }
  if (echoed.type !== question.qtype) return `response question type ${printable(String(echoed.type))} does not match query ${question.qtype}`;
  const klass = echoed.class ?? 'IN';
  if (klass !== 'IN') return `response question class ${printable(String(klass))} does not match query IN`;
  return undefined;
}

function checkAnswer(answers: readonly Answer[], qtype: QType, expected: string, expectedForm?: string): string | undefined {
  const wanted = expectedForm ?? normalizeValue(qtype, expected);
  const shown: string[] = [];
  for (const answer of answers) {
    if (!answer || answer.type !== qtype || (answer.class ?? 'IN') !== 'IN') continue;
    const forms = renderRecord(qtype, answer.data);
    if (forms.some((form) => normalizeValue(qtype, form) === wanted)) return undefined;
    if (forms[0] !== undefined) shown.push(forms[0]);
  }
  if (shown.length === 0) return `answer does not contain ${printable(expected)} (no ${qtype} records in answer)`;
  const list = shown.slice(0, MAX_SHOWN).map(printable).join(', ');
  const more = shown.length > MAX_SHOWN ? ` and ${shown.length - MAX_SHOWN} more` : '';
  return `answer does not contain ${printable(expected)} (got ${list}${more})`;
}

// Text forms of one record's data; the first is for display, the others are shorter forms that may also match.
function renderRecord(qtype: QType, data: unknown): string[] {
  if (data === null || data === undefined) return [];
  switch (qtype) {
    case 'A':
    case 'AAAA':
    case 'NS':
    case 'PTR':
    case 'CNAME':
      return typeof data === 'string' ? [data] : [];
    case 'TXT': {
      const chunks = Array.isArray(data) ? data : [data];
      return [chunks.map((chunk) => (Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk))).join('')];
    }
    case 'MX': {
      const mx = data as { preference?: unknown; exchange?: unknown };
      return [`${String(mx.preference)} ${String(mx.exchange)}`, String(mx.exchange)];
    }
    case 'SRV': {
      const srv = data as { priority?: unknown; weight?: unknown; port?: unknown; target?: unknown };
      return [`${String(srv.priority)} ${String(srv.weight)} ${String(srv.port)} ${String(srv.target)}`, String(srv.target)];
    }
    case 'SOA': {
      const soa = data as Record<string, unknown>;
      const fields = ['mname', 'rname', 'serial', 'refresh', 'retry', 'expire', 'minimum'].map((key) => String(soa[key]));
      return [fields.join(' '), String(soa.mname)];
    }
  }
}

function normalizeValue(qtype: QType, value: string): string {
  // An IPv4 address has one spelling (net.isIP refuses leading zeros): no parse per answer.
  if (qtype === 'TXT' || qtype === 'A') return value;
  if (qtype === 'AAAA') {
    const family = net.isIP(value);
    return family === 0 ? value : canonicalAddress(value);
  }
  // Names, and records made of names and numbers: case-insensitive, trailing dots ignored.
  return value
    .split(' ')
    .map((part) => normalizeName(part))
    .join(' ');
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

// Keeps reasons one short printable line, whatever bytes a server sent.
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}

// Counts responses that were not answers to our query, so a timeout can say why nothing counted.
export class IgnoredResponses {
  // Made on the first ignored response: most queries never see one.
  private counts: Map<string, number> | undefined;

  add(why: string): void {
    this.counts ??= new Map();
    this.counts.set(why, (this.counts.get(why) ?? 0) + 1);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts?.values() ?? []) sum += count;
    return sum;
  }

  // "" or " (ignored 3 responses with wrong id, 1 response from an unexpected source)".
  suffix(): string {
    if (!this.counts) return '';
    const parts = [...this.counts].map(([why, count], index) => `${index === 0 ? 'ignored ' : ''}${count} ${count === 1 ? 'response' : 'responses'} ${why}`);
    return ` (${parts.join(', ')})`;
  }
}

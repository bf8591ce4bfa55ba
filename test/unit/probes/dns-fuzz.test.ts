// Property tests: whatever bytes come back, the dns checks and the probe never throw and always explain a failure.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import dns, { checkResponse, judgeResponse, QTYPES, type DnsQuestion, type QType, type Verdict } from '../../../probes/dns.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import type { ProbeDefinition } from '../../../probes/kit/index.js';
import { silentLogger } from '../../../src/log.js';
import { reply, startFakeDns } from './dns-fake-server.js';
import { watchLoop } from '../../support/loop-lateness.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 500);

function assertVerdict(verdict: Verdict): void {
  switch (verdict.kind) {
    case 'ok':
    case 'truncated':
      return;
    case 'ignore':
      assert.equal(typeof verdict.why, 'string');
      return;
    case 'fail':
      assert.equal(typeof verdict.reason, 'string');
      assert.ok(verdict.reason.length > 0 && verdict.reason.length < 1000, `reason length ${verdict.reason.length}`);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(verdict.reason, /[\u0000-\u001f]/, 'reason is one printable line');
      return;
    default:
      assert.fail(`unknown verdict ${JSON.stringify(verdict)}`);
  }
}

const label = fc.stringMatching(/^[a-z0-9]{1,10}$/);
const hostName = fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => `${labels.join('.')}.test`);

function answerFor(qtype: QType, name: string) {
  const data: Record<QType, fc.Arbitrary<unknown>> = {
    A: fc.ipV4(),
    AAAA: fc.ipV6(),
    TXT: fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 3 }),
    SOA: fc.record({ mname: hostName, rname: hostName, serial: fc.nat() }),
    NS: hostName,
    MX: fc.record({ preference: fc.nat({ max: 65535 }), exchange: hostName }),
    PTR: hostName,
    CNAME: hostName,
    SRV: fc.record({ priority: fc.nat({ max: 65535 }), weight: fc.nat({ max: 65535 }), port: fc.nat({ max: 65535 }), target: hostName }),
  };
  return data[qtype].map((value) => ({ type: qtype, name, ttl: 60, class: 'IN', data: value }) as Answer);
}

// A query and a well-formed response to it.
const exchange = fc.record({ qtype: fc.constantFrom(...QTYPES), name: hostName, id: fc.nat({ max: 65535 }) }).chain(({ qtype, name, id }) =>
  fc.record({
    question: fc.constant<DnsQuestion>({ id, name, qtype, rd: true }),
    answers: fc.array(answerFor(qtype, name), { maxLength: 4 }),
  }),
);

type Mutation =
  | { kind: 'flip'; at: number; bits: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
);

// Applies mutations; keepId restores the first two bytes so the result reaches the checks past the id filter.
function mutate(original: Buffer, mutations: readonly Mutation[], keepId: boolean): Buffer {
  let bytes = Buffer.from(original);
  for (const change of mutations) {
    const at = bytes.length === 0 ? 0 : change.at % bytes.length;
    if (change.kind === 'flip' && bytes.length > 0) bytes[at] = (bytes[at] ?? 0) ^ change.bits;
    if (change.kind === 'truncate') bytes = bytes.subarray(0, at);
    if (change.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(change.bytes), bytes.subarray(at)]);
    if (change.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + change.count)]);
  }
  if (keepId && bytes.length >= 2) original.copy(bytes, 0, 0, 2);
  return bytes;
}

function response(question: DnsQuestion, answers: Answer[]): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: question.id,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: question.name, type: question.qtype, class: 'IN' }],
    answers,
  });
}

const expectation = fc.record({
  rcode: fc.constantFrom('NOERROR' as const, 'NXDOMAIN' as const),
  answer: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
});

test('random bytes never make judgeResponse throw', () => {
  const question: DnsQuestion = { id: 0x1234, name: 'www.test', qtype: 'A', rd: true };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600, size: 'large' }), fc.boolean(), fc.constantFrom('udp' as const, 'tcp' as const), (raw, ours, transport) => {
      const bytes = Buffer.from(raw);
      if (ours && bytes.length >= 2) bytes.writeUInt16BE(question.id, 0);
      assertVerdict(judgeResponse(bytes, question, { rcode: 'NOERROR', answer: '192.0.2.1' }, transport));
    }),
    { numRuns: RUNS },
  );
});

test('well-formed responses pass when they carry the expected answer (generator sanity)', () => {
  fc.assert(
    fc.property(exchange, ({ question, answers }) => {
      assert.deepEqual(judgeResponse(response(question, answers), question, { rcode: 'NOERROR' }, 'udp'), { kind: 'ok' });
    }),
    { numRuns: RUNS },
  );
});

test('mutated responses never make judgeResponse throw, and a failure always has a reason', () => {
  fc.assert(
    fc.property(
      exchange,
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      expectation,
      ({ question, answers }, mutations, keepId, expected) => {
        const bytes = mutate(response(question, answers), mutations, keepId);
        assertVerdict(judgeResponse(bytes, question, expected, 'udp'));
        assertVerdict(judgeResponse(bytes, question, expected, 'tcp'));
      },
    ),
    { numRuns: RUNS * 2 },
  );
});

test('checkResponse survives decoded packets of any shape', () => {
  const question: DnsQuestion = { id: 7, name: 'www.test', qtype: 'MX', rd: true };
  const packet = fc.record(
    {
      id: fc.oneof(fc.constant(7), fc.anything()),
      flag_qr: fc.oneof(fc.constant(true), fc.anything()),
      flag_tc: fc.anything(),
      rcode: fc.oneof(fc.constant('NOERROR'), fc.anything()),
      questions: fc.oneof(fc.constant([{ name: 'www.test', type: 'MX', class: 'IN' }]), fc.array(fc.anything(), { maxLength: 2 })),
      answers: fc.array(fc.oneof(fc.record({ type: fc.constant('MX'), class: fc.constant('IN'), data: fc.anything() }), fc.anything()), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(packet, (candidate) => {
      assertVerdict(checkResponse(candidate as unknown as DecodedPacket, question, { rcode: 'NOERROR', answer: 'mx.test' }, 'udp'));
    }),
    { numRuns: RUNS },
  );
});

test('the probe against a server sending mutated answers resolves within its timeout with a reason', async () => {
  let current: { answers: Answer[]; mutations: Mutation[]; keepId: boolean } = { answers: [], mutations: [], keepId: true };
  const fake = await startFakeDns((query) => mutate(reply(query, { answers: current.answers }), current.mutations, current.keepId));
  after(() => fake.close());
  const timeoutMs = 150;
  let failures = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.ipV4().map((address) => ({ type: 'A', name: 'www.test', ttl: 60, class: 'IN', data: address }) as Answer),
        { maxLength: 3 },
      ),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      async (answers, mutations, keepId) => {
        current = { answers, mutations, keepId };
        const loop = watchLoop();
        const result = await runProbe({
          definition: dns as ProbeDefinition,
          options: dns.options.parse({ server: '127.0.0.1', port: fake.port, query: 'www.test' }),
          timeoutMs,
          log: silentLogger(),
          service: { name: 'fuzz', addresses: [] },
        });
        assert.equal(typeof result.ok, 'boolean');
        const lateMs = loop.stop();
        assert.ok(result.durationMs < timeoutMs + 500 + lateMs, `took ${result.durationMs}ms (event loop late by up to ${lateMs}ms)`);
        if (!result.ok) {
          failures += 1;
          assert.ok(typeof result.reason === 'string' && result.reason.length > 0, 'a failure has a reason');
        }
      },
    ),
    { numRuns: Number(process.env.FUZZ_SOCKET_RUNS ?? 40) },
  );
  assert.ok(failures > 0, 'mutations should break at least one exchange');
});

// A response as unbound writes it: answer names compressed to a pointer at the question (offset 12), which dns-packet's
// encoder does not do.
function compressedResponse(
  question: DnsQuestion,
  records: { type: 'A' | 'AAAA'; address: string; klass?: number }[],
  rcode = 0,
  echo = question.name,
): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(question.id, 0);
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const name = echo.replace(/\.$/, '');
  const labels = name === '' ? [] : name.split('.');
  const qname = Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])), Buffer.from([0])]);
  const qtail = Buffer.alloc(4);
  qtail.writeUInt16BE(question.qtype === 'A' ? 1 : 28, 0);
  qtail.writeUInt16BE(1, 2);
  const answers = records.map(({ type, address, klass }) => {
    const rdata =
      type === 'A'
        ? Buffer.from(address.split('.').map(Number))
        : (dnsPacket as unknown as { aaaa: { encode(host: string): Buffer } }).aaaa.encode(address).subarray(2);
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0);
    fixed.writeUInt16BE(type === 'A' ? 1 : 28, 2);
    fixed.writeUInt16BE(klass ?? 1, 4);
    fixed.writeUInt32BE(60, 6);
    fixed.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([fixed, rdata]);
  });
  return Buffer.concat([header, qname, qtail, ...answers]);
}

const addressQuestion = fc
  .record({ qtype: fc.constantFrom('A' as const, 'AAAA' as const), name: hostName, id: fc.nat({ max: 65535 }) })
  .map(({ qtype, name, id }): DnsQuestion => ({ id, name, qtype, rd: true }));
const addressRecord = fc.oneof(
  fc.record({ type: fc.constant('A' as const), address: fc.ipV4(), klass: fc.constantFrom(1, 1, 3, 0x8001) }),
  fc.record({ type: fc.constant('AAAA' as const), address: fc.ipV6(), klass: fc.constantFrom(1, 1, 3, 0x8001) }),
);

test('compressed A/AAAA answers as unbound writes them: an echoed question with the expected rcode and answer is ok', () => {
  let good = 0;
  fc.assert(
    fc.property(
      addressQuestion,
      fc.array(addressRecord, { maxLength: 4 }),
      fc.boolean(),
      fc.constantFrom(0, 0, 3),
      fc.constantFrom('same', 'same', 'upper', 'prefix', 'longer', 'other'),
      (question, records, expectOne, rcode, echoKind) => {
        const own = records.find((record) => record.type === question.qtype && record.klass === 1);
        const expectation = { rcode: 'NOERROR' as const, ...(expectOne && own ? { answer: own.address } : {}) };
        const echo = {
          same: question.name,
          upper: question.name.toUpperCase(),
          prefix: question.name.slice(0, -1),
          longer: `x.${question.name}`,
          other: `${question.name}x`,
        }[echoKind];
        const verdict = judgeResponse(compressedResponse(question, records, rcode, echo), question, expectation, 'udp');
        const shouldPass = rcode === 0 && (echoKind === 'same' || echoKind === 'upper');
        // With an expected AAAA answer the helper's rdata can be off (dns-packet's encoder misreads some uncompressed forms):
        // then the only failure allowed is the answer's.
        if (shouldPass && expectation.answer === undefined) assert.deepEqual(verdict, { kind: 'ok' });
        else if (shouldPass)
          assert.ok(verdict.kind === 'ok' || (verdict.kind === 'fail' && verdict.reason.startsWith('answer does not contain')), JSON.stringify(verdict));
        else assert.equal(verdict.kind, 'fail');
        if (verdict.kind === 'ok') good += 1;
      },
    ),
    { numRuns: RUNS },
  );
  assert.ok(good > 0, 'some generated answers are good');
});

test('mutated compressed answers: judgeResponse never throws and a failure always says why', () => {
  fc.assert(
    fc.property(
      addressQuestion,
      fc.array(addressRecord, { minLength: 1, maxLength: 3 }),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      (question, records, mutations, keepId) => {
        const own = records.find((record) => record.type === question.qtype);
        const expectation = { rcode: 'NOERROR' as const, ...(own ? { answer: own.address } : {}) };
        const verdict = judgeResponse(mutate(compressedResponse(question, records), mutations, keepId), question, expectation, 'udp');
        if (verdict.kind === 'fail') assert.ok(verdict.reason.length > 0);
        if (verdict.kind === 'ignore') assert.ok(verdict.why.length > 0);
      },
    ),
    { numRuns: RUNS * 4 },
  );
});

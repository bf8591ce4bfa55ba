// dns probe against in-process DNS servers on port 0, plus its option schema and pure checks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import dns, { checkResponse, IgnoredResponses, judgeResponse, type DnsQuestion } from '../../../probes/dns.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import type { ProbeDefinition } from '../../../probes/kit/index.js';
import { silentLogger } from '../../../src/log.js';
import { reply, startFakeDns, type FakeDns, type Responder } from './dns-fake-server.js';
import { watchLoop } from '../../support/loop-lateness.js';

const servers: FakeDns[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function server(responder: Responder, host = '127.0.0.1'): Promise<FakeDns> {
  const fake = await startFakeDns(responder, host);
  servers.push(fake);
  return fake;
}

function probe(options: Record<string, unknown>, timeoutMs = 1000, signal?: AbortSignal) {
  const parsed = dns.options.parse(options);
  return runProbe({
    definition: dns as ProbeDefinition,
    options: parsed,
    timeoutMs,
    log: silentLogger(),
    service: { name: 'svc', addresses: [] },
    ...(signal ? { signal } : {}),
  });
}

const a = (name: string, data: string): Answer => ({ type: 'A', name, ttl: 60, class: 'IN', data });

// Answers www.test with the given A records, and NXDOMAIN for anything else.
const zone =
  (...addresses: string[]): Responder =>
  (query) => {
    const name = query.questions?.[0]?.name ?? '';
    if (name.toLowerCase() !== 'www.test') return reply(query, { rcode: 'NXDOMAIN' });
    return reply(query, { answers: addresses.map((address) => a(name, address)) });
  };

test('ok when the expected address is among the answers', async () => {
  const fake = await server(zone('192.0.2.9', '192.0.2.1'));
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', expect_answer: '192.0.2.1' });
  assert.deepEqual({ ok: result.ok, reason: result.reason }, { ok: true, reason: undefined });
  assert.equal(fake.received.length, 1);
  assert.equal(fake.received[0]?.transport, 'udp');
  assert.equal(fake.received[0]?.query.flag_rd, true, 'rd defaults to true');
  assert.deepEqual(fake.received[0]?.query.questions, [{ name: 'www.test', type: 'A', class: 'IN' }]);
});

test('ok with NOERROR and no expected answer; rd: false clears the RD bit', async () => {
  const fake = await server(zone('192.0.2.9'));
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', rd: false });
  assert.equal(result.ok, true, result.reason);
  assert.equal(fake.received[0]?.query.flag_rd, false);
});

test('fails naming the wrong address it got', async () => {
  const fake = await server(zone('192.0.2.9'));
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', expect_answer: '192.0.2.1' });
  assert.equal(result.ok, false);
  assert.equal(result.reason, 'answer does not contain 192.0.2.1 (got 192.0.2.9)');
});

test('fails when the answer has no records of the query type', async () => {
  const fake = await server(zone());
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', expect_answer: '192.0.2.1' });
  assert.equal(result.reason, 'answer does not contain 192.0.2.1 (no A records in answer)');
});

test('fails on an unexpected rcode, and passes when that rcode is expected', async () => {
  const fake = await server((query) => reply(query, { rcode: 'SERVFAIL' }));
  const failed = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test' });
  assert.deepEqual({ ok: failed.ok, reason: failed.reason }, { ok: false, reason: 'rcode SERVFAIL, expected NOERROR' });
  const nx = await server(zone('192.0.2.1'));
  const expected = await probe({ server: '127.0.0.1', port: nx.port, query: 'nope.test', expect_rcode: 'nxdomain' });
  assert.equal(expected.ok, true, expected.reason);
  const unexpected = await probe({ server: '127.0.0.1', port: nx.port, query: 'www.test', expect_rcode: 'NXDOMAIN' });
  assert.equal(unexpected.reason, 'rcode NOERROR, expected NXDOMAIN');
});

test('responses with a wrong id are ignored, and a later good one is accepted', async () => {
  const fake = await server((query) => [
    reply(query, { id: (query.id! + 1) % 65536, answers: [a('www.test', '192.0.2.66')] }),
    reply(query, { answers: [a('www.test', '192.0.2.1')] }),
  ]);
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', expect_answer: '192.0.2.1' });
  assert.equal(result.ok, true, result.reason);
});

test('only wrong-id responses: times out and says how many were ignored', async () => {
  const fake = await server((query) => [1, 2, 3].map((delta) => reply(query, { id: (query.id! + delta) % 65536 })));
  const loop = watchLoop();
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test' }, 300);
  const lateMs = loop.stop();
  assert.equal(result.ok, false);
  assert.equal(result.reason, 'timed out after 300ms (ignored 3 responses with wrong id)');
  assert.ok(result.durationMs < 1000 + lateMs, `took ${result.durationMs}ms (event loop late by up to ${lateMs}ms)`);
});

test('a reply from another port of the server host is not accepted', async (t) => {
  const other = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => other.bind(0, '127.0.0.1', () => resolve()));
  t.after(() => other.close());
  const fake = await server(() => undefined);
  fake.udp.removeAllListeners('message');
  fake.udp.on('message', (message, remote) => {
    const query = dnsPacket.decode(message);
    other.send(reply(query, { answers: [a('www.test', '192.0.2.1')] }), remote.port, remote.address);
  });
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', expect_answer: '192.0.2.1' }, 250);
  assert.equal(result.ok, false);
  assert.match(result.reason ?? '', /^timed out after 250ms/);
});

test('a truncated UDP answer is retried over TCP', async () => {
  const fake = await server((query, transport) =>
    transport === 'udp' ? reply(query, { truncated: true }) : reply(query, { answers: [a('www.test', '192.0.2.1')] }),
  );
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', expect_answer: '192.0.2.1' });
  assert.equal(result.ok, true, result.reason);
  assert.equal(result.reason, 'answered over tcp after truncation');
  assert.deepEqual(
    fake.received.map((entry) => entry.transport),
    ['udp', 'tcp'],
  );
});

test('a truncated UDP answer whose TCP retry fails reports both', async () => {
  const fake = await server((query, transport) => (transport === 'udp' ? reply(query, { truncated: true }) : reply(query, { rcode: 'REFUSED' })));
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test' });
  assert.equal(result.reason, 'truncated over udp, tcp retry: rcode REFUSED, expected NOERROR');
});

test('transport: tcp queries over TCP only, handling split frames', async () => {
  const fake = await server((query) => reply(query, { answers: [a('www.test', '192.0.2.1')] }));
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', transport: 'tcp', expect_answer: '192.0.2.1' });
  assert.equal(result.ok, true, result.reason);
  assert.deepEqual(
    fake.received.map((entry) => entry.transport),
    ['tcp'],
  );
});

test('malformed bytes with our id fail with a reason', async () => {
  const fake = await server(() => undefined);
  fake.udp.removeAllListeners('message');
  fake.udp.on('message', (message, remote) => {
    // Our id, then a header that claims one question and stops.
    fake.udp.send(Buffer.concat([message.subarray(0, 2), Buffer.from([0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 7, 0x77])]), remote.port, remote.address);
  });
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test' });
  assert.equal(result.ok, false);
  assert.match(result.reason ?? '', /^malformed response: /);
});

test('a response that does not echo the question fails', async () => {
  const fake = await server((query) => reply(query, { questions: [{ name: 'other.test', type: 'A', class: 'IN' }] }));
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test' });
  assert.equal(result.reason, 'response question name other.test does not match query www.test');
  const upper = await server((query) => reply(query, { questions: [{ name: 'WWW.Test.', type: 'A', class: 'IN' }] }));
  const caseOnly = await probe({ server: '127.0.0.1', port: upper.port, query: 'www.test' });
  assert.equal(caseOnly.ok, true, `name compared case-insensitively: ${caseOnly.reason}`);
});

test('a server that never answers is bounded by the timeout', async () => {
  const fake = await server(() => undefined);
  const loop = watchLoop();
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test' }, 200);
  const lateMs = loop.stop();
  assert.equal(result.ok, false);
  assert.equal(result.reason, 'timed out after 200ms');
  assert.ok(result.durationMs >= 150 && result.durationMs < 1000 + lateMs, `took ${result.durationMs}ms (event loop late by up to ${lateMs}ms)`);
});

test('a closed UDP port fails fast with ECONNREFUSED', async () => {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  const loop = watchLoop();
  const result = await probe({ server: '127.0.0.1', port, query: 'www.test' }, 2000);
  const lateMs = loop.stop();
  assert.equal(result.ok, false);
  assert.equal(result.reason, `127.0.0.1:${port} udp: ECONNREFUSED`);
  assert.ok(result.durationMs < 1000 + lateMs, `took ${result.durationMs}ms (event loop late by up to ${lateMs}ms)`);
});

test('IPv6: queries [::1] over UDP and TCP', async () => {
  const fake = await server(
    (query, transport) =>
      transport === 'udp'
        ? reply(query, { truncated: true })
        : reply(query, { answers: [{ type: 'AAAA', name: 'www.test', ttl: 60, class: 'IN', data: '2001:db8::1' }] }),
    '::1',
  );
  const result = await probe({ server: '::1', port: fake.port, query: 'www.test', qtype: 'AAAA', expect_answer: '2001:0db8:0::1' });
  assert.equal(result.ok, true, result.reason);
  assert.deepEqual(
    fake.received.map((entry) => [entry.transport, entry.from]),
    [
      ['udp', '::1'],
      ['tcp', '::1'],
    ],
  );
});

test('source: sends from the given local address over UDP and TCP', async () => {
  const fake = await server((query, transport) => (transport === 'udp' ? reply(query, { truncated: true }) : reply(query)));
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', source: '127.0.0.2' });
  assert.equal(result.ok, true, result.reason);
  assert.deepEqual(
    fake.received.map((entry) => entry.from),
    ['127.0.0.2', '127.0.0.2'],
  );
});

test('source: an address not on this host fails with a reason', async () => {
  const fake = await server((query) => reply(query));
  const result = await probe({ server: '127.0.0.1', port: fake.port, query: 'www.test', source: '192.0.2.77' });
  assert.equal(result.ok, false);
  assert.match(result.reason ?? '', /EADDRNOTAVAIL/);
  assert.equal(fake.received.length, 0);
});

test('an aborted signal ends the probe as cancelled', async () => {
  const fake = await server(() => undefined);
  const controller = new AbortController();
  const pending = probe({ server: '127.0.0.1', port: fake.port, query: 'www.test' }, 5000, controller.signal);
  setTimeout(() => controller.abort(), 50);
  const result = await pending;
  assert.equal(result.reason, 'cancelled');
  assert.ok(result.durationMs < 1000);
  const direct = await dns.run(dns.options.parse({ server: '127.0.0.1', port: fake.port, query: 'www.test' }), {
    signal: AbortSignal.abort(),
    timeoutMs: 1000,
    log: silentLogger(),
    service: { name: 'svc', addresses: [] },
  });
  assert.deepEqual(direct, { ok: false, reason: 'cancelled' });
});

test('options: defaults, case-insensitive qtype and rcode, and clear rejections', () => {
  assert.deepEqual(dns.options.parse({ server: '::1', query: 'example.com.' }), {
    server: '::1',
    port: 53,
    query: 'example.com.',
    qtype: 'A',
    rd: true,
    expect_rcode: 'NOERROR',
    transport: 'udp',
  });
  assert.equal(dns.options.parse({ server: '127.0.0.1', query: '.', qtype: 'ns', expect_rcode: 'servfail' }).qtype, 'NS');
  const problems = (input: Record<string, unknown>) => {
    const parsed = dns.options.safeParse(input);
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };
  assert.deepEqual(problems({ server: 'localhost', query: 'a.test' }), ['server: must be an IPv4 or IPv6 address']);
  assert.match(problems({ server: '127.0.0.1', query: 'bad name' })[0] ?? '', /^query: must be a domain name/);
  assert.match(problems({ server: '127.0.0.1', query: `${'x'.repeat(64)}.test` })[0] ?? '', /^query: /);
  assert.match(problems({ server: '127.0.0.1', query: 'a.test', qtype: 'ANY' })[0] ?? '', /^qtype: /);
  assert.deepEqual(problems({ server: '127.0.0.1', query: 'a.test', qtype: 'AAAA', expect_answer: '192.0.2.1' }), [
    'expect_answer: must be an IPv6 address for qtype AAAA',
  ]);
  assert.deepEqual(problems({ server: '127.0.0.1', query: 'a.test', expect_answer: 'www.test' }), ['expect_answer: must be an IPv4 address for qtype A']);
  assert.deepEqual(problems({ server: '127.0.0.1', query: 'a.test', source: '::1' }), ['source: must be the same address family as server']);
  assert.match(problems({ server: '127.0.0.1', query: 'a.test', recurse: true })[0] ?? '', /recurse/);
});

const question: DnsQuestion = { id: 4242, name: 'x.test', qtype: 'MX', rd: true };

function decoded(answers: Answer[], overrides: Partial<DecodedPacket> = {}): DecodedPacket {
  const bytes = dnsPacket.encode({ type: 'response', id: 4242, flags: 0, questions: [{ name: 'x.test', type: question.qtype, class: 'IN' }], answers });
  return { ...dnsPacket.decode(bytes), ...overrides };
}

test('checkResponse matches MX, SRV, TXT and SOA records by their text forms', () => {
  const mx = decoded([{ type: 'MX', name: 'x.test', data: { preference: 10, exchange: 'Mail.Test' } }]);
  assert.deepEqual(checkResponse(mx, question, { rcode: 'NOERROR', answer: 'mail.test.' }, 'udp'), { kind: 'ok' });
  assert.deepEqual(checkResponse(mx, question, { rcode: 'NOERROR', answer: '10 mail.test' }, 'udp'), { kind: 'ok' });
  assert.deepEqual(checkResponse(mx, question, { rcode: 'NOERROR', answer: 'other.test' }, 'udp'), {
    kind: 'fail',
    reason: 'answer does not contain other.test (got 10 Mail.Test)',
  });

  const srvQuestion: DnsQuestion = { ...question, qtype: 'SRV' };
  const srv = {
    ...dnsPacket.decode(
      dnsPacket.encode({
        type: 'response',
        id: 4242,
        questions: [{ name: 'x.test', type: 'SRV' }],
        answers: [{ type: 'SRV', name: 'x.test', data: { priority: 1, weight: 2, port: 5060, target: 'sip.test' } }],
      }),
    ),
  };
  assert.deepEqual(checkResponse(srv, srvQuestion, { rcode: 'NOERROR', answer: '1 2 5060 sip.test' }, 'udp'), { kind: 'ok' });
  assert.deepEqual(checkResponse(srv, srvQuestion, { rcode: 'NOERROR', answer: 'sip.test' }, 'udp'), { kind: 'ok' });

  const txtQuestion: DnsQuestion = { ...question, qtype: 'TXT' };
  const txt = dnsPacket.decode(
    dnsPacket.encode({
      type: 'response',
      id: 4242,
      questions: [{ name: 'x.test', type: 'TXT' }],
      answers: [{ type: 'TXT', name: 'x.test', data: ['hello ', 'world'] }],
    }),
  );
  assert.deepEqual(checkResponse(txt, txtQuestion, { rcode: 'NOERROR', answer: 'hello world' }, 'udp'), { kind: 'ok' });
  assert.deepEqual(checkResponse(txt, txtQuestion, { rcode: 'NOERROR', answer: 'Hello world' }, 'udp'), {
    kind: 'fail',
    reason: 'answer does not contain Hello world (got hello world)',
  });

  const soaQuestion: DnsQuestion = { ...question, qtype: 'SOA' };
  const soa = dnsPacket.decode(
    dnsPacket.encode({
      type: 'response',
      id: 4242,
      questions: [{ name: 'x.test', type: 'SOA' }],
      answers: [{ type: 'SOA', name: 'x.test', data: { mname: 'ns.test', rname: 'host.test', serial: 7 } }],
    }),
  );
  assert.deepEqual(checkResponse(soa, soaQuestion, { rcode: 'NOERROR', answer: 'ns.test' }, 'udp'), { kind: 'ok' });
  assert.deepEqual(checkResponse(soa, soaQuestion, { rcode: 'NOERROR', answer: 'ns.test host.test 7 0 0 0 0' }, 'udp'), { kind: 'ok' });
});

test('checkResponse: QR bit, truncation only matters over UDP, wrong id is ignored', () => {
  assert.deepEqual(checkResponse(decoded([], { flag_qr: false }), question, { rcode: 'NOERROR' }, 'udp'), {
    kind: 'fail',
    reason: 'not a response (QR bit clear)',
  });
  assert.deepEqual(checkResponse(decoded([], { flag_qr: true, flag_tc: true }), question, { rcode: 'NOERROR' }, 'udp'), { kind: 'truncated' });
  assert.deepEqual(checkResponse(decoded([], { flag_qr: true, flag_tc: true }), question, { rcode: 'NOERROR' }, 'tcp'), { kind: 'ok' });
  assert.deepEqual(checkResponse(decoded([], { id: 1 }), question, { rcode: 'NOERROR' }, 'udp'), { kind: 'ignore', why: 'with wrong id' });
  assert.deepEqual(checkResponse(decoded([], { questions: [] }), question, { rcode: 'NOERROR' }, 'udp'), {
    kind: 'fail',
    reason: 'response question section has 0 entries, expected 1 echoing the query',
  });
  assert.deepEqual(checkResponse(decoded([], { questions: [{ name: 'x.test', type: 'A', class: 'IN' }] }), question, { rcode: 'NOERROR' }, 'udp'), {
    kind: 'fail',
    reason: 'response question type A does not match query MX',
  });
});

test('judgeResponse: short, undecodable and foreign bytes', () => {
  assert.deepEqual(judgeResponse(Buffer.from([0x10]), question, { rcode: 'NOERROR' }, 'udp'), {
    kind: 'fail',
    reason: 'malformed response: 1 bytes, shorter than a DNS header',
  });
  assert.deepEqual(judgeResponse(Buffer.from([0x10, 0x92, 0x81]), question, { rcode: 'NOERROR' }, 'udp'), {
    kind: 'fail',
    reason: 'malformed response: 3 bytes, shorter than a DNS header',
  });
  assert.deepEqual(judgeResponse(Buffer.from([0x00, 0x01, 0x81]), question, { rcode: 'NOERROR' }, 'udp'), { kind: 'ignore', why: 'with wrong id' });
  const truncatedBody = dnsPacket.encode({ type: 'response', id: 4242, questions: [{ name: 'x.test', type: 'MX' }] }).subarray(0, 16);
  const verdict = judgeResponse(truncatedBody, question, { rcode: 'NOERROR' }, 'udp');
  assert.equal(verdict.kind, 'fail');
  assert.match(verdict.kind === 'fail' ? verdict.reason : '', /^malformed response: /);
});

test('IgnoredResponses says what was ignored', () => {
  const ignored = new IgnoredResponses();
  assert.equal(ignored.suffix(), '');
  ignored.add('with wrong id');
  assert.equal(ignored.suffix(), ' (ignored 1 response with wrong id)');
  ignored.add('with wrong id');
  ignored.add('from an unexpected source');
  assert.equal(ignored.suffix(), ' (ignored 2 responses with wrong id, 1 response from an unexpected source)');
  assert.equal(ignored.total, 3);
});

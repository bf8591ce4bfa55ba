// RADIUS packet building and reply checks against RFC 2865 vectors, independent arithmetic, and fuzzed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fc from 'fast-check';
import { RadiusAttr, RadiusCode, buildRequest, checkReply, encodeAttributes, hidePassword, parsePacket } from '../../../probes/radius-wire.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// RFC 2865 section 7.1 (secret "xyzzy5461", as stated in the RFC errata and used by many implementations' tests).
const rfcSecret = Buffer.from('xyzzy5461');
const rfcRequest = hex(`01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
  93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03`);
const rfcAccept = hex(`02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
  0e 06 c0 a8 01 03`);
const rfcAuthenticator = rfcRequest.subarray(4, 20);

// Written out separately from the code under test: reveals a hidden User-Password.
function unhide(hidden: Buffer, secret: Buffer, authenticator: Buffer): string {
  const out = Buffer.alloc(hidden.length);
  let previous = authenticator;
  for (let offset = 0; offset < hidden.length; offset += 16) {
    const mask = crypto
      .createHash('md5')
      .update(Buffer.concat([secret, previous]))
      .digest();
    for (let i = 0; i < 16; i++) out[offset + i] = hidden[offset + i]! ^ mask[i]!;
    previous = hidden.subarray(offset, offset + 16);
  }
  return out.toString('utf8').replace(/\0+$/, '');
}

// A server's reply, computed the long way: optional Message-Authenticator over the packet with the request authenticator in place.
function makeReply(code: number, id: number, requestAuth: Buffer, attrs: Buffer, secret: Buffer, withMac: boolean): Buffer {
  const body = withMac ? Buffer.concat([Buffer.from([80, 18]), Buffer.alloc(16), attrs]) : attrs;
  const packet = Buffer.concat([Buffer.from([code, id, 0, 0]), requestAuth, body]);
  packet.writeUInt16BE(packet.length, 2);
  if (withMac) crypto.createHmac('md5', secret).update(packet).digest().copy(packet, 22);
  const responseAuth = crypto
    .createHash('md5')
    .update(Buffer.concat([packet.subarray(0, 4), requestAuth, packet.subarray(20), secret]))
    .digest();
  responseAuth.copy(packet, 4);
  return packet;
}

test('hidePassword reproduces the User-Password of RFC 2865 section 7.1', () => {
  assert.deepEqual(hidePassword(Buffer.from('arctangent'), rfcSecret, rfcAuthenticator), rfcRequest.subarray(28, 44));
});

test('hidePassword chains blocks for long passwords and pads to 16 octets', () => {
  const secret = Buffer.from('s3cret');
  const auth = crypto.randomBytes(16);
  for (const password of ['a', 'x'.repeat(16), 'pässwörd-'.repeat(4), 'y'.repeat(128)]) {
    const hidden = hidePassword(Buffer.from(password), secret, auth);
    assert.equal(hidden.length % 16, 0);
    assert.equal(hidden.length, Math.max(16, Math.ceil(Buffer.byteLength(password) / 16) * 16));
    assert.equal(unhide(hidden, secret, auth), password);
  }
  assert.throws(() => hidePassword(Buffer.alloc(129, 1), secret, auth), RangeError);
});

test('checkReply accepts the Access-Accept of RFC 2865 section 7.1 and rejects it under another secret', () => {
  assert.deepEqual(checkReply(rfcAccept, { id: 0, authenticator: rfcAuthenticator }, rfcSecret), { kind: 'answer', code: 2, codeName: 'Access-Accept' });
  assert.deepEqual(checkReply(rfcAccept, { id: 0, authenticator: rfcAuthenticator }, Buffer.from('xyzzy5462')), {
    kind: 'invalid',
    reason: 'response authenticator mismatch: wrong secret?',
  });
  assert.equal(checkReply(rfcAccept, { id: 0, authenticator: crypto.randomBytes(16) }, rfcSecret).kind, 'invalid');
});

test('buildRequest puts a correct Message-Authenticator first and sets the length field', () => {
  const secret = Buffer.from('testing123');
  const authenticator = crypto.randomBytes(16);
  const packet = buildRequest({
    code: RadiusCode.StatusServer,
    id: 77,
    authenticator,
    attributes: [{ type: RadiusAttr.NasIdentifier, value: Buffer.from('hc') }],
    secret,
  });
  assert.equal(packet[0], 12);
  assert.equal(packet[1], 77);
  assert.equal(packet.readUInt16BE(2), packet.length);
  assert.deepEqual(packet.subarray(4, 20), authenticator);
  assert.deepEqual([packet[20], packet[21]], [80, 18]);
  assert.deepEqual(packet.subarray(38), Buffer.from([32, 4, 0x68, 0x63]));
  const zeroed = Buffer.from(packet);
  zeroed.fill(0, 22, 38);
  assert.deepEqual(packet.subarray(22, 38), crypto.createHmac('md5', secret).update(zeroed).digest());
  const parsed = parsePacket(packet);
  assert.ok(parsed.ok);
  assert.deepEqual(
    parsed.packet.attributes.map((a) => a.type),
    [80, 32],
  );
});

test('buildRequest and encodeAttributes refuse what cannot be encoded', () => {
  const base = { code: 1, id: 1, authenticator: Buffer.alloc(16), secret: Buffer.from('s') };
  assert.throws(() => buildRequest({ ...base, attributes: [{ type: 1, value: Buffer.alloc(254) }] }), RangeError);
  assert.throws(() => buildRequest({ ...base, attributes: [{ type: 1, value: Buffer.alloc(0) }] }), RangeError);
  assert.throws(() => buildRequest({ ...base, id: 256, attributes: [] }), RangeError);
  assert.throws(() => buildRequest({ ...base, authenticator: Buffer.alloc(15), attributes: [] }), RangeError);
  assert.throws(() => buildRequest({ ...base, attributes: Array.from({ length: 17 }, () => ({ type: 26, value: Buffer.alloc(253) })) }), /exceeds 4096/);
  assert.deepEqual(encodeAttributes([{ type: 1, value: Buffer.from('ab') }]), Buffer.from([1, 4, 0x61, 0x62]));
});

test('checkReply verifies the reply Message-Authenticator with the request authenticator in place', () => {
  const secret = Buffer.from('shared');
  const auth = crypto.randomBytes(16);
  const good = makeReply(2, 9, auth, Buffer.alloc(0), secret, true);
  assert.deepEqual(checkReply(good, { id: 9, authenticator: auth }, secret), { kind: 'answer', code: 2, codeName: 'Access-Accept' });
  // A MAC computed over the reply's own authenticator (a common server bug) must not pass.
  const wrongMac = Buffer.from(good);
  wrongMac.fill(0, 22, 38);
  crypto.createHmac('md5', secret).update(wrongMac).digest().copy(wrongMac, 22);
  const responseAuth = crypto
    .createHash('md5')
    .update(Buffer.concat([wrongMac.subarray(0, 4), auth, wrongMac.subarray(20), secret]))
    .digest();
  responseAuth.copy(wrongMac, 4);
  assert.deepEqual(checkReply(wrongMac, { id: 9, authenticator: auth }, secret), {
    kind: 'invalid',
    reason: 'reply Message-Authenticator mismatch: wrong secret?',
  });
  const twoMacs = makeReply(2, 9, auth, Buffer.concat([Buffer.from([80, 18]), Buffer.alloc(16)]), secret, true);
  assert.match((checkReply(twoMacs, { id: 9, authenticator: auth }, secret) as { reason: string }).reason, /two Message-Authenticator/);
  const shortMac = makeReply(2, 9, auth, Buffer.from([80, 3, 0]), secret, false);
  assert.match((checkReply(shortMac, { id: 9, authenticator: auth }, secret) as { reason: string }).reason, /length 3, not 18/);
});

test('checkReply reports Access-Reject with its Reply-Message parts joined', () => {
  const secret = Buffer.from('shared');
  const auth = crypto.randomBytes(16);
  const attrs = Buffer.concat([Buffer.from([18, 7]), Buffer.from('wrong'), Buffer.from([18, 7]), Buffer.from(' pass')]);
  assert.deepEqual(checkReply(makeReply(3, 1, auth, attrs, secret, true), { id: 1, authenticator: auth }, secret), {
    kind: 'answer',
    code: 3,
    codeName: 'Access-Reject',
    replyMessage: 'wrong pass',
  });
});

test('checkReply ignores replies to other ids and flags broken lengths', () => {
  const secret = Buffer.from('shared');
  const auth = crypto.randomBytes(16);
  const reply = makeReply(2, 5, auth, Buffer.alloc(0), secret, true);
  assert.deepEqual(checkReply(reply, { id: 6, authenticator: auth }, secret), { kind: 'ignored', reason: 'reply id 5 does not match request id 6' });
  const tooLong = Buffer.from(reply);
  tooLong.writeUInt16BE(reply.length + 1, 2);
  assert.match((checkReply(tooLong, { id: 5, authenticator: auth }, secret) as { reason: string }).reason, /exceeds the 38 octets received/);
  const tooShort = Buffer.from(reply);
  tooShort.writeUInt16BE(19, 2);
  assert.match((checkReply(tooShort, { id: 5, authenticator: auth }, secret) as { reason: string }).reason, /outside 20-4096/);
  assert.match((checkReply(reply.subarray(0, 10), { id: 5, authenticator: auth }, secret) as { reason: string }).reason, /shorter than the 20-octet header/);
  assert.equal(checkReply(Buffer.alloc(0), { id: 5, authenticator: auth }, secret).kind, 'invalid');
  // Octets past the length field are padding and do not matter.
  assert.equal(checkReply(Buffer.concat([reply, Buffer.from('junk')]), { id: 5, authenticator: auth }, secret).kind, 'answer');
});

test('fuzz: random bytes never throw and never pass as an answer without a reason', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes, id, auth) => {
      const result = checkReply(Buffer.from(bytes), { id, authenticator: Buffer.from(auth) }, Buffer.from('fuzz-secret'));
      assert.ok(result.kind === 'ignored' || result.kind === 'invalid', `random bytes passed as ${result.kind}`);
      assert.ok(result.reason.length > 0);
      const parsed = parsePacket(Buffer.from(bytes));
      if (!parsed.ok) assert.ok(parsed.reason.length > 0);
    }),
    { numRuns: 3000 },
  );
});

test('fuzz: any change inside a valid reply makes it ignored or invalid, with a reason; padding does not matter', () => {
  const secret = Buffer.from('fuzz-secret');
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 255 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.constantFrom(2, 3, 5, 11),
      fc.boolean(),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 255 }), fc.uint8Array({ minLength: 1, maxLength: 40 })), { maxLength: 5 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (id, authBytes, code, withMac, attrs, where, flip) => {
        const auth = Buffer.from(authBytes);
        const encoded = Buffer.concat(
          attrs.filter(([type]) => type !== 80).map(([type, value]) => Buffer.concat([Buffer.from([type, value.length + 2]), value])),
        );
        const reply = makeReply(code, id, auth, encoded, secret, withMac);
        assert.equal(checkReply(reply, { id, authenticator: auth }, secret).kind, 'answer');
        const mutated = Buffer.from(reply);
        const at = where % reply.length;
        mutated[at] = mutated[at]! ^ flip;
        const result = checkReply(mutated, { id, authenticator: auth }, secret);
        assert.notEqual(result.kind, 'answer', `flipping octet ${at} went unnoticed`);
        assert.ok('reason' in result && result.reason.length > 0);
        const truncated = checkReply(reply.subarray(0, where % reply.length), { id, authenticator: auth }, secret);
        assert.notEqual(truncated.kind, 'answer');
        const padded = Buffer.concat([reply, Buffer.from(authBytes).subarray(0, where % 17)]);
        assert.equal(checkReply(padded, { id, authenticator: auth }, secret).kind, 'answer');
      },
    ),
    { numRuns: 2000 },
  );
});

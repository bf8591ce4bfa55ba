// RADIUS packets without sockets: build requests and check replies (RFC 2865, RFC 3579, RFC 5997), so they can be tested byte by byte.
import crypto from 'node:crypto';

export const RadiusCode = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
} as const;

export const RadiusAttr = {
  UserName: 1,
  UserPassword: 2,
  ReplyMessage: 18,
  NasIdentifier: 32,
  MessageAuthenticator: 80,
} as const;

const codeNames: Readonly<Record<number, string>> = {
  1: 'Access-Request',
  2: 'Access-Accept',
  3: 'Access-Reject',
  4: 'Accounting-Request',
  5: 'Accounting-Response',
  11: 'Access-Challenge',
  12: 'Status-Server',
  13: 'Status-Client',
};

const HEADER = 20;
const MAX_PACKET = 4096;
const MAX_PASSWORD = 128;

export interface RadiusAttribute {
  type: number;
  value: Buffer;
}

export interface RequestSpec {
  code: number;
  id: number;
  // The 16 random octets of the Request Authenticator.
  authenticator: Buffer;
  // Attributes other than Message-Authenticator, which buildRequest always adds first.
  attributes: readonly RadiusAttribute[];
  secret: Buffer;
}

// Reply reasons and logs name packet codes, not numbers.
export function codeName(code: number): string {
  return codeNames[code] ?? `code ${code}`;
}

// Packets are built from attribute lists; each value must fit the one-octet length field.
export function encodeAttributes(attributes: readonly RadiusAttribute[]): Buffer {
  return Buffer.concat(
    attributes.map(({ type, value }) => {
      if (!Number.isInteger(type) || type < 1 || type > 255) throw new RangeError(`attribute type ${type} is not 1-255`);
      if (value.length < 1 || value.length > 253) throw new RangeError(`attribute ${type} value must be 1-253 octets, got ${value.length}`);
      return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
    }),
  );
}

// User-Password is never sent in clear: RFC 2865 section 5.2 chains MD5(secret + previous block) over 16-octet blocks.
export function hidePassword(password: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  if (password.length > MAX_PASSWORD) throw new RangeError(`password longer than ${MAX_PASSWORD} octets`);
  const padded = Buffer.alloc(Math.max(16, Math.ceil(password.length / 16) * 16));
  password.copy(padded);
  const hidden = Buffer.alloc(padded.length);
  let previous = requestAuthenticator;
  for (let offset = 0; offset < padded.length; offset += 16) {
    const mask = crypto.createHash('md5').update(secret).update(previous).digest();
    for (let i = 0; i < 16; i++) hidden[offset + i] = padded[offset + i]! ^ mask[i]!;
    previous = hidden.subarray(offset, offset + 16);
  }
  return hidden;
}

// A request with Message-Authenticator first (RFC 3579; FreeRADIUS drops Status-Server without it).
export function buildRequest(spec: RequestSpec): Buffer {
  if (spec.authenticator.length !== 16) throw new RangeError('request authenticator must be 16 octets');
  if (!Number.isInteger(spec.id) || spec.id < 0 || spec.id > 255) throw new RangeError(`id ${spec.id} is not 0-255`);
  const attributes = encodeAttributes([{ type: RadiusAttr.MessageAuthenticator, value: Buffer.alloc(16) }, ...spec.attributes]);
  const length = HEADER + attributes.length;
  if (length > MAX_PACKET) throw new RangeError(`packet of ${length} octets exceeds ${MAX_PACKET}`);
  const packet = Buffer.alloc(length);
  packet[0] = spec.code;
  packet[1] = spec.id;
  packet.writeUInt16BE(length, 2);
  spec.authenticator.copy(packet, 4);
  attributes.copy(packet, HEADER);
  const mac = crypto.createHmac('md5', spec.secret).update(packet).digest();
  mac.copy(packet, HEADER + 2);
  return packet;
}

export interface ParsedPacket {
  code: number;
  id: number;
  length: number;
  authenticator: Buffer;
  attributes: RadiusAttribute[];
}

// Bytes past the length field are padding (RFC 2865 section 3); everything inside it must parse.
export function parsePacket(data: Buffer): { ok: true; packet: ParsedPacket } | { ok: false; reason: string } {
  if (data.length < HEADER) return { ok: false, reason: `packet of ${data.length} octets is shorter than the ${HEADER}-octet header` };
  const length = data.readUInt16BE(2);
  if (length < HEADER || length > MAX_PACKET) return { ok: false, reason: `length field ${length} is outside ${HEADER}-${MAX_PACKET}` };
  if (length > data.length) return { ok: false, reason: `length field ${length} exceeds the ${data.length} octets received` };
  const attributes: RadiusAttribute[] = [];
  for (let offset = HEADER; offset < length;) {
    if (offset + 2 > length) return { ok: false, reason: `truncated attribute header at octet ${offset}` };
    const type = data[offset]!;
    const attrLength = data[offset + 1]!;
    if (attrLength < 2 || offset + attrLength > length) return { ok: false, reason: `attribute ${type} at octet ${offset} has bad length ${attrLength}` };
    attributes.push({ type, value: Buffer.from(data.subarray(offset + 2, offset + attrLength)) });
    offset += attrLength;
  }
  return { ok: true, packet: { code: data[0]!, id: data[1]!, length, authenticator: Buffer.from(data.subarray(4, HEADER)), attributes } };
}

export type ReplyCheck =
  // Not an answer to this request (another id): keep waiting.
  | { kind: 'ignored'; reason: string }
  // Claims to answer this request but cannot be trusted or read.
  | { kind: 'invalid'; reason: string }
  | { kind: 'answer'; code: number; codeName: string; replyMessage?: string };

// Every check a client must make before believing a reply; never throws, whatever the bytes.
export function checkReply(data: Buffer, request: { id: number; authenticator: Buffer }, secret: Buffer): ReplyCheck {
  if (data.length >= 2 && data[1] !== request.id) return { kind: 'ignored', reason: `reply id ${data[1]} does not match request id ${request.id}` };
  const parsed = parsePacket(data);
  if (!parsed.ok) return { kind: 'invalid', reason: `malformed reply: ${parsed.reason}` };
  const { packet } = parsed;
  const covered = data.subarray(0, packet.length);
  const expected = crypto
    .createHash('md5')
    .update(covered.subarray(0, 4))
    .update(request.authenticator)
    .update(covered.subarray(HEADER))
    .update(secret)
    .digest();
  if (!crypto.timingSafeEqual(expected, packet.authenticator)) return { kind: 'invalid', reason: 'response authenticator mismatch: wrong secret?' };
  const macProblem = checkMessageAuthenticator(covered, request.authenticator, secret);
  if (macProblem) return { kind: 'invalid', reason: macProblem };
  const replyMessage = packet.attributes
    .filter((attribute) => attribute.type === RadiusAttr.ReplyMessage)
    .map((attribute) => attribute.value.toString('utf8'))
    .join('');
  const answer = { kind: 'answer' as const, code: packet.code, codeName: codeName(packet.code) };
  return replyMessage ? { ...answer, replyMessage } : answer;
}

// RFC 3579 section 3.2: a reply's HMAC is computed with the request's authenticator in the header.
function checkMessageAuthenticator(reply: Buffer, requestAuthenticator: Buffer, secret: Buffer): string | undefined {
  const copy = Buffer.from(reply);
  requestAuthenticator.copy(copy, 4);
  let found: number | undefined;
  for (let offset = HEADER; offset + 2 <= copy.length; offset += copy[offset + 1]!) {
    if (copy[offset] === RadiusAttr.MessageAuthenticator) {
      if (found !== undefined) return 'reply carries two Message-Authenticator attributes';
      if (copy[offset + 1] !== 18) return `reply Message-Authenticator has length ${copy[offset + 1]}, not 18`;
      found = offset + 2;
    }
  }
  if (found === undefined) return undefined;
  const received = Buffer.from(copy.subarray(found, found + 16));
  copy.fill(0, found, found + 16);
  const expected = crypto.createHmac('md5', secret).update(copy).digest();
  return crypto.timingSafeEqual(expected, received) ? undefined : 'reply Message-Authenticator mismatch: wrong secret?';
}

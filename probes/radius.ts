// radius: a Status-Server (RFC 5997) or Access-Request (RFC 2865) round trip, healthy on a verified Access-Accept.
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs/promises';
import net from 'node:net';
import { z } from 'zod';
import { defineProbe, formatHostPort, ipAddress, isTimeout, port, type ProbeContext, type ProbeOutcome } from './kit/index.js';
import { RadiusAttr, RadiusCode, buildRequest, checkReply, hidePassword, type RadiusAttribute } from './radius-wire.js';

const text253 = z
  .string()
  .min(1)
  .refine((value) => Buffer.byteLength(value) <= 253, { message: 'must be at most 253 bytes' });

const options = z
  .strictObject({
    server: ipAddress,
    // FreeRADIUS's dedicated status listener is usually 18121; 1812 answers Status-Server too when status_server = yes.
    port: port.default(1812),
    secret: z.string().min(1, 'must not be empty').optional(),
    // Read on every probe run, so a rotated secret is picked up; one trailing newline is dropped.
    secret_file: z.string().min(1).optional(),
    mode: z.enum(['status', 'access']).default('status'),
    username: text253.optional(),
    password: z
      .string()
      .min(1)
      .refine((value) => Buffer.byteLength(value) <= 128, { message: 'must be at most 128 bytes' })
      .optional(),
    nas_identifier: text253.default('healthcast'),
    source: ipAddress.optional(),
  })
  .refine((o) => (o.secret === undefined) !== (o.secret_file === undefined), { message: 'set exactly one of secret and secret_file', path: ['secret'] })
  .refine((o) => o.mode !== 'access' || (o.username !== undefined && o.password !== undefined), {
    message: 'mode access needs username and password',
    path: ['username'],
  })
  .refine((o) => o.mode === 'access' || (o.username === undefined && o.password === undefined), {
    message: 'username and password only apply to mode access',
    path: ['mode'],
  })
  .refine((o) => o.source === undefined || net.isIP(o.source) === net.isIP(o.server), {
    message: 'must be the same address family as server',
    path: ['source'],
  });

export type RadiusOptions = z.output<typeof options>;

// The reason for silence names the usual causes, because FreeRADIUS never says why it dropped a request.
const SILENCE_HINT = 'FreeRADIUS stays silent on a wrong secret or missing Message-Authenticator';
// Our own deadline fires this much before the runner's, so the specific reason wins over a bare "timed out".
const DEADLINE_MARGIN_MS = 20;

export default defineProbe({
  type: 'radius',
  summary: 'RADIUS Status-Server or Access-Request; healthy on a verified Access-Accept',
  options,
  async run(opts, ctx): Promise<ProbeOutcome> {
    const started = performance.now();
    const target = `${formatHostPort(opts.server, opts.port)}/udp`;
    const secret = await loadSecret(opts);
    if (!secret.ok) return secret;
    const request = { id: crypto.randomInt(256), authenticator: crypto.randomBytes(16) };
    const attributes: RadiusAttribute[] = [{ type: RadiusAttr.NasIdentifier, value: Buffer.from(opts.nas_identifier) }];
    if (opts.mode === 'access') {
      attributes.unshift(
        { type: RadiusAttr.UserName, value: Buffer.from(opts.username ?? '') },
        { type: RadiusAttr.UserPassword, value: hidePassword(Buffer.from(opts.password ?? ''), secret.value, request.authenticator) },
      );
    }
    const packet = buildRequest({
      code: opts.mode === 'access' ? RadiusCode.AccessRequest : RadiusCode.StatusServer,
      ...request,
      attributes,
      secret: secret.value,
    });
    const waitMs = Math.max(1, ctx.timeoutMs - DEADLINE_MARGIN_MS - (performance.now() - started));
    const outcome = await exchange(opts, packet, waitMs, ctx, (reply) => judge(reply, request, secret.value, opts.mode));
    return outcome.ok ? outcome : { ok: false, reason: `${target}: ${redact(outcome.reason, secret.value)}` };
  },
});

async function loadSecret(opts: RadiusOptions): Promise<{ ok: true; value: Buffer } | { ok: false; reason: string }> {
  if (opts.secret !== undefined) return { ok: true, value: Buffer.from(opts.secret) };
  const file = opts.secret_file ?? '';
  let content: string;
  try {
    content = await fs.readFile(file, 'utf8');
  } catch (error) {
    // The message of a read error names only the path; the code is enough.
    return { ok: false, reason: `cannot read secret_file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}` };
  }
  const value = content.replace(/\r?\n$/, '');
  return value === '' ? { ok: false, reason: `secret_file ${file} is empty` } : { ok: true, value: Buffer.from(value) };
}

type Verdict = { done: true; outcome: ProbeOutcome } | { done: false; note: string };

function judge(reply: Buffer, request: { id: number; authenticator: Buffer }, secret: Buffer, mode: RadiusOptions['mode']): Verdict {
  const check = checkReply(reply, request, secret);
  if (check.kind === 'ignored') return { done: false, note: check.reason };
  if (check.kind === 'invalid') return { done: true, outcome: { ok: false, reason: check.reason } };
  const healthy = check.code === RadiusCode.AccessAccept || (mode === 'status' && check.code === RadiusCode.AccountingResponse);
  if (healthy) return { done: true, outcome: { ok: true } };
  const message = check.replyMessage === undefined ? '' : ` (Reply-Message: ${JSON.stringify(printable(check.replyMessage))})`;
  const hint = check.code === RadiusCode.AccessChallenge ? ' (the probe does not answer challenges)' : '';
  return { done: true, outcome: { ok: false, reason: `${check.codeName}${message}${hint}` } };
}

// One request, one socket: connected UDP so the kernel drops datagrams from other addresses and reports ICMP unreachable.
function exchange(opts: RadiusOptions, packet: Buffer, waitMs: number, ctx: ProbeContext, judgeReply: (reply: Buffer) => Verdict): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(opts.server) ? 'udp6' : 'udp4');
    const ignored: string[] = [];
    let phase: 'bind' | 'send' | 'wait' = 'bind';
    const finish = (outcome: ProbeOutcome) => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      try {
        socket.close();
      } catch {
        // Already closed.
      }
      resolve(outcome);
    };
    const silence = () => {
      const extra = ignored.length === 0 ? '' : `; ignored ${ignored.length} repl${ignored.length === 1 ? 'y' : 'ies'} (${ignored[0]})`;
      return `no reply within ${ctx.timeoutMs}ms (${SILENCE_HINT})${extra}`;
    };
    const onAbort = () => finish({ ok: false, reason: isTimeout(ctx.signal.reason) ? silence() : 'cancelled' });
    const timer = setTimeout(() => finish({ ok: false, reason: silence() }), waitMs);
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? error.message;
      if (phase === 'bind') finish({ ok: false, reason: `cannot send from source ${opts.source ?? 'any'}: ${code}` });
      else if (code === 'ECONNREFUSED') finish({ ok: false, reason: 'ECONNREFUSED: nothing listening (ICMP port unreachable)' });
      else finish({ ok: false, reason: `${phase} failed: ${code}` });
    });
    socket.on('message', (reply, remote) => {
      // The connected socket already filters by peer; this guards the check against platform differences.
      const peer = socket.remoteAddress();
      if (remote.address !== peer.address || remote.port !== peer.port) {
        ignored.push(`reply from ${formatHostPort(remote.address, remote.port)}`);
        return;
      }
      const verdict = judgeReply(reply);
      if (verdict.done) finish(verdict.outcome);
      else {
        ctx.log.debug({ probe: 'radius', note: verdict.note }, 'ignored a RADIUS reply');
        ignored.push(verdict.note);
      }
    });
    socket.bind({ port: 0, ...(opts.source ? { address: opts.source } : {}), exclusive: true }, () => {
      phase = 'send';
      socket.connect(opts.port, opts.server, () => {
        socket.send(packet, (error) => {
          if (error) finish({ ok: false, reason: `send failed: ${(error as NodeJS.ErrnoException).code ?? error.message}` });
          else phase = 'wait';
        });
      });
    });
  });
}

// Reply-Message is text the server chose: keep it on one line and short.
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

// Belt and braces: whatever a server echoes back, the secret never reaches a reason.
function redact(reason: string, secret: Buffer): string {
  const text = secret.toString('utf8');
  return text.length > 0 ? reason.split(text).join('<secret>') : reason;
}

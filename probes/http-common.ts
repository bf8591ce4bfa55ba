// One HTTP exchange with expectations, shared by the http and http_proxy probes.
import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import { messageOf, stoppedText, type ProbeOutcome } from './kit/index.js';

export interface StatusRange {
  from: number;
  to: number;
}

const statusItem = z.union([z.number().int(), z.string()]).transform((raw, ctx): StatusRange => {
  const text = String(raw).trim();
  const match = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(text);
  const from = Number(match?.[1]);
  const to = match?.[2] === undefined ? from : Number(match[2]);
  if (!match || from < 100 || to > 599 || from > to) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a status code (100-599) or a range like "200-399"` });
    return z.NEVER;
  }
  return { from, to };
});

// expect_status: one code or range, or a list of them; the default accepts 200-399.
export const expectStatus = z.preprocess(
  (value) => (value === undefined ? ['200-399'] : Array.isArray(value) ? value : [value]),
  z.array(statusItem).min(1, 'must list at least one status code or range'),
);

// A regular expression given as text, compiled at config time so a bad one is a config error.
export const regexText = z
  .string()
  .min(1)
  .transform((text, ctx) => {
    try {
      return new RegExp(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${messageOf(error)}` });
      return z.NEVER;
    }
  });

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Extra request headers; names must be HTTP tokens and values one line, so nothing can be smuggled in.
export const headerMap = z
  .record(
    z.string(),
    z
      .union([z.string(), z.number()])
      .transform(String)
      .refine((value) => !/[\r\n\0]/.test(value), 'must be a single line'),
  )
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      if (!headerName.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be an HTTP header name' });
      else if (name.toLowerCase() === 'host') ctx.addIssue({ code: 'custom', path: [name], message: 'use host_header to set Host' });
    }
  });

export const maxBodyBytes = z
  .number()
  .int()
  .min(1)
  .max(16 * 1024 * 1024)
  .default(64 * 1024);

export interface Expectations {
  status: readonly StatusRange[];
  body?: string | undefined;
  bodyRegex?: RegExp | undefined;
  maxBodyBytes: number;
  // Require a Via header (the response passed through a proxy).
  via?: boolean | undefined;
}

export interface Exchange {
  module: typeof http | typeof https;
  url: URL | undefined;
  request: https.RequestOptions;
  // Who we talk to, for messages: "127.0.0.1:8080" or "proxy 127.0.0.1:3128".
  target: string;
  expect: Expectations;
  signal: AbortSignal;
  timeoutMs: number;
}

export function formatStatusRanges(ranges: readonly StatusRange[]): string {
  return ranges.map((range) => (range.from === range.to ? String(range.from) : `${range.from}-${range.to}`)).join(', ');
}

export function statusMatches(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((range) => status >= range.from && status <= range.to);
}

// Checks a complete (or capped) body against the expectations; undefined when it passes.
export function bodyProblem(body: Buffer, truncated: boolean, expect: Expectations): string | undefined {
  const note = truncated ? ` (read only the first ${body.length} bytes, max_body_bytes)` : '';
  if (expect.body !== undefined && !body.includes(expect.body)) return `body does not contain ${JSON.stringify(expect.body)}${note}`;
  if (expect.bodyRegex !== undefined && !expect.bodyRegex.test(body.toString('utf8'))) return `body does not match /${expect.bodyRegex.source}/${note}`;
  return undefined;
}

const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function errorText(error: unknown, target: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = messageOf(error);
  const text = message.includes(target.replace(/^proxy /, '')) ? message : `${target}: ${message}`;
  if (code && TLS_VERIFY_CODES.has(code)) return `${text} (TLS certificate rejected; tls_skip_verify: true accepts self-signed certificates)`;
  return text;
}

// Sends one request and judges the answer; resolves with an outcome and never rejects.
export function exchange(spec: Exchange): Promise<ProbeOutcome> {
  const { expect, signal, target } = spec;
  const wantsBody = expect.body !== undefined || expect.bodyRegex !== undefined;
  return new Promise((resolve) => {
    let phase = `connecting to ${target}`;
    let settled = false;
    let request: http.ClientRequest | undefined;
    const finish = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      request?.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ ok: false, reason: `${stoppedText(signal, spec.timeoutMs)} ${phase}` });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const options: https.RequestOptions = { ...spec.request, agent: false };
      request = spec.url ? spec.module.request(spec.url, options) : spec.module.request(options);
    } catch (error) {
      return finish({ ok: false, reason: `${target}: cannot send request: ${messageOf(error)}` });
    }
    request.on('error', (error) => finish({ ok: false, reason: errorText(error, target) }));
    request.on('socket', (socket) => {
      const secure = 'encrypted' in socket;
      socket.once('connect', () => {
        if (phase.startsWith('connecting')) phase = secure ? `during the TLS handshake with ${target}` : `waiting for response headers from ${target}`;
      });
      if (secure) socket.once('secureConnect', () => (phase = `waiting for response headers from ${target}`));
    });
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      response.on('error', (error) => finish({ ok: false, reason: `${target}: response cut off: ${messageOf(error)}` }));
      if (!statusMatches(status, expect.status)) {
        const proxyError = response.headers['x-squid-error'];
        const detail = typeof proxyError === 'string' ? ` (X-Squid-Error: ${proxyError})` : '';
        return finish({ ok: false, reason: `status ${status}, expected ${formatStatusRanges(expect.status)}${detail}` });
      }
      if (expect.via && response.headers.via === undefined) {
        return finish({ ok: false, reason: `status ${status} but no Via header: the response did not come through a proxy` });
      }
      if (!wantsBody) return finish({ ok: true });
      const chunks: Buffer[] = [];
      let received = 0;
      const needle = expect.body === undefined || expect.bodyRegex !== undefined ? undefined : Buffer.from(expect.body);
      let tail = Buffer.alloc(0);
      phase = `after receiving headers (status ${status}, 0 bytes of body)`;
      const judge = (truncated: boolean) => {
        const problem = bodyProblem(Buffer.concat(chunks), truncated, expect);
        finish(problem === undefined ? { ok: true } : { ok: false, reason: problem });
      };
      response.on('data', (chunk: Buffer) => {
        const room = expect.maxBodyBytes - received;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        chunks.push(part);
        received += part.length;
        phase = `after receiving headers (status ${status}, ${received} bytes of body)`;
        // Stop as soon as a plain substring shows up, or when the cap is reached.
        if (needle) {
          const window = Buffer.concat([tail, part]);
          if (window.includes(needle)) return judge(false);
          tail = window.subarray(Math.max(0, window.length - needle.length + 1));
        }
        if (received >= expect.maxBodyBytes) judge(true);
      });
      response.on('end', () => judge(false));
    });
    request.end();
  });
}

// http: one GET or HEAD to a local web service, judged by status code and optionally by body.
import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import { defineProbe, ipAddress, type ProbeOutcome } from './kit/index.js';
import { exchange, expectStatus, headerMap, maxBodyBytes, regexText } from './http-common.js';

const httpUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a URL (write it like http://127.0.0.1:8080/health)` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must be an http:// or https:// URL, not ${url.protocol}` });
    return z.NEVER;
  }
  if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials; use headers: { Authorization: ... } instead' });
    return z.NEVER;
  }
  return url.href;
});

const options = z
  .strictObject({
    url: httpUrl,
    method: z.enum(['GET', 'HEAD']).default('GET'),
    expect_status: expectStatus,
    expect_body: z.string().min(1).optional(),
    expect_body_regex: regexText.optional(),
    host_header: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[A-Za-z0-9.:[\]_-]+$/, 'must be a host name, optionally with :port')
      .optional(),
    headers: headerMap.optional(),
    tls_skip_verify: z.boolean().default(false),
    source: ipAddress.optional(),
    max_body_bytes: maxBodyBytes,
  })
  .refine((o) => o.method !== 'HEAD' || (o.expect_body === undefined && o.expect_body_regex === undefined), {
    message: 'a HEAD response has no body: drop expect_body/expect_body_regex or use method GET',
    path: ['method'],
  });

export default defineProbe({
  type: 'http',
  summary: 'HTTP(S) GET or HEAD; checks the status code and optionally the body',
  options,
  run(opts, ctx): Promise<ProbeOutcome> {
    const url = new URL(opts.url);
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = { 'user-agent': 'healthcast-probe', ...opts.headers };
    if (opts.host_header !== undefined) headers.host = opts.host_header;
    return exchange({
      module: secure ? https : http,
      url,
      request: {
        method: opts.method,
        headers,
        ...(opts.source ? { localAddress: opts.source } : {}),
        ...(secure ? { rejectUnauthorized: !opts.tls_skip_verify } : {}),
      },
      target: url.host,
      expect: { status: opts.expect_status, body: opts.expect_body, bodyRegex: opts.expect_body_regex, maxBodyBytes: opts.max_body_bytes },
      signal: ctx.signal,
      timeoutMs: ctx.timeoutMs,
    });
  },
});

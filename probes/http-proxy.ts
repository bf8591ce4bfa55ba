// http_proxy (alias squid): fetch an absolute http:// URL through a forward proxy, the way its clients do.
import http from 'node:http';
import { z } from 'zod';
import { defineProbe, formatHostPort, ipAddress, port, type ProbeOutcome } from './kit/index.js';
import { exchange, expectStatus, maxBodyBytes } from './http-common.js';

const proxiedUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an absolute URL (write it like http://192.0.2.10/health)` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:') {
    ctx.addIssue({ code: 'custom', message: `must be an http:// URL (https through CONNECT is not supported), not ${url.protocol}` });
    return z.NEVER;
  }
  return url.href;
});

const options = z.strictObject({
  proxy: ipAddress,
  port: port.default(3128),
  url: proxiedUrl,
  expect_status: expectStatus,
  expect_via: z.boolean().default(false),
  expect_body: z.string().min(1).optional(),
  source: ipAddress.optional(),
  max_body_bytes: maxBodyBytes,
});

export default defineProbe({
  type: 'http_proxy',
  aliases: ['squid'],
  summary: 'GET an absolute http:// URL through a forward proxy (squid); checks status, Via and body',
  options,
  run(opts, ctx): Promise<ProbeOutcome> {
    const url = new URL(opts.url);
    return exchange({
      module: http,
      url: undefined,
      request: {
        host: opts.proxy,
        port: opts.port,
        method: 'GET',
        // Absolute-form request-target (RFC 9112 3.2.2): what a proxy expects from its clients.
        path: url.href,
        headers: { host: url.host, 'user-agent': 'healthcast-probe' },
        ...(opts.source ? { localAddress: opts.source } : {}),
      },
      target: `proxy ${formatHostPort(opts.proxy, opts.port)}`,
      expect: { status: opts.expect_status, body: opts.expect_body, via: opts.expect_via, maxBodyBytes: opts.max_body_bytes },
      signal: ctx.signal,
      timeoutMs: ctx.timeoutMs,
    });
  },
});

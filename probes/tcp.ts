// tcp: a full TCP handshake to every listed port; the classic "is it listening" probe.
import net from 'node:net';
import { z } from 'zod';
import { defineProbe, formatHostPort, hostOrAddress, ipAddress, port, type ProbeOutcome } from './kit/index.js';

const options = z.strictObject({
  host: hostOrAddress,
  ports: z.array(port).min(1, 'must list at least one port'),
  source: ipAddress.optional(),
});

export default defineProbe({
  type: 'tcp',
  summary: 'full TCP handshake to every listed port',
  options,
  async run(opts, ctx): Promise<ProbeOutcome> {
    const failures = (await Promise.all(opts.ports.map((p) => connectOnce(opts.host, p, opts.source, ctx.signal)))).filter(
      (failure): failure is string => failure !== undefined,
    );
    return failures.length === 0 ? { ok: true } : { ok: false, reason: failures.join('; ') };
  },
});

function connectOnce(host: string, portNumber: number, source: string | undefined, signal: AbortSignal): Promise<string | undefined> {
  const target = formatHostPort(host, portNumber);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: portNumber, ...(source ? { localAddress: source } : {}) });
    const finish = (failure: string | undefined) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(failure);
    };
    const onAbort = () => finish(`${target}: no handshake before timeout`);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => finish(`${target}: ${error.code ?? error.message}`));
  });
}

// Runs every probe of one service once, in parallel, and combines the results.
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { runProbe, type RunProbeInput } from '../../probes/run.js';
import type { CancelHook } from '../../probes/cancel.js';
import { combine, type CombinedResult, type NamedResult } from './combine.js';

export interface ServiceProbeRun {
  combined: CombinedResult;
  results: NamedResult[];
}

export interface ProbeServiceOptions {
  log: Logger;
  signal?: AbortSignal;
  // The cheaper alternative to `signal` for the service runner, which probes every service every interval.
  cancel?: CancelHook;
}

// Per service config, what every round reuses: probe labels and the service as probes see it.
interface Prepared {
  labels: string[];
  service: RunProbeInput['service'];
}

const prepared = new WeakMap<ServiceConfig, Prepared>();

function prepare(service: ServiceConfig): Prepared {
  let entry = prepared.get(service);
  if (!entry) {
    const labels = service.probes.map((probe, index) => (service.probes.length === 1 ? probe.type : `${probe.type}#${index}`));
    entry = { labels, service: { name: service.name, addresses: service.addresses } };
    prepared.set(service, entry);
  }
  return entry;
}

export async function probeService(service: ServiceConfig, options: ProbeServiceOptions): Promise<ServiceProbeRun> {
  const { labels, service: seen } = prepare(service);
  const run = (index: number): Promise<NamedResult> => {
    const probe = service.probes[index]!;
    return runProbe({
      definition: probe.definition,
      options: probe.options,
      timeoutMs: probe.timeoutMs,
      log: options.log,
      service: seen,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.cancel ? { cancel: options.cancel } : {}),
    }).then((result) => ({ label: labels[index]!, result }));
  };
  const results = service.probes.length === 1 ? [await run(0)] : await Promise.all(service.probes.map((_, index) => run(index)));
  return { combined: combine(results, service.require), results };
}

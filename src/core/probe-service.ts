// Runs every probe of one service once, in parallel, and combines the results.
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { runProbe } from '../../probes/run.js';
import { combine, type CombinedResult, type NamedResult } from './combine.js';

export interface ServiceProbeRun {
  combined: CombinedResult;
  results: NamedResult[];
}

export async function probeService(service: ServiceConfig, options: { log: Logger; signal?: AbortSignal }): Promise<ServiceProbeRun> {
  const results = await Promise.all(
    service.probes.map(async (probe, index): Promise<NamedResult> => ({
      label: service.probes.length === 1 ? probe.type : `${probe.type}#${index}`,
      result: await runProbe({
        definition: probe.definition,
        options: probe.options,
        timeoutMs: probe.timeoutMs,
        log: options.log,
        service: { name: service.name, addresses: service.addresses },
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    })),
  );
  return { combined: combine(results, service.require), results };
}

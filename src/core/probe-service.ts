// Runs every probe of one service once, in parallel, and combines the results.
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ProbeResult } from '../../probes/types.js';
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

// A service's probes ready to run round after round: the inputs and labels are made once, not every interval.
export class PreparedProbes {
  private readonly inputs: RunProbeInput[];
  private readonly labels: string[];

  constructor(
    private readonly service: ServiceConfig,
    options: ProbeServiceOptions,
  ) {
    const single = service.probes.length === 1;
    const seen = { name: service.name, addresses: service.addresses };
    this.labels = service.probes.map((probe, index) => (single ? probe.type : `${probe.type}#${index}`));
    this.inputs = service.probes.map((probe) => ({
      definition: probe.definition,
      options: probe.options,
      timeoutMs: probe.timeoutMs,
      log: options.log,
      service: seen,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.cancel ? { cancel: options.cancel } : {}),
    }));
  }

  run(): Promise<ServiceProbeRun> {
    if (this.inputs.length === 1) return runProbe(this.inputs[0]!).then(this.combineOne);
    return Promise.all(this.inputs.map((input) => runProbe(input))).then(this.combineAll);
  }

  private readonly combineOne = (result: ProbeResult): ServiceProbeRun => this.combineAll([result]);

  private readonly combineAll = (all: ProbeResult[]): ServiceProbeRun => {
    const results = all.map((result, index): NamedResult => ({ label: this.labels[index]!, result }));
    return { combined: combine(results, this.service.require), results };
  };
}

export function probeService(service: ServiceConfig, options: ProbeServiceOptions): Promise<ServiceProbeRun> {
  return new PreparedProbes(service, options).run();
}

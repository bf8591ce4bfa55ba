// Runs every probe of one service once, in parallel, and combines the results.
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ProbeResult } from '../../probes/kit/index.js';
import { CancelGroup, ProbeRunner, type RunProbeInput } from './probe-run/run.js';
import { combine, type CombinedResult, type NamedResult } from './combine.js';

export interface ServiceProbeRun {
  combined: CombinedResult; // the probes with effect: down, folded with `require` (a pass when there are none)
  results: NamedResult[];
  degrade?: CombinedResult; // the probes with effect: degrade, all of which must pass (absent when there are none)
}

export interface ProbeServiceOptions {
  log: Logger;
  // Aborts the running round's probes (the service stopping).
  signal?: AbortSignal;
  // Whose clock times the probes; the system clock unless the owner brings one (tests: ManualClock).
  runner?: ProbeRunner;
}

// A service's probes ready to run round after round: the inputs and labels are made once, not every interval.
export class PreparedProbes {
  private readonly inputs: RunProbeInput[];
  private readonly labels: string[];
  private readonly runner: ProbeRunner;
  // The service's signal, listened to once here rather than by every run.
  private readonly group: CancelGroup | undefined;
  // Which results count toward withdrawal and which only toward the degraded state; undefined when all are `down`.
  private readonly degrading: boolean[] | undefined;

  constructor(
    private readonly service: ServiceConfig,
    options: ProbeServiceOptions,
  ) {
    this.runner = options.runner ?? new ProbeRunner();
    const single = service.probes.length === 1;
    const seen = { name: service.name, addresses: service.addresses };
    this.labels = service.probes.map((probe, index) => (single ? probe.type : `${probe.type}#${index}`));
    this.inputs = service.probes.map((probe) => ({
      definition: probe.definition,
      options: probe.options,
      timeoutMs: probe.timeoutMs,
      log: options.log,
      service: seen,
    }));
    this.group = options.signal ? new CancelGroup(options.signal) : undefined;
    const degrading = service.probes.map((probe) => probe.effect === 'degrade');
    this.degrading = degrading.includes(true) ? degrading : undefined;
  }

  run(): Promise<ServiceProbeRun> {
    if (this.inputs.length === 1) return this.runner.run(this.inputs[0]!, this.group).then(this.combineOne);
    return Promise.all(this.inputs.map((input) => this.runner.run(input, this.group))).then(this.combineAll);
  }

  private readonly combineOne = (result: ProbeResult): ServiceProbeRun => this.combineAll([result]);

  private readonly combineAll = (all: ProbeResult[]): ServiceProbeRun => {
    const results = all.map((result, index): NamedResult => ({ label: this.labels[index]!, result }));
    const degrading = this.degrading;
    if (!degrading) return { combined: combine(results, this.service.require), results };
    const down = results.filter((_result, index) => !degrading[index]);
    const degrade = combine(
      results.filter((_result, index) => degrading[index]),
      'all',
    );
    return { combined: combine(down, this.service.require), results, degrade };
  };
}

export function probeService(service: ServiceConfig, options: ProbeServiceOptions): Promise<ServiceProbeRun> {
  return new PreparedProbes(service, options).run();
}

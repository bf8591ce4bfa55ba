// Pure: how long until a service's next probe round. ExaBGP's --fast-interval: a service in transition (one failure
// seen while up, one success seen while down) is re-probed sooner, so rise/fall settle in fall x fast_interval.
import type { ServiceConfig } from '../config/types.js';
import { isTransient, type Phase } from './state-machine.js';

export function probeIntervalMs(service: Pick<ServiceConfig, 'intervalMs' | 'fastIntervalMs'>, phase: Phase): number {
  if (service.fastIntervalMs === undefined || !isTransient(phase)) return service.intervalMs;
  return Math.min(service.fastIntervalMs, service.intervalMs);
}

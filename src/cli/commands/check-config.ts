// `healthcast check-config`: validate without touching the system; one summary line per service.
import { formatDuration } from '../../config/duration.js';
import type { ServiceConfig } from '../../config/types.js';
import { loadOrReport } from '../load-or-report.js';
import { ExitCode, type CliIO } from '../output.js';

export async function checkConfigCommand(file: string | undefined, io: CliIO): Promise<number> {
  const config = await loadOrReport(file, io);
  if (!config) return ExitCode.USAGE_OR_CONFIG;
  io.out(`${config.file}: OK, ${config.services.length} service(s)`);
  for (const service of config.services) io.out(`  ${summarize(service)}`);
  return ExitCode.OK;
}

export function summarize(service: ServiceConfig): string {
  const require = typeof service.require === 'string' ? service.require : `at least ${service.require.at_least}`;
  return [
    `${service.name}:`,
    `${service.addresses.join(', ')}`,
    `(${service.announce} on ${service.interface})`,
    `every ${formatDuration(service.intervalMs)}, timeout ${formatDuration(service.timeoutMs)}, rise ${service.rise}, fall ${service.fall};`,
    `probes ${service.probes.map((probe) => probe.type).join(', ')} (require ${require})`,
    `[${service.origin}]`,
  ].join(' ');
}

// `healthcast probe SERVICE`: run that service's probes once and print why; touches nothing.
import { probeService } from '../../core/probe-service.js';
import { silentLogger } from '../../log.js';
import { loadOrReport } from '../load-or-report.js';
import { ExitCode, type CliIO } from '../output.js';

export async function probeCommand(file: string | undefined, serviceName: string | undefined, io: CliIO): Promise<number> {
  if (!serviceName) {
    io.err('healthcast probe: name the service to probe (healthcast probe [--config FILE] SERVICE)');
    return ExitCode.USAGE_OR_CONFIG;
  }
  const config = await loadOrReport(file, io);
  if (!config) return ExitCode.USAGE_OR_CONFIG;
  const service = config.services.find((candidate) => candidate.name === serviceName);
  if (!service) {
    io.err(`healthcast probe: no service named "${serviceName}" (known: ${config.services.map((s) => s.name).join(', ') || 'none'})`);
    return ExitCode.USAGE_OR_CONFIG;
  }
  const { combined, results } = await probeService(service, { log: silentLogger() });
  for (const { label, result } of results) {
    const latency = `${result.durationMs.toFixed(1)}ms`.padStart(9);
    io.out(`${label.padEnd(14)} ${result.ok ? 'ok  ' : 'FAIL'} ${latency}${result.reason ? `  ${result.reason}` : ''}`);
  }
  io.out(`${service.name}: ${combined.ok ? 'healthy' : 'unhealthy'} (${combined.reason})`);
  return combined.ok ? ExitCode.OK : ExitCode.FAILED;
}

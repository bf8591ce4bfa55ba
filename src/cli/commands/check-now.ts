// `healthcast check-now [SERVICE...]`: probe now instead of at the next interval, then show the status.
import { agentRequest } from '../agent-request.js';
import type { OpsValues } from '../../control/cli-options.js';
import { formatStatus, type StatusJson } from '../../control/status.js';
import { ExitCode, type CliIO } from '../output.js';
import { withAgent } from './status.js';

export async function checkNowCommand(values: OpsValues, names: readonly string[], io: CliIO): Promise<number> {
  return withAgent('check-now', values, io, async (socket) => {
    const status = (await agentRequest(socket, { command: 'check-now', services: [...names] }, { timeoutMs: 60_000 })) as StatusJson;
    const shown = names.length === 0 ? status : { ...status, services: status.services.filter((service) => names.includes(service.name)) };
    io.out(values.json ? JSON.stringify(shown, null, 2) : formatStatus(shown));
    return ExitCode.OK;
  });
}

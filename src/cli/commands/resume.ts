// `healthcast resume SERVICE... | --all`: ends the maintenance; the services are announced again once healthy.
import { agentRequest } from '../agent-request.js';
import type { OpsValues } from '../../control/cli-options.js';
import type { ResumeResult } from '../../core/agent.js';
import { ExitCode, type CliIO } from '../output.js';
import { selectionOf } from './drain.js';
import { withAgent } from './status.js';

export async function resumeCommand(values: OpsValues, names: readonly string[], io: CliIO): Promise<number> {
  const selection = selectionOf('resume', values, names, io);
  if (!selection) return ExitCode.USAGE_OR_CONFIG;
  return withAgent('resume', values, io, async (socket) => {
    const result = (await agentRequest(socket, { command: 'resume', ...selection, by: 'cli' }, { timeoutMs: 60_000 })) as ResumeResult;
    const resumed = result.services.filter((name) => !result.heldByFile?.includes(name));
    if (resumed.length > 0) io.out(`resumed: ${resumed.join(', ')} (announced again once healthy)`);
    if (result.heldByFile?.length) io.out(`still disabled by a file in disable_dir: ${result.heldByFile.join(', ')} (remove the file to resume)`);
    if (result.notDrained.length > 0) io.out(`not drained: ${result.notDrained.join(', ')}`);
    if (result.services.length === 0 && result.notDrained.length === 0 && !result.heldByFile?.length) io.out('nothing was drained');
    return ExitCode.OK;
  });
}

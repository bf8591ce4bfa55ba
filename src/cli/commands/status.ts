// `healthcast status [--json]`: asks the running agent over the control socket.
import { agentRequest } from '../agent-request.js';
import { AgentStoppedError } from '../../control/agent-process.js';
import { locateControlSocket } from '../../control/locate.js';
import { formatStatus, type StatusJson } from '../../control/status.js';
import type { OpsValues } from '../../control/cli-options.js';
import { messageOf } from '../../errors.js';
import { ExitCode, type CliIO } from '../output.js';

export async function statusCommand(values: OpsValues, io: CliIO): Promise<number> {
  return withAgent('status', values, io, async (socket) => {
    const status = (await agentRequest(socket, { command: 'status' }, { timeoutMs: 10_000 })) as StatusJson;
    io.out(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    return ExitCode.OK;
  });
}

// Finds the socket and reports any failure as one line and exit 1 (3 when the agent is stopped; 2 for a usage error
// the action reports).
export async function withAgent(command: string, values: OpsValues, io: CliIO, action: (socket: string) => Promise<number>): Promise<number> {
  try {
    const socket = await locateControlSocket({ config: values.config, socket: values.socket });
    return await action(socket);
  } catch (error) {
    io.err(`healthcast ${command}: ${messageOf(error)}`);
    return error instanceof AgentStoppedError ? ExitCode.AGENT_STOPPED : ExitCode.FAILED;
  }
}

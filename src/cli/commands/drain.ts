// `healthcast drain SERVICE... | --all`: maintenance by service; returns once the addresses are withdrawn.
import { agentRequest } from '../agent-request.js';
import type { OpsValues } from '../../control/cli-options.js';
import type { DrainResult } from '../../core/agent.js';
import { ExitCode, type CliIO } from '../output.js';
import { withAgent } from './status.js';

export async function drainCommand(values: OpsValues, names: readonly string[], io: CliIO): Promise<number> {
  const selection = selectionOf('drain', values, names, io);
  if (!selection) return ExitCode.USAGE_OR_CONFIG;
  return withAgent('drain', values, io, async (socket) => {
    const result = (await agentRequest(socket, { command: 'drain', ...selection, by: 'cli' }, { timeoutMs: 120_000 })) as DrainResult;
    const already = result.services.filter((name) => !result.newly.includes(name));
    if (result.newly.length > 0) io.out(`drained: ${result.newly.join(', ')}`);
    if (already.length > 0) io.out(`already drained: ${already.join(', ')}`);
    if (result.services.length === 0) io.out('no services to drain');
    for (const error of result.errors) io.err(`healthcast drain: withdrawal incomplete: ${error}`);
    // Deliberate withdrawals always withdraw, even the last advertisement (keep_last does not apply): say so.
    for (const name of result.alone ?? [])
      io.err(`healthcast drain: warning: no other router advertised ${name}: it now has no advertiser (healthcast resume ${name} to announce it again)`);
    return result.errors.length > 0 ? ExitCode.FAILED : ExitCode.OK;
  });
}

// SERVICE... or --all, exactly one of them.
export function selectionOf(command: string, values: OpsValues, names: readonly string[], io: CliIO): { services: string[] } | { all: true } | undefined {
  if (values.all && names.length > 0) {
    io.err(`healthcast ${command}: name services or give --all, not both`);
    return undefined;
  }
  if (values.all) return { all: true };
  if (names.length === 0) {
    io.err(`healthcast ${command}: name the services (healthcast ${command} SERVICE...) or give --all`);
    return undefined;
  }
  return { services: [...names] };
}

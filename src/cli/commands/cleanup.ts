// `healthcast cleanup`: removes everything the ownership record says healthcast added, with no agent running
// (systemd ExecStopPost= after a crash or kill -9). The reconciler does it, with nothing desired: the same single writer.
import fs from 'node:fs/promises';
import { controlRequest } from '../../control/client.js';
import { stoppedAgent } from '../../control/agent-process.js';
import { readOpsSettings } from '../../control/locate.js';
import type { OpsValues } from '../../control/cli-options.js';
import { Reconciler } from '../../routing/reconciler.js';
import { createBackend, recordHasBgp } from '../../core/routing-factory.js';
import { FileOwnershipStore } from '../../routing/ownership.js';
import { removeIdleDrainInterface, type DrainInterfaceRemoval } from '../../routing/drain-interface.js';
import { silentLogger } from '../../log.js';
import { messageOf } from '../../errors.js';
import { describeEntry } from '../../routing/types.js';
import { ExitCode, type CliIO } from '../output.js';

export async function cleanupCommand(values: OpsValues, io: CliIO): Promise<number> {
  let settings;
  try {
    settings = await readOpsSettings(values.config);
  } catch (error) {
    io.err(`healthcast cleanup: ${messageOf(error)}`);
    return ExitCode.USAGE_OR_CONFIG;
  }
  const socket = values.socket ?? settings.controlSocket;
  const agentAlive = await controlRequest(socket, { command: 'ping' }, { timeoutMs: 2000 }).then(
    () => true,
    () => false,
  );
  // A stopped agent (SIGTSTP) answers nothing but is there, and puts everything back at SIGCONT.
  const stopped = stoppedAgent(socket);
  if (stopped !== undefined && !values.force) {
    io.err(
      `healthcast cleanup: the agent (pid ${stopped}) is stopped, not gone: it announces again at kill -CONT ${stopped}; stop it instead (kill -TERM ${stopped}; kill -CONT ${stopped}), or use --force`,
    );
    return ExitCode.AGENT_STOPPED;
  }
  if (agentAlive && !values.force) {
    io.err(`healthcast cleanup: an agent is running (it answers on ${socket}); stop it instead (it withdraws on SIGTERM), or use --force`);
    return ExitCode.FAILED;
  }
  const reconciler = new Reconciler({
    backend: createBackend({ ...settings, bgp: await recordHasBgp(settings.stateDir) }),
    ownership: new FileOwnershipStore(settings.stateDir),
    desired: () => [],
    log: silentLogger(),
    driftIntervalMs: 2 ** 30,
  });
  const report = await reconciler.start();
  await reconciler.stop();
  const errors = [...report.errors];
  // The drain interface once its addresses are gone; not under a running agent (--force), which may be about to park.
  let drainInterface: DrainInterfaceRemoval | undefined;
  if (!agentAlive) {
    await fs.rm(socket, { force: true }).catch(() => undefined);
    drainInterface = await removeIdleDrainInterface({ ip: 'ip', timeoutMs: 30_000 }, settings.drainInterface).catch((error: unknown) => {
      errors.push(messageOf(error));
      return undefined;
    });
  }
  for (const entry of report.removed) io.out(`removed ${describeEntry(entry)}`);
  if (drainInterface === 'removed') io.out(`removed the drain interface ${settings.drainInterface}`);
  for (const error of errors) io.err(`healthcast cleanup: ${error}`);
  if (errors.length > 0) return ExitCode.FAILED;
  if (report.removed.length === 0 && drainInterface !== 'removed') io.out('nothing to clean up');
  return ExitCode.OK;
}

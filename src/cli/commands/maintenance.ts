// `healthcast maintenance [--service S]... [--timeout DUR] [--stay-drained-on-failure] [--wait-for-resume] -- COMMAND ARGS...`:
// drain, wait for the withdrawal, run COMMAND, resume, and exit with COMMAND's code. Replaces
// `pkill -TSTP dns-probe && ... && pkill -CONT dns-probe`, which leaves everything withdrawn when a step in between fails.
import { locateControlSocket } from '../../control/locate.js';
import type { OpsValues } from '../../control/cli-options.js';
import type { DrainResult, ResumeResult } from '../../core/agent.js';
import { parseDuration } from '../../config/duration.js';
import { afterCommand, WrapperExit } from '../../maintenance/wrapper.js';
import { runCommand, type RunningCommand } from '../../maintenance/run-command.js';
import { resolveCommand } from '../../maintenance/resolve-command.js';
import { AgentStoppedError, stoppedAgent } from '../../control/agent-process.js';
import { ownStartTicks } from '../../systemd/process-state.js';
import { messageOf } from '../../errors.js';
import { agentRequest } from '../agent-request.js';
import { ExitCode, type CliIO } from '../output.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

// The limits of the wrapper's two requests (docs/operations.md): the drain includes the services' graceful `drain`.
export const DRAIN_REQUEST_MS = 120_000;
export const RESUME_REQUEST_MS = 60_000;

// A signal that ended a wait for the agent (not the command's): the wrapper exits with the signal's code at once.
class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

export async function maintenanceCommand(values: OpsValues, command: readonly string[], io: CliIO): Promise<number> {
  if (command.length === 0) {
    io.err('healthcast maintenance: give the command after --: healthcast maintenance [--service S]... -- COMMAND ARGS...');
    return ExitCode.USAGE_OR_CONFIG;
  }
  const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout);
  if (values.timeout !== undefined && (timeoutMs === undefined || timeoutMs <= 0)) {
    io.err(`healthcast maintenance: --timeout: not a duration: ${values.timeout} (e.g. 90s, 5m)`);
    return ExitCode.USAGE_OR_CONFIG;
  }
  const say = (line: string) => io.err(`healthcast maintenance: ${line}`);
  // Before anything is withdrawn: a command that cannot run must not cost a drain.
  const resolved = resolveCommand(command[0]!, { PATH: process.env.PATH });
  if (!resolved.ok) {
    say(`cannot run the command: ${resolved.reason}; nothing drained`);
    return resolved.exitCode;
  }
  // From the first moment on, an interrupt must not leave the services drained: it is remembered (and passed on to the
  // command once it runs) and handled at the next step. While the wrapper waits on a stopped agent it ends the wait at
  // once: a stopped agent may not answer for hours, and the request it may still read later is not acted on.
  let interrupted: NodeJS.Signals | undefined;
  let running: RunningCommand | undefined;
  let socket: string | undefined;
  const cancel = new AbortController();
  const handlers = FORWARDED.map(
    (signal) =>
      [
        signal,
        () => {
          interrupted ??= signal;
          running?.kill(signal);
          if (!running && socket !== undefined && stoppedAgent(socket) !== undefined) cancel.abort(new Interrupted(signal));
        },
      ] as const,
  );
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    return await drainRunResume(values, command, timeoutMs, say, {
      interrupted: () => interrupted,
      located: (path) => {
        socket = path;
      },
      cancel: cancel.signal,
      started: (command) => {
        running = command;
        if (interrupted) command.kill(interrupted);
      },
    });
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}

interface Interrupts {
  interrupted(): NodeJS.Signals | undefined;
  located(socket: string): void;
  cancel: AbortSignal;
  started(command: RunningCommand): void;
}

const signalExit = (signal: NodeJS.Signals) => afterCommand({ exitCode: null, signal, timedOut: false }, false).exitCode;

async function drainRunResume(
  values: OpsValues,
  command: readonly string[],
  timeoutMs: number | undefined,
  say: (line: string) => void,
  interrupts: Interrupts,
): Promise<number> {
  let socket: string;
  let drained: DrainResult;
  const services = values.service ?? [];
  const by = `maintenance (pid ${process.pid})`;
  const stayDrained = values['stay-drained-on-failure'] ?? false;
  try {
    socket = await locateControlSocket({ config: values.config, socket: values.socket });
    interrupts.located(socket);
    const early = interrupts.interrupted();
    if (early) {
      say(`interrupted by ${early} before anything was drained; not running the command`);
      return signalExit(early);
    }
    // The hold names this process, so the agent ends it should we die without resuming (hold-watch.ts).
    const owner = { pid: process.pid, pid_start: ownStartTicks(), ...(stayDrained ? { stay_drained: true } : {}) };
    drained = (await agentRequest(
      socket,
      { command: 'drain', ...(services.length > 0 ? { services } : { all: true }), by, ...owner },
      {
        timeoutMs: DRAIN_REQUEST_MS,
        waitForResume: values['wait-for-resume'] ?? false,
        signal: interrupts.cancel,
        onWaiting: (pid) => say(`the agent (pid ${pid}) is stopped; waiting for kill -CONT ${pid} (--wait-for-resume; Ctrl-C or SIGTERM gives up at once)`),
      },
    )) as DrainResult;
  } catch (error) {
    if (error instanceof Interrupted) {
      say(`interrupted by ${error.signal} while waiting for the stopped agent; nothing drained by this run, not running the command`);
      return signalExit(error.signal);
    }
    if (error instanceof AgentStoppedError) {
      say(`${error.message}. Not running the command: nothing drained (give --wait-for-resume to wait for the agent)`);
      return WrapperExit.WRAPPER_FAILED;
    }
    say(`cannot drain, not running the command: ${messageOf(error)}`);
    return WrapperExit.WRAPPER_FAILED;
  }
  // Only what this run drained is resumed: a service an operator drained before stays drained.
  const resume = async (): Promise<boolean> => {
    if (drained.newly.length === 0) return true;
    try {
      const result = (await agentRequest(socket, { command: 'resume', services: drained.newly, by }, { timeoutMs: RESUME_REQUEST_MS })) as ResumeResult;
      say(`resumed ${result.services.join(', ') || 'nothing'}`);
      return true;
    } catch (error) {
      say(`could not resume ${drained.newly.join(', ')}: ${messageOf(error)}; run: healthcast resume ${drained.newly.join(' ')}`);
      return false;
    }
  };
  if (drained.errors.length > 0) {
    say(`withdrawal incomplete, not running the command: ${drained.errors.join('; ')}`);
    await resume();
    return WrapperExit.WRAPPER_FAILED;
  }
  const early = interrupts.interrupted();
  if (early) {
    say(`interrupted by ${early} before the command ran; not running it`);
    await resume();
    return signalExit(early);
  }
  say(`${describeDrain(drained)}; running ${command.join(' ')}`);

  const running = runCommand(command, { timeoutMs, stdio: 'inherit' });
  interrupts.started(running);
  const outcome = await running.done;
  const interrupted = interrupts.interrupted();
  const decision = afterCommand(outcome, stayDrained);
  const how = outcome.spawnError
    ? `could not be started (${outcome.spawnError})`
    : outcome.timedOut
      ? `timed out after ${values.timeout}`
      : outcome.signal
        ? `was killed by ${outcome.signal}`
        : `exited ${outcome.exitCode}`;
  say(`command ${how}${interrupted ? ` (interrupted by ${interrupted})` : ''} after ${Math.round(outcome.durationMs)} ms`);
  if (!decision.resume) {
    say(`--stay-drained-on-failure: ${drained.newly.join(', ')} stay drained; resume with: healthcast resume ${drained.newly.join(' ')}`);
    return decision.exitCode;
  }
  const resumed = await resume();
  return !resumed && decision.exitCode === 0 ? WrapperExit.WRAPPER_FAILED : decision.exitCode;
}

// What this run changed: the services it drained, and apart from them those it found drained and leaves so.
export function describeDrain(drained: Pick<DrainResult, 'services' | 'newly'>): string {
  if (drained.services.length === 0) return 'nothing to drain (no services)';
  const already = drained.services.filter((name) => !drained.newly.includes(name));
  const changed = drained.newly.length > 0 ? `drained ${drained.newly.join(', ')}` : 'drained nothing';
  return already.length > 0 ? `${changed} (already drained before, left drained: ${already.join(', ')})` : changed;
}

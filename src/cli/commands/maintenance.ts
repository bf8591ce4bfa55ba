// `healthcast maintenance [--service S]... [--timeout DUR] [--stay-drained-on-failure] -- COMMAND ARGS...`:
// drain, wait for the withdrawal, run COMMAND, resume, and exit with COMMAND's code. Replaces
// `pkill -TSTP dns-probe && ... && pkill -CONT dns-probe`, which leaves everything withdrawn when a step in between fails.
import { controlRequest } from '../../control/client.js';
import { locateControlSocket } from '../../control/locate.js';
import type { OpsValues } from '../../control/cli-options.js';
import type { DrainResult, ResumeResult } from '../../core/agent.js';
import { parseDuration } from '../../config/duration.js';
import { afterCommand, WrapperExit } from '../../maintenance/wrapper.js';
import { runCommand, type RunningCommand } from '../../maintenance/run-command.js';
import { messageOf } from '../../errors.js';
import { ExitCode, type CliIO } from '../output.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

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
  // From the first moment on, an interrupt must not leave the services drained: it is remembered (and passed on to the
  // command once it runs) and handled at the next step.
  let interrupted: NodeJS.Signals | undefined;
  let running: RunningCommand | undefined;
  const handlers = FORWARDED.map((signal) => [signal, () => {
    interrupted = signal;
    running?.kill(signal);
  }] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    return await drainRunResume(values, command, timeoutMs, say, {
      interrupted: () => interrupted,
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
  started(command: RunningCommand): void;
}

async function drainRunResume(values: OpsValues, command: readonly string[], timeoutMs: number | undefined, say: (line: string) => void, interrupts: Interrupts): Promise<number> {
  let socket: string;
  let drained: DrainResult;
  const services = values.service ?? [];
  const by = `maintenance (pid ${process.pid})`;
  try {
    socket = await locateControlSocket({ config: values.config, socket: values.socket });
    drained = (await controlRequest(socket, { command: 'drain', ...(services.length > 0 ? { services } : { all: true }), by }, { timeoutMs: 120_000 })) as DrainResult;
  } catch (error) {
    say(`cannot drain, not running the command: ${messageOf(error)}`);
    return WrapperExit.WRAPPER_FAILED;
  }
  // Only what this run drained is resumed: a service an operator drained before stays drained.
  const resume = async (): Promise<boolean> => {
    if (drained.newly.length === 0) return true;
    try {
      const result = (await controlRequest(socket, { command: 'resume', services: drained.newly, by }, { timeoutMs: 60_000 })) as ResumeResult;
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
    return afterCommand({ exitCode: null, signal: early, timedOut: false }, false).exitCode;
  }
  say(`drained ${drained.services.join(', ') || 'nothing (no services)'}; running ${command.join(' ')}`);

  const running = runCommand(command, { timeoutMs, stdio: 'inherit' });
  interrupts.started(running);
  const outcome = await running.done;
  const interrupted = interrupts.interrupted();
  const decision = afterCommand(outcome, values['stay-drained-on-failure'] ?? false);
  const how = outcome.spawnError ? `could not be started (${outcome.spawnError})` : outcome.timedOut ? `timed out after ${values.timeout}` : outcome.signal ? `was killed by ${outcome.signal}` : `exited ${outcome.exitCode}`;
  say(`command ${how}${interrupted ? ` (interrupted by ${interrupted})` : ''} after ${Math.round(outcome.durationMs)} ms`);
  if (!decision.resume) {
    say(`--stay-drained-on-failure: ${drained.newly.join(', ')} stay drained; resume with: healthcast resume ${drained.newly.join(' ')}`);
    return decision.exitCode;
  }
  const resumed = await resume();
  return !resumed && decision.exitCode === 0 ? WrapperExit.WRAPPER_FAILED : decision.exitCode;
}

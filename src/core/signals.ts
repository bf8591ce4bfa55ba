// Maps Unix signals to agent operations the way operators expect from `pkill -TSTP/-CONT/-HUP healthcast`.
import type { Agent } from './agent.js';
import type { AgentConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { isHealthcastError, messageOf } from '../errors.js';

export interface SignalDeps {
  agent: Agent;
  log: Logger;
  reloadConfig: () => Promise<AgentConfig>;
  exit: (code: number) => void;
  // Stops this process (SIGSTOP to itself) once everything is withdrawn.
  stopSelf: () => void;
  // Told of every reload: accepted or rejected (metrics).
  onReload?: (ok: boolean) => void;
  target?: NodeJS.EventEmitter & { on(event: NodeJS.Signals, listener: () => void): unknown };
}

export interface SignalController {
  // For tests: resolves when what the signals started (pause/resume, reload, shutdown and exit) has finished.
  settled(): Promise<void>;
  dispose(): void;
}

// Two check-phase turns have a poll phase between them, where libuv dispatches signals that arrived meanwhile.
const pollPhasePassed = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

export function installSignals(deps: SignalDeps): SignalController {
  const target = deps.target ?? process;
  let wantPaused = false;
  let converging: Promise<void> | undefined;
  let shuttingDown = false;

  // The last signal wins: TSTP/CONT only set the wish, one loop converges the agent to it.
  const converge = (): Promise<void> => {
    if (converging) return converging;
    converging = (async () => {
      for (;;) {
        if (shuttingDown) return;
        const mode = deps.agent.mode;
        if (wantPaused && mode === 'running') {
          await deps.agent.pause();
          continue;
        }
        if (wantPaused && mode === 'paused') {
          // A SIGCONT the kernel has delivered but whose handler has not run yet would be used up before our SIGSTOP
          // and leave the process stopped for good: let one poll phase dispatch it, then decide again.
          await pollPhasePassed();
          if (!wantPaused || shuttingDown) continue;
          deps.log.info('stopping the process (SIGSTOP); send SIGCONT to resume');
          deps.stopSelf();
          // Let a SIGCONT that arrived meanwhile run its handler before deciding again.
          await new Promise((resolve) => setImmediate(resolve));
          if (wantPaused) return;
          continue;
        }
        if (!wantPaused && mode === 'paused') {
          await deps.agent.resume();
          continue;
        }
        return;
      }
    })()
      .catch((error: unknown) => deps.log.error({ err: error }, 'pause/resume failed'))
      .finally(() => {
        converging = undefined;
      });
    return converging;
  };

  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    deps.log.info({ signal }, 'withdrawing everything and exiting');
    stopping = (converging ?? Promise.resolve())
      .then(() => deps.agent.shutdown())
      .then(
        () => deps.exit(0),
        (error: unknown) => {
          deps.log.fatal({ err: error }, 'shutdown failed');
          deps.exit(1);
        },
      );
  };

  let stopping: Promise<void> | undefined;
  let reloading = Promise.resolve();
  const reload = () => {
    reloading = reloading.then(async () => {
      if (shuttingDown) return;
      try {
        const next = await deps.reloadConfig();
        await deps.agent.reload(next);
        deps.onReload?.(true);
      } catch (error) {
        deps.onReload?.(false);
        const details = isHealthcastError(error) ? error.details : [];
        deps.log.error({ errors: details, error: messageOf(error) }, 'reload rejected; the running configuration stays');
      }
    });
  };

  const handlers: Partial<Record<NodeJS.Signals, () => void>> = {
    SIGTERM: () => shutdown('SIGTERM'),
    SIGINT: () => shutdown('SIGINT'),
    SIGTSTP: () => {
      wantPaused = true;
      void converge();
    },
    SIGCONT: () => {
      if (!wantPaused && deps.agent.mode !== 'paused') return;
      wantPaused = false;
      void converge();
    },
    SIGHUP: reload,
    SIGUSR1: () => deps.agent.logStates(),
  };
  for (const [signal, handler] of Object.entries(handlers)) target.on(signal as NodeJS.Signals, handler);

  return {
    async settled() {
      await converging;
      await reloading;
      await stopping;
    },
    dispose() {
      for (const [signal, handler] of Object.entries(handlers)) target.removeListener(signal, handler);
    },
  };
}

// `healthcast run`: the agent process. Everything process-wide (signals, title, exit) lives here, not in the agent.
import { buildAgent } from '../../core/agent.js';
import { installSignals } from '../../core/signals.js';
import { createRouting } from '../../core/routing-factory.js';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../log.js';
import { loadOrReport } from '../load-or-report.js';
import { ExitCode, type CliIO } from '../output.js';

const FATAL_SHUTDOWN_GRACE_MS = 5000;

export async function runCommand(file: string | undefined, options: { logLevel?: string | undefined }, io: CliIO): Promise<number> {
  const config = await loadOrReport(file, io);
  if (!config) return ExitCode.USAGE_OR_CONFIG;
  process.title = 'healthcast';
  const log = createLogger({ level: options.logLevel ?? config.logLevel });
  const agent = buildAgent({ config, log, routing: createRouting(log) });

  // An unexpected error must not leave addresses announced: withdraw, then exit non-zero.
  const fatal = (error: unknown) => {
    log.fatal({ err: error }, 'uncaught error: withdrawing everything and exiting');
    const timer = setTimeout(() => process.exit(1), FATAL_SHUTDOWN_GRACE_MS);
    void agent.shutdown().finally(() => {
      clearTimeout(timer);
      process.exit(1);
    });
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  installSignals({
    agent,
    log,
    reloadConfig: () => loadConfig(config.file),
    exit: (code) => process.exit(code),
    stopSelf: () => process.kill(process.pid, 'SIGSTOP'),
  });
  // While paused nothing else holds the event loop open, and the process must outlive SIGSTOP/SIGCONT.
  setInterval(() => undefined, 1 << 30);
  await agent.start();
  return new Promise<number>(() => undefined);
}

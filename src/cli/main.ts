// CLI entry: parses arguments and dispatches to one command module, loaded only when called: loading every command
// took ~450 ms before any ran (each `status` paid it, and `maintenance` could not catch a signal until then).
import { parseArgs } from 'node:util';
import { packageVersion } from '../version.js';
import { FRR_CONFIG_HELP, frrConfigOptions } from './commands/frr-config-options.js';
import { OPS_HELP, OPS_OPTIONS_HELP, opsOptions } from '../control/cli-options.js';
import { ExitCode, processIO, type CliIO } from './output.js';

export const HELP = `healthcast: health-probe anycast agent for FRR

Usage:
  healthcast run [--config FILE] [--log-level LEVEL]   run the agent (foreground, JSON logs on stdout)
  healthcast check-config [--config FILE]             validate the configuration; exit 0, or 2 with every error
  healthcast probe [--config FILE] SERVICE            run one service's probes once and print the results;
                                                      exit 0 healthy, 1 unhealthy, 2 config error; touches nothing
${FRR_CONFIG_HELP}
${OPS_HELP}
  healthcast --version | --help

Options:
  -c, --config FILE     main configuration (default /etc/healthcast/healthcast.yaml)
  --log-level LEVEL     fatal, error, warn, info, debug or trace (overrides log_level)
${OPS_OPTIONS_HELP}

Signals (run): TERM/INT withdraw everything (after the graceful drain, default 2s) and exit 0; TSTP does the same
and stops the process;
CONT resumes (services need 'rise' successes again); HUP reloads the configuration; USR1 logs every service's state.
Docs: docs/guide.md (operator guide), docs/operations.md (service, maintenance, status, metrics), docs/probes.md, docs/architecture.md`;

// The options each command reads (all share one parseArgs table); any other one is a usage error, not silently ignored.
const COMMON_OPTIONS = ['help', 'version'];
const AGENT_OPTIONS = ['config', 'socket'];
export const COMMAND_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  run: ['config', 'log-level', 'daemon', 'pidfile'],
  'check-config': ['config'],
  probe: ['config'],
  'frr-config': ['config', ...Object.keys(frrConfigOptions)],
  status: [...AGENT_OPTIONS, 'json'],
  'check-now': [...AGENT_OPTIONS, 'json'],
  drain: [...AGENT_OPTIONS, 'all'],
  resume: [...AGENT_OPTIONS, 'all'],
  cleanup: [...AGENT_OPTIONS, 'force'],
  maintenance: [...AGENT_OPTIONS, 'service', 'timeout', 'stay-drained-on-failure', 'wait-for-resume'],
};

function foreignOptions(command: string, values: Record<string, unknown>): string[] {
  const allowed = COMMAND_OPTIONS[command];
  if (!allowed) return [];
  return Object.keys(values).filter((name) => values[name] !== undefined && !allowed.includes(name) && !COMMON_OPTIONS.includes(name));
}

export async function main(argv: readonly string[], io: CliIO = processIO): Promise<void> {
  const code = await dispatch(argv, io);
  if (code !== undefined) process.exitCode = code;
}

export async function dispatch(argv: readonly string[], io: CliIO): Promise<number> {
  let parsed;
  // Everything after `--` is a command line for `maintenance`, never options of ours.
  const dash = argv.indexOf('--');
  const tail = dash === -1 ? [] : argv.slice(dash + 1);
  try {
    parsed = parseArgs({
      args: dash === -1 ? [...argv] : argv.slice(0, dash),
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
        ...frrConfigOptions,
        ...opsOptions,
      },
    });
  } catch (error) {
    io.err(`healthcast: ${(error as Error).message}\n\n${HELP}`);
    return ExitCode.USAGE_OR_CONFIG;
  }
  const { values } = parsed;
  const positionals = parsed.positionals[0] === 'maintenance' ? parsed.positionals : [...parsed.positionals, ...tail];
  const [command, ...rest] = positionals;
  if (values.version) {
    io.out(packageVersion());
    return ExitCode.OK;
  }
  if (values.help || command === 'help' || command === undefined) {
    (command === undefined && !values.help ? io.err : io.out)(HELP);
    return command === undefined && !values.help ? ExitCode.USAGE_OR_CONFIG : ExitCode.OK;
  }
  const foreign = foreignOptions(command, values);
  if (foreign.length > 0) {
    io.err(
      `healthcast ${command}: ${foreign.map((name) => `--${name}`).join(', ')} ${foreign.length === 1 ? 'is not an option' : 'are not options'} of ${command} (it takes ${COMMAND_OPTIONS[command]?.map((name) => `--${name}`).join(', ')}; see healthcast --help)`,
    );
    return ExitCode.USAGE_OR_CONFIG;
  }
  switch (command) {
    case 'run':
      return (await import('./commands/run.js')).runCommand(
        values.config,
        { logLevel: values['log-level'], daemon: values.daemon, pidfile: values.pidfile },
        io,
      );
    case 'status':
      return (await import('./commands/status.js')).statusCommand(values, io);
    case 'drain':
      return (await import('./commands/drain.js')).drainCommand(values, rest, io);
    case 'resume':
      return (await import('./commands/resume.js')).resumeCommand(values, rest, io);
    case 'check-now':
      return (await import('./commands/check-now.js')).checkNowCommand(values, rest, io);
    case 'cleanup':
      return (await import('./commands/cleanup.js')).cleanupCommand(values, io);
    case 'maintenance':
      return (await import('./commands/maintenance.js')).maintenanceCommand(values, [...rest, ...tail], io);
    case 'check-config':
      return (await import('./commands/check-config.js')).checkConfigCommand(values.config, io);
    case 'probe':
      return (await import('./commands/probe.js')).probeCommand(values.config, rest[0], io);
    case 'frr-config':
      return (await import('./commands/frr-config.js')).frrConfigCommand(values.config, values, io);
    default:
      io.err(`healthcast: unknown command "${command}"\n\n${HELP}`);
      return ExitCode.USAGE_OR_CONFIG;
  }
}

// `healthcast run`: the agent process. Everything process-wide (signals, title, exit, pidfile, daemon) lives here, not in
// the agent; the operations side (control socket, metrics, hooks, schedules, systemd) is wired by src/control/runtime.ts.
import { packageVersion } from '../../version.js';
import { buildAgent } from '../../core/agent.js';
import { installSignals } from '../../core/signals.js';
import { createPolicy, createRouting, recordHasBgp } from '../../core/routing-factory.js';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../log.js';
import { FileDrainStore } from '../../maintenance/drain-store.js';
import { startOps, type OpsRuntime } from '../../control/runtime.js';
import { daemonize, isDaemonChild, reportStarted } from '../../systemd/daemon.js';
import { removePidfile, writePidfile } from '../../systemd/pidfile.js';
import { removeAgentPid, writeAgentPid } from '../../control/agent-process.js';
import { messageOf } from '../../errors.js';
import { AdvertisementWatcher, expectedAdvertisement, vtyshInstalled } from '../../control/advertisement.js';
import { readerFromConfig } from '../../frr/vty-reader.js';
import { MismatchReporter } from '../../core/advertisement-mismatch.js';
import { loadOrReport } from '../load-or-report.js';
import { FleetWatcher } from '../../fleet/watcher.js';
import { ExitCode, type CliIO } from '../output.js';

const FATAL_SHUTDOWN_GRACE_MS = 5000;

export interface RunOptions {
  logLevel?: string | undefined;
  daemon?: boolean | undefined;
  pidfile?: string | undefined;
}

export async function runCommand(file: string | undefined, options: RunOptions, io: CliIO): Promise<number> {
  const config = await loadOrReport(file, io);
  if (!config) return ExitCode.USAGE_OR_CONFIG;
  if (options.daemon && !isDaemonChild()) {
    if (!options.pidfile) {
      io.err('healthcast run --daemon: also give --pidfile FILE, so the agent can be found and stopped');
      return ExitCode.USAGE_OR_CONFIG;
    }
    const result = await daemonize(process.argv.slice(1));
    if (!result.ok) io.err(`healthcast run --daemon: ${result.reason}`);
    else io.err(`healthcast started in the background, pid ${result.pid}`);
    return result.ok ? ExitCode.OK : ExitCode.FAILED;
  }
  // The config path tells several agents on one host apart in ps; the name still starts with "healthcast", so
  // `pkill -TSTP healthcast` (which matches the 15-byte process name) keeps working on a single-agent host.
  process.title = `healthcast ${config.file}`;
  const log = createLogger({ level: options.logLevel ?? config.logLevel });
  // FRR is asked (read-only) what it advertises, for status and metrics; without vtysh that stays unknown. Both
  // watchers read over the daemons' vty sockets when they can (vty-reader.ts: no process per question).
  const frrReader = readerFromConfig(config.frr);
  const mismatches = new MismatchReporter(log, () => void agent.repair(), { recheck: () => advertisement?.checkSoon() });
  const advertisement = vtyshInstalled(config.frr.vtysh)
    ? new AdvertisementWatcher({
        vtysh: frrReader,
        protocol: config.frr.protocol ?? 'ospf',
        prefixes: () => agent.currentConfig.services.flatMap((service) => service.addresses),
        intervalMs: Math.min(Math.max(config.reconcileIntervalMs, 1000), 5000),
        log,
        onAnswer: () => mismatches.check(agent.status()),
        // The quick checks after a change stop once FRR says what the agent announces.
        expected: () => expectedAdvertisement(agent.status()),
      })
    : undefined;
  // Who else advertises each service (the LSDB), for status and keep_last; OSPF only (docs/frr.md says why).
  const fleet =
    vtyshInstalled(config.frr.vtysh) && (config.frr.protocol ?? 'ospf') === 'ospf'
      ? new FleetWatcher({
          vtysh: frrReader,
          families: () =>
            new Set(agent.currentConfig.services.filter((s) => s.announce !== 'bgp').flatMap((s) => s.addresses.map((a) => (a.includes(':') ? 6 : 4)))),
          log,
          onReading: (reading) => agent.onFleetReading(reading),
          urgent: () => agent.anyKept(),
        })
      : undefined;
  const agent = buildAgent({
    config,
    log,
    routing: createRouting(log, { bgp: await recordHasBgp(config.stateDir) }),
    policy: createPolicy(log),
    drainStore: new FileDrainStore(config.stateDir),
    advertised: (_service, addresses) => advertisement?.lookup(addresses),
    readFleet: () => fleet?.read(),
  });

  let ops: OpsRuntime | undefined;
  const cleanup = async () => {
    await ops?.close();
    if (options.pidfile) removePidfile(options.pidfile);
    if (ops) removeAgentPid(config.controlSocket);
  };

  // An unexpected error must not leave addresses announced: withdraw, then exit non-zero.
  const fatal = (error: unknown) => {
    log.fatal({ err: error }, 'uncaught error: withdrawing everything and exiting');
    const timer = setTimeout(() => process.exit(1), FATAL_SHUTDOWN_GRACE_MS);
    void agent
      .shutdown()
      .then(cleanup)
      .finally(() => {
        clearTimeout(timer);
        process.exit(1);
      });
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  try {
    if (options.pidfile) await writePidfile(options.pidfile);
    ops = await startOps(agent, { log, version: packageVersion(), advertisement, fleet });
    // Beside the socket, once it is ours: how the CLI tells a stopped agent from one that is slow (agent-process.ts).
    await writeAgentPid(config.controlSocket);
  } catch (error) {
    log.fatal({ err: messageOf(error) }, 'cannot start');
    io.err(`healthcast: ${messageOf(error)}`);
    await cleanup().catch(() => undefined);
    return ExitCode.FAILED;
  }

  installSignals({
    agent,
    log,
    reloadConfig: () => loadConfig(config.file),
    exit: (code) => void cleanup().finally(() => process.exit(code)),
    stopSelf: () => process.kill(process.pid, 'SIGSTOP'),
    onReload: (ok) => ops?.reloaded(ok),
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => ops?.stopping());
  // While paused nothing else holds the event loop open, and the process must outlive SIGSTOP/SIGCONT.
  setInterval(() => undefined, 1 << 30);
  await agent.start();
  ops.started();
  reportStarted();
  return new Promise<number>(() => undefined);
}

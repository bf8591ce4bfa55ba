// Wires the operations side around a built agent: control socket, metrics, hooks, LAN announcements, scheduled
// maintenance, disable files and systemd notifications. The agent knows none of them; they listen to it or call its public methods.
import type { Agent } from '../core/agent.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { ControlServer } from './server.js';
import { controlHandler } from './handler.js';
import { AgentMetrics } from '../metrics/metrics.js';
import { MetricsServer } from '../metrics/server.js';
import { HookRunner } from '../hooks/hooks.js';
import { L2Announcer } from '../l2/announce.js';
import { ensureArpIgnore } from '../l2/arp-ignore.js';
import { MaintenanceScheduler } from '../maintenance/scheduler.js';
import { notifyEnv, statusText, SystemdNotifier } from '../systemd/notify.js';
import type { AdvertisementWatcher } from './advertisement.js';
import { HoldWatch } from '../maintenance/hold-watch.js';
import { DisableWatch } from '../maintenance/disable-watch.js';
import type { FleetWatcher } from '../fleet/watcher.js';
import { systemClock, type Clock } from '../clock.js';

export interface OpsRuntime {
  // After agent.start(): scheduling begins and systemd hears READY.
  started(): void;
  // A SIGHUP reload was accepted or rejected (metrics).
  reloaded(ok: boolean): void;
  // At the start of a shutdown (systemd hears STOPPING).
  stopping(): void;
  close(): Promise<void>;
}

// Listens on the control socket before the agent starts: a second agent on the same socket must fail here.
export async function startOps(
  agent: Agent,
  options: {
    log: Logger;
    version: string;
    env?: NodeJS.ProcessEnv;
    advertisement?: AdvertisementWatcher | undefined;
    fleet?: FleetWatcher | undefined;
    clock?: Clock;
  },
): Promise<OpsRuntime> {
  const { log } = options;
  const config = () => agent.currentConfig;
  const metrics = new AgentMetrics({ version: options.version, status: () => agent.status() });
  agent.addListener(metrics);
  agent.addListener(
    new HookRunner({
      service: (name) => config().services.find((service) => service.name === name),
      log,
      onResult: (result) => metrics.hookRuns.inc({ service: result.service, hook: result.hook, result: result.result }),
    }),
  );
  agent.addListener(
    new L2Announcer({
      services: () => config().services,
      log,
      onResult: (job, ok) => metrics.l2Announcements.inc({ family: `ipv${job.family}`, result: ok ? 'ok' : 'failed' }),
    }),
  );

  const handler = controlHandler(agent, { version: options.version });
  const control = new ControlServer({
    path: config().controlSocket,
    log,
    handler: async (request) => {
      try {
        const result = await handler(request);
        metrics.controlRequests.inc({ command: request.command, result: 'ok' });
        return result;
      } catch (error) {
        metrics.controlRequests.inc({ command: request.command, result: 'error' });
        throw error;
      }
    },
  });
  await control.listen();

  let metricsServer: MetricsServer | undefined;
  const metricsConfig = config().metrics;
  if (metricsConfig) {
    metricsServer = new MetricsServer(metrics, metricsConfig.listen, log);
    // Metrics are an aid, not a reason to leave services unannounced: a busy port is logged, the agent runs on.
    await metricsServer.listen().catch((error: unknown) => {
      log.error({ err: messageOf(error) }, 'metrics: cannot listen; running without metrics');
      metricsServer = undefined;
    });
  }

  const scheduler = new MaintenanceScheduler(config().maintenance, {
    drain: (services, by) => agent.drainServices(services, by),
    resume: (services, by) => agent.resumeServices(services, by),
    log,
    onResult: (result) => {
      metrics.maintenanceRuns.inc({ job: result.job, result: result.result });
      if (result.result !== 'skipped') metrics.maintenanceDuration.observe({ job: result.job }, result.durationMs / 1000);
    },
  });

  // Holds of maintenance wrappers that are gone end here: at start, on a timer, and after SIGCONT (a wrapper may have
  // given up while the agent was stopped).
  const holds = new HoldWatch({ agent, clock: options.clock ?? systemClock, log });

  // The disable files, read before the agent starts: a service disabled then is never announced.
  const disable = new DisableWatch({
    dir: config().disableDir,
    clock: options.clock ?? systemClock,
    log,
    services: () => config().services.map((service) => service.name),
    apply: (files) => agent.setDisableFiles(files),
  });
  await disable.start();
  // Before the first drain can move a LAN address to the drain interface, where ARP would still answer for it.
  await ensureArpIgnore(config().services, log);

  const env = notifyEnv(options.env ?? process.env, process.pid);
  const notifier = env ? new SystemdNotifier(env, log) : undefined;
  notifier?.start();
  agent.addListener({
    onReport: (report) => {
      notifier?.status(statusText(agent.mode, agent.status()));
      // Any change on the system (a state change, a drift repair, a grace period parking or ending): ask FRR right
      // away and a few times more until it agrees, so ADVERTISED is true of this moment, not of the last slow tick.
      if (report.added.length > 0 || report.removed.length > 0) {
        options.advertisement?.checkSoon();
        // Our own announce or withdrawal changes the fleet too: read it again while the LSAs spread.
        options.fleet?.changed();
      }
    },
    onStateApplied: () => {
      notifier?.status(statusText(agent.mode, agent.status()));
      options.advertisement?.checkSoon();
      options.fleet?.read();
    },
    onMode: (mode) => {
      if (mode === 'paused') notifier?.paused();
      else notifier?.resumed();
      if (mode === 'running') {
        void holds.check();
        void disable.scan();
      }
    },
    onReload: (next) => {
      if (JSON.stringify(next.metrics) !== JSON.stringify(metricsConfig))
        log.warn({ was: metricsConfig?.listen, now: next.metrics?.listen }, 'metrics.listen changed: takes effect on restart');
      void disable.reload(next.disableDir);
      void ensureArpIgnore(next.services, log);
      void scheduler.reload(next.maintenance).catch((error: unknown) => log.error({ err: messageOf(error) }, 'maintenance: cannot reschedule'));
    },
  });

  return {
    started() {
      scheduler.start();
      holds.start();
      options.advertisement?.start();
      options.fleet?.start();
      notifier?.ready(statusText(agent.mode, agent.status()));
    },
    reloaded(ok) {
      metrics.configReloaded(ok);
    },
    stopping() {
      notifier?.stopping();
    },
    async close() {
      holds.stop();
      disable.stop();
      await Promise.allSettled([scheduler.stop(), control.close(), metricsServer?.close(), options.advertisement?.stop(), options.fleet?.stop()]);
      await notifier?.close();
    },
  };
}

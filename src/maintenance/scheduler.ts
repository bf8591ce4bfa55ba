// Scheduled maintenance from the config (node-cron): drain, run the job's command, resume. One run at a time per job;
// each run is logged with its exit code and duration; a failing job leaves its services drained only if configured so.
import { schedule, setLogger, type ScheduledTask } from 'node-cron';
import type { MaintenanceJobConfig } from '../config/types.js';
import type { DrainResult, ResumeResult } from '../core/agent.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { afterCommand } from './wrapper.js';
import { runCommand, type RunningCommand } from './run-command.js';

export interface MaintenanceRunResult {
  job: string;
  result: 'ok' | 'failed' | 'skipped';
  exitCode: number | null;
  durationMs: number;
  stayedDrained: string[];
}

export interface SchedulerDeps {
  drain(services: readonly string[] | 'all', by: string): Promise<DrainResult>;
  resume(services: readonly string[], by: string): Promise<ResumeResult>;
  log: Logger;
  onResult?: (result: MaintenanceRunResult) => void;
  run?: (argv: readonly string[], timeoutMs: number) => RunningCommand;
}

export class MaintenanceScheduler {
  private tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, { command: RunningCommand | undefined; done: Promise<MaintenanceRunResult> }>();
  private readonly log: Logger;
  private stopped = false;

  constructor(
    private jobs: readonly MaintenanceJobConfig[],
    private readonly deps: SchedulerDeps,
  ) {
    this.log = deps.log.child({ component: 'maintenance' });
    // node-cron prints to the console by default, which would break the one-JSON-object-per-line log.
    const cronLog = this.log.child({ component: 'node-cron' });
    setLogger({
      info: (message) => cronLog.debug(message),
      warn: (message) => cronLog.warn(message),
      error: (message) => cronLog.error(typeof message === 'string' ? message : message.message),
      debug: (message) => cronLog.debug(typeof message === 'string' ? message : message.message),
    });
  }

  start(): void {
    this.stopped = false;
    for (const job of this.jobs) {
      this.tasks.push(schedule(job.schedule, () => void this.trigger(job), { name: job.name }));
    }
    if (this.jobs.length > 0) this.log.info({ jobs: this.jobs.map((job) => `${job.name} (${job.schedule})`) }, 'maintenance jobs scheduled');
  }

  // New schedules apply at once; a run in progress finishes under the old definition.
  async reload(jobs: readonly MaintenanceJobConfig[]): Promise<void> {
    await this.destroyTasks();
    this.jobs = jobs;
    this.start();
  }

  // Stops scheduling and ends running commands (TERM); the agent withdraws everything on shutdown anyway.
  async stop(): Promise<void> {
    this.stopped = true;
    await this.destroyTasks();
    for (const run of this.running.values()) run.command?.kill('SIGTERM');
    await Promise.all([...this.running.values()].map((run) => run.done));
  }

  // One run of a job now (the cron callback; tests call it directly). A run while the last one goes on is skipped.
  trigger(job: MaintenanceJobConfig): Promise<MaintenanceRunResult> {
    const current = this.running.get(job.name);
    if (current) {
      this.log.warn({ job: job.name }, `maintenance ${job.name}: skipped, the previous run is still going`);
      const skipped: MaintenanceRunResult = { job: job.name, result: 'skipped', exitCode: null, durationMs: 0, stayedDrained: [] };
      this.deps.onResult?.(skipped);
      return Promise.resolve(skipped);
    }
    const slot: { command: RunningCommand | undefined; done: Promise<MaintenanceRunResult> } = {
      command: undefined,
      done: Promise.resolve(undefined as never),
    };
    slot.done = this.runJob(job, slot).finally(() => this.running.delete(job.name));
    this.running.set(job.name, slot);
    return slot.done;
  }

  private async runJob(job: MaintenanceJobConfig, slot: { command: RunningCommand | undefined }): Promise<MaintenanceRunResult> {
    const by = `schedule:${job.name}`;
    const log = this.log.child({ job: job.name });
    const finish = (result: MaintenanceRunResult) => {
      this.deps.onResult?.(result);
      return result;
    };
    let drained: DrainResult;
    try {
      drained = await this.deps.drain(job.services ?? 'all', by);
    } catch (error) {
      log.error({ err: messageOf(error) }, `maintenance ${job.name}: cannot drain; command not run`);
      return finish({ job: job.name, result: 'failed', exitCode: null, durationMs: 0, stayedDrained: [] });
    }
    const resume = async () => {
      if (drained.newly.length === 0) return;
      try {
        await this.deps.resume(drained.newly, by);
      } catch (error) {
        log.error({ err: messageOf(error), services: drained.newly }, `maintenance ${job.name}: cannot resume`);
      }
    };
    if (drained.errors.length > 0 || this.stopped) {
      log.error({ errors: drained.errors }, `maintenance ${job.name}: withdrawal incomplete; command not run`);
      await resume();
      return finish({ job: job.name, result: 'failed', exitCode: null, durationMs: 0, stayedDrained: [] });
    }
    log.info({ services: drained.services, command: job.command }, `maintenance ${job.name}: drained ${drained.services.join(', ')}; running the command`);
    const command = (this.deps.run ?? ((argv, timeoutMs) => runCommand(argv, { timeoutMs, stdio: 'capture' })))(job.command, job.timeoutMs);
    slot.command = command;
    const outcome = await command.done;
    const decision = afterCommand(outcome, job.stayDrainedOnFailure);
    const fields = { exit_code: decision.exitCode, signal: outcome.signal, timed_out: outcome.timedOut, duration_ms: Math.round(outcome.durationMs) };
    if (decision.failed) log.warn({ ...fields, output: outcome.output.slice(-2000) }, `maintenance ${job.name}: command failed (exit ${decision.exitCode})`);
    else log.info(fields, `maintenance ${job.name}: command succeeded`);
    if (decision.resume) await resume();
    else log.warn({ services: drained.newly }, `maintenance ${job.name}: stay_drained_on_failure: ${drained.newly.join(', ')} stay drained until resumed`);
    return finish({
      job: job.name,
      result: decision.failed ? 'failed' : 'ok',
      exitCode: decision.exitCode,
      durationMs: outcome.durationMs,
      stayedDrained: decision.resume ? [] : drained.newly,
    });
  }

  private async destroyTasks(): Promise<void> {
    const tasks = this.tasks;
    this.tasks = [];
    await Promise.all(tasks.map((task) => task.destroy()));
  }
}

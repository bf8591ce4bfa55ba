// Runs a service's on_up / on_down / on_drain command after the change is applied. Hooks of one service run one at a
// time and in order; nothing waits for them, so a slow or failing hook never holds up probing or routing.
import type { AgentListener, StateChange } from '../core/agent.js';
import type { ServiceConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { hookFor, type HookName } from '../core/service-state.js';
import { runCommand } from '../maintenance/run-command.js';

export interface HookResult {
  service: string;
  hook: HookName;
  result: 'ok' | 'failed' | 'timeout' | 'skipped';
  exitCode: number | null;
  durationMs: number;
}

export interface HookRunnerOptions {
  // The current configuration's service (hooks are read at run time, so a reload changes them without a restart).
  service: (name: string) => ServiceConfig | undefined;
  log: Logger;
  onResult?: (result: HookResult) => void;
  // Beyond this many waiting runs for one service, new ones are dropped (a flapping service with a slow hook).
  maxQueued?: number;
}

// The environment a hook sees; pure.
export function hookEnvironment(change: StateChange, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    HEALTHCAST_SERVICE: change.service,
    HEALTHCAST_STATE: change.to,
    HEALTHCAST_PREVIOUS_STATE: change.from,
    HEALTHCAST_ADDRESSES: change.addresses.join(' '),
    HEALTHCAST_REASON: change.reason,
  };
}

export function hookCommand(service: ServiceConfig, hook: HookName): string[] | undefined {
  return hook === 'on_up' ? service.hooks.onUp : hook === 'on_down' ? service.hooks.onDown : service.hooks.onDrain;
}

export class HookRunner implements AgentListener {
  private readonly queues = new Map<string, { tail: Promise<void>; waiting: number }>();
  private readonly log: Logger;

  constructor(private readonly options: HookRunnerOptions) {
    this.log = options.log.child({ component: 'hooks' });
  }

  onStateApplied(change: StateChange): void {
    const hook = hookFor(change.from, change.to);
    if (!hook) return;
    const service = this.options.service(change.service);
    const command = service ? hookCommand(service, hook) : undefined;
    if (!service || !command) return;
    const queue = this.queues.get(change.service) ?? { tail: Promise.resolve(), waiting: 0 };
    this.queues.set(change.service, queue);
    if (queue.waiting >= (this.options.maxQueued ?? 10)) {
      this.log.warn({ service: change.service, hook }, `${hook} not run: too many hook runs waiting for this service`);
      this.options.onResult?.({ service: change.service, hook, result: 'skipped', exitCode: null, durationMs: 0 });
      return;
    }
    queue.waiting += 1;
    queue.tail = queue.tail.then(async () => {
      queue.waiting -= 1;
      await this.run(change, hook, command, service.hooks.timeoutMs);
    });
  }

  // Resolves when every queued hook has finished (tests, shutdown).
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.tail));
  }

  private async run(change: StateChange, hook: HookName, command: string[], timeoutMs: number): Promise<void> {
    const outcome = await runCommand(command, { timeoutMs, killGraceMs: 2000, stdio: 'capture', env: hookEnvironment(change) }).done;
    const result: HookResult['result'] = outcome.timedOut ? 'timeout' : outcome.exitCode === 0 && !outcome.spawnError ? 'ok' : 'failed';
    const fields = { service: change.service, hook, command, exit_code: outcome.exitCode, signal: outcome.signal, duration_ms: Math.round(outcome.durationMs) };
    if (result === 'ok') this.log.info(fields, `${hook} hook ran`);
    else {
      const why = outcome.spawnError
        ? `could not be started (${outcome.spawnError})`
        : outcome.timedOut
          ? `timed out after ${timeoutMs} ms`
          : `exited ${outcome.exitCode ?? outcome.signal}`;
      this.log.warn({ ...fields, output: outcome.output.slice(-2000) }, `${hook} hook ${why}`);
    }
    this.options.onResult?.({ service: change.service, hook, result, exitCode: outcome.exitCode, durationMs: outcome.durationMs });
  }
}

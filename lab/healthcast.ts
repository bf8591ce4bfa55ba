// Runs the real healthcast agent inside a lab node's namespace and reads its pino log lines.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { waitFor, type Daemon } from './process.js';
import { processState } from './proc.js';
import type { Lab, LabNode } from './lab.js';

// dist/lab/healthcast.js -> <repo>/bin/healthcast
export const HEALTHCAST_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/healthcast');

// The node flags of bin/healthcast's shebang (`#!/usr/bin/env -S node FLAGS`), the one place they are set.
export function healthcastNodeFlags(bin = HEALTHCAST_BIN): string[] {
  const first = fs.readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env(?: -S)? node((?: [^ ]+)*)$/.exec(first);
  if (!match) throw new Error(`${bin}: shebang "${first}" is not "#!/usr/bin/env [-S] node [FLAGS]"`);
  return match[1]!.split(' ').filter(Boolean);
}

// `healthcast ARGS` as the installed executable runs, but with this process's node (which the tests were started with).
export function healthcastArgv(args: readonly string[]): [string, string[]] {
  return [process.execPath, [...healthcastNodeFlags(), HEALTHCAST_BIN, ...args]];
}

export interface HealthcastService {
  name: string;
  addresses: string[];
  announce?: 'address' | 'route';
  interval?: string;
  timeout?: string;
  rise?: number;
  fall?: number;
  // Minimum time from a health withdrawal to the next announce (agent default 3s).
  hold_down?: string;
  probes: Record<string, unknown>[];
}

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  service?: string;
  from?: string;
  to?: string;
  reason?: string;
  latency_ms?: number;
  [key: string]: unknown;
}

export interface HealthcastAgent {
  pid: number;
  daemon: Daemon;
  configFile: string;
  lines(): LogLine[];
  // Waits for a log line after index `since` (default 0) that matches; returns it.
  waitForLine(what: string, match: (line: LogLine) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<LogLine>;
  // Waits for a `service` state change to `to` logged after `since`.
  waitForPhase(service: string, to: string, options?: { since?: number; timeoutMs?: number }): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  // Process state letter from /proc (T when stopped), undefined once gone.
  state(): string | undefined;
  exitCode(): Promise<number | null>;
}

// The main config file, as the agent's contract describes it.
export function healthcastConfig(options: { stateDir: string; services: readonly HealthcastService[]; reconcileInterval?: string; logLevel?: string }): string {
  return stringify({
    interface: 'lo',
    state_dir: options.stateDir,
    control_socket: path.join(path.dirname(options.stateDir), 'control.sock'), // one per agent: several run at once
    defaults: { interval: '1s', timeout: '1s', rise: 3, fall: 2 },
    reconcile_interval: options.reconcileInterval ?? '1s',
    ...(options.logLevel ? { log_level: options.logLevel } : {}),
    services: options.services,
  });
}

function parseLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(raw) as LogLine);
    } catch {
      // a partial line at the end of the buffer
    }
  }
  return lines;
}

// Starts `healthcast run` in the node's namespace; the same `name` reuses the state_dir (crash-recovery tests).
export async function startHealthcast(lab: Lab, node: LabNode, options: { services: readonly HealthcastService[]; name?: string; logLevel?: string; timeoutMs?: number }): Promise<HealthcastAgent> {
  const dir = path.join(node.dir, options.name ?? 'healthcast');
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { recursive: true });
  const configFile = path.join(dir, 'healthcast.yaml');
  fs.writeFileSync(configFile, healthcastConfig({ stateDir, services: options.services, logLevel: options.logLevel }));
  const daemon = lab.startDaemon(node, options.name ?? 'healthcast', ...healthcastArgv(['run', '--config', configFile]));
  const lines = () => parseLines(daemon.output());
  const waitForLine: HealthcastAgent['waitForLine'] = (what, match, waitOptions = {}) =>
    waitFor(`${daemon.name}: ${what}`, () => {
      const found = lines().slice(waitOptions.since ?? 0).find(match);
      if (found) return found;
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) {
        throw new Error(`healthcast exited (${daemon.child.exitCode ?? daemon.child.signalCode}): ${daemon.output().slice(-3000)}`);
      }
      return undefined;
    }, { timeoutMs: waitOptions.timeoutMs ?? 10_000, intervalMs: 10 });
  const agent: HealthcastAgent = {
    pid: daemon.pid,
    daemon,
    configFile,
    lines,
    waitForLine,
    waitForPhase: (service, to, waitOptions) => waitForLine(`${service} -> ${to}`, (line) => line.service === service && line.to === to, waitOptions),
    signal: (signal) => process.kill(daemon.pid, signal),
    state: () => processState(daemon.pid),
    exitCode: () => daemon.exited,
  };
  await waitForLine('agent started', (line) => line.msg === 'agent started', { timeoutMs: options.timeoutMs ?? 15_000 });
  return agent;
}

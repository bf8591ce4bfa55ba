// The real agent (`healthcast run`) in a lab node's namespace, with the whole config under the caller's control
// and its JSON log lines streamed to listeners (benchmarks read 10^5 lines; tests wait for single ones).
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { waitFor, type Daemon } from '../../../lab/process.js';
import { processState } from '../../../lab/proc.js';
import type { Lab, LabNode } from '../../../lab/lab.js';
import { healthcastArgv, type LogLine } from '../../../lab/healthcast.js';

export type { LogLine };

export interface AgentProcess {
  pid: number;
  daemon: Daemon;
  dir: string;
  configFile: string;
  stateDir: string;
  // Every line so far (only info and above when started with keepDebug: false).
  lines(): LogLine[];
  onLine(listener: (line: LogLine) => void): void;
  waitForLine(what: string, match: (line: LogLine) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<LogLine>;
  waitForPhase(service: string, to: string, options?: { since?: number; timeoutMs?: number }): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  state(): string | undefined;
  alive(): boolean;
  exited: Promise<number | null>;
}

// Atomic replace, so a SIGHUP never reads half a file unless a test wants exactly that.
export function writeConfig(file: string, config: Record<string, unknown> | string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, typeof config === 'string' ? config : stringify(config));
  fs.renameSync(temp, file);
}

// A main config with the lab's usual defaults; `extra` overrides or adds top-level keys. The control socket sits
// next to the state_dir: Unix socket paths are not per network namespace, so the default path would be shared.
export function agentConfig(stateDir: string, services: readonly Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: 'lo',
    state_dir: stateDir,
    control_socket: path.join(path.dirname(stateDir), 'control.sock'),
    defaults: { interval: '200ms', timeout: '150ms', rise: 2, fall: 2 },
    reconcile_interval: '1s',
    ...extra,
    services,
  };
}

export interface StartAgentOptions {
  // Sub-directory of the node's directory; the same name reuses config and state (restart after a crash).
  name?: string;
  config: Record<string, unknown> | ((stateDir: string) => Record<string, unknown>);
  // Benchmarks with 10^5 debug lines stream them to onLine listeners instead of keeping them.
  keepDebug?: boolean;
  timeoutMs?: number;
  // Resolve once the process has started, without waiting for "agent started" (e.g. a config it must reject).
  noWait?: boolean;
}

export async function startAgent(lab: Lab, node: LabNode, options: StartAgentOptions): Promise<AgentProcess> {
  const name = options.name ?? 'healthcast';
  const dir = path.join(node.dir, name);
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'healthcast.yaml');
  writeConfig(configFile, typeof options.config === 'function' ? options.config(stateDir) : options.config);
  const daemon = lab.startDaemon(node, name, ...healthcastArgv(['run', '--config', configFile]));
  const keepDebug = options.keepDebug ?? true;
  const stored: LogLine[] = [];
  const listeners: ((line: LogLine) => void)[] = [];
  let partial = '';
  daemon.child.stdout?.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const raw of parts) {
      if (!raw.startsWith('{')) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue;
      }
      if (keepDebug || line.level >= 30) stored.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  const gone = () => daemon.child.exitCode !== null || daemon.child.signalCode !== null;
  const waitForLine: AgentProcess['waitForLine'] = (what, match, waitOptions = {}) =>
    waitFor(`${daemon.name}: ${what}`, () => {
      const found = stored.slice(waitOptions.since ?? 0).find(match);
      if (found) return found;
      if (gone()) throw new Error(`healthcast exited (${daemon.child.exitCode ?? daemon.child.signalCode}): ${daemon.output().slice(-3000)}`);
      return undefined;
    }, { timeoutMs: waitOptions.timeoutMs ?? 10_000, intervalMs: 10 });
  const agent: AgentProcess = {
    pid: daemon.pid,
    daemon,
    dir,
    configFile,
    stateDir,
    lines: () => stored,
    onLine: (listener) => listeners.push(listener),
    waitForLine,
    waitForPhase: (service, to, waitOptions) => waitForLine(`${service} -> ${to}`, (line) => line.service === service && line.to === to, waitOptions),
    signal: (signal) => process.kill(daemon.pid, signal),
    state: () => processState(daemon.pid),
    alive: () => !gone(),
    exited: daemon.exited,
  };
  if (!options.noWait) await waitForLine('agent started', (line) => line.msg === 'agent started', { timeoutMs: options.timeoutMs ?? 15_000 });
  return agent;
}

// The agent's write-ahead ownership record, as entries "kind address dev" (sorted), or undefined when absent.
export function ownershipRecord(stateDir: string): string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(stateDir, 'owned.json'), 'utf8');
  } catch {
    return undefined;
  }
  const record = JSON.parse(text) as { entries: { kind: string; address: string; interface: string }[] };
  return record.entries.map((entry) => `${entry.kind} ${entry.address} ${entry.interface}`).sort();
}

// The one way tests, benchmarks and the demo run the real agent (`healthcast run`): inside a lab node's namespace,
// with the whole config under the caller's control and its JSON log lines kept and streamed to listeners
// (benchmarks read 10^5 lines; tests wait for single ones).
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
// bin: another copy of the executable (a staged tree another user can read: test/support/staged-install.ts).
export function healthcastArgv(args: readonly string[], bin = HEALTHCAST_BIN): [string, string[]] {
  return [process.execPath, [...healthcastNodeFlags(bin), bin, ...args]];
}

// A service of the main config, as the agent's contract describes it (typed for the callers that spell one out).
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

export interface AgentProcess {
  pid: number;
  daemon: Daemon;
  dir: string;
  configFile: string;
  stateDir: string;
  // Every line so far (only info and above when started with keepDebug: false).
  lines(): LogLine[];
  onLine(listener: (line: LogLine) => void): void;
  // Waits for a log line after index `since` (default 0) that matches; returns it.
  waitForLine(what: string, match: (line: LogLine) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<LogLine>;
  // Waits for a `service` state change to `to` logged after `since`.
  waitForPhase(service: string, to: string, options?: { since?: number; timeoutMs?: number }): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  // Process state letter from /proc (T when stopped), undefined once gone.
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
export function agentConfig(stateDir: string, services: readonly object[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: 'lo',
    state_dir: stateDir,
    control_socket: path.join(path.dirname(stateDir), 'control.sock'),
    // Never the machine's /etc/healthcast/disable.d: a lab agent reads only its own.
    disable_dir: path.join(path.dirname(stateDir), 'disable.d'),
    defaults: { interval: '200ms', timeout: '150ms', rise: 2, fall: 2 },
    reconcile_interval: '1s',
    ...extra,
    services,
  };
}

// Where an agent called `name` keeps its config and state below the node's directory.
export function agentPaths(node: LabNode, name = 'healthcast'): { dir: string; configFile: string; stateDir: string } {
  const dir = path.join(node.dir, name);
  return { dir, configFile: path.join(dir, 'healthcast.yaml'), stateDir: path.join(dir, 'state') };
}

export interface StartAgentOptions {
  // Sub-directory of the node's directory; the same name reuses config and state (restart after a crash).
  name?: string;
  // Written before the start; omitted: the caller wrote agentPaths(node, name).configFile itself.
  config?: Record<string, unknown> | ((stateDir: string) => Record<string, unknown>);
  // Added to this process's environment (e.g. NOTIFY_SOCKET).
  env?: NodeJS.ProcessEnv;
  // A command the agent runs under, inside the namespace (e.g. setpriv with capabilities).
  wrap?: readonly string[];
  // The executable to run (default: the checkout's bin/healthcast), e.g. one another user can read.
  bin?: string;
  // After `run --config FILE`.
  args?: readonly string[];
  // Benchmarks with 10^5 debug lines stream them to onLine listeners instead of keeping them.
  keepDebug?: boolean;
  timeoutMs?: number;
  // Resolve once the process has started, without waiting for "agent started" (e.g. a config it must reject).
  noWait?: boolean;
}

export async function startAgent(lab: Lab, node: LabNode, options: StartAgentOptions = {}): Promise<AgentProcess> {
  const name = options.name ?? 'healthcast';
  const { dir, configFile, stateDir } = agentPaths(node, name);
  fs.mkdirSync(dir, { recursive: true });
  if (options.config) writeConfig(configFile, typeof options.config === 'function' ? options.config(stateDir) : options.config);
  const [nodeBinary, argv] = healthcastArgv(['run', '--config', configFile, ...(options.args ?? [])], options.bin);
  const [command, args] = options.wrap?.length ? [options.wrap[0]!, [...options.wrap.slice(1), nodeBinary, ...argv]] : [nodeBinary, argv];
  const daemon = lab.startDaemon(node, name, command, args, { env: options.env ? { ...process.env, ...options.env } : undefined });
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
    waitFor(
      `${daemon.name}: ${what}`,
      () => {
        const found = stored.slice(waitOptions.since ?? 0).find(match);
        if (found) return found;
        if (gone()) throw new Error(`healthcast exited (${daemon.child.exitCode ?? daemon.child.signalCode}): ${daemon.output().slice(-3000)}`);
        return undefined;
      },
      { timeoutMs: waitOptions.timeoutMs ?? 10_000, intervalMs: 10 },
    );
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

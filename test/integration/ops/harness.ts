// One throwaway network namespace with a TCP listener (the "service") and the real agent process (bin/healthcast run)
// probing it; the CLI runs as a separate process like an operator's. Everything is removed in t.after().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { stringify } from 'yaml';
import type { TestContext } from 'node:test';
import { createNamespace, deleteNamespace, ip } from '../../../lab/netns.js';
import { startDaemon, waitFor, type Daemon } from '../../../lab/process.js';
import { healthcastBin } from '../../support/paths.js';
import { healthcastArgv } from '../../../lab/healthcast.js';

export const OPS_COMMANDS = ['ip', 'setpriv'];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface LogLine {
  msg: string;
  service?: string;
  [key: string]: unknown;
}

export interface OpsNode {
  ns: string;
  dir: string;
  configFile: string;
  socket: string;
  stateDir: string;
  port: number;
  agent: Daemon | undefined;
  writeConfig(config: Record<string, unknown>): void;
  startListener(): Promise<void>;
  stopListener(): Promise<void>;
  startAgent(options?: { env?: NodeJS.ProcessEnv; wrap?: string[]; args?: string[] }): Promise<Daemon>;
  lines(): LogLine[];
  waitForLine(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  cli(args: readonly string[], options?: { timeoutMs?: number; inNamespace?: boolean; wrap?: string[] }): Promise<CliResult>;
  spawnCli(args: readonly string[]): ReturnType<typeof spawn>;
  addresses(): Promise<string[]>;
}

export function service(name: string, addresses: string[], port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, addresses, probes: [{ type: 'tcp', host: '127.0.0.1', ports: [port] }], ...extra };
}

export function baseConfig(node: Pick<OpsNode, 'stateDir' | 'socket'>, services: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: 'lo',
    state_dir: node.stateDir,
    control_socket: node.socket,
    defaults: { interval: '100ms', timeout: '80ms', rise: 2, fall: 2, hold_down: '0s' },
    reconcile_interval: '1s',
    services,
    ...extra,
  };
}

export async function opsNode(t: TestContext, name: string): Promise<OpsNode> {
  const ns = `hcops-${name}-${process.pid % 10000}-${Math.random().toString(36).slice(2, 6)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hc-ops-${name}-`));
  fs.chmodSync(dir, 0o755); // other users may traverse: only the socket's own mode may keep them out
  await createNamespace(ns);
  const port = 20_000 + Math.floor(Math.random() * 40_000);
  let listener: Daemon | undefined;
  const daemons: Daemon[] = [];
  t.after(async () => {
    for (const daemon of daemons) await daemon.stop('SIGKILL', 1000).catch(() => undefined);
    await deleteNamespace(ns).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const configFile = path.join(dir, 'healthcast.yaml');
  const node: OpsNode = {
    ns,
    dir,
    configFile,
    socket: path.join(dir, 'run', 'control.sock'),
    stateDir: path.join(dir, 'state'),
    port,
    agent: undefined,
    writeConfig(config) {
      fs.writeFileSync(configFile, stringify(config));
    },
    async startListener() {
      listener = startDaemon(`listener-${ns}`, 'ip', ['netns', 'exec', ns, process.execPath, '-e', `require('net').createServer((s) => s.end()).listen(${port}, '127.0.0.1', () => console.log('listening'))`]);
      daemons.push(listener);
      await waitFor('listener', () => listener!.output().includes('listening'), { timeoutMs: 5000 });
    },
    async stopListener() {
      await listener?.stop('SIGKILL');
      listener = undefined;
    },
    async startAgent(options = {}) {
      const command = [...(options.wrap ?? []), ...healthcastArgv(['run', '--config', configFile, ...(options.args ?? [])]).flat()];
      const agent = startDaemon(`healthcast-${ns}`, 'ip', ['netns', 'exec', ns, ...command], { env: { ...process.env, ...options.env } });
      daemons.push(agent);
      node.agent = agent;
      await node.waitForLine('agent started', (line) => line.msg === 'agent started', 15_000);
      return agent;
    },
    lines() {
      return (node.agent?.output() ?? '')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as LogLine];
          } catch {
            return [];
          }
        });
    },
    waitForLine(what, match, timeoutMs = 10_000) {
      return waitFor(what, () => {
        const found = node.lines().find(match);
        if (found) return found;
        const agent = node.agent;
        if (agent && (agent.child.exitCode !== null || agent.child.signalCode !== null)) throw new Error(`agent exited: ${agent.output().slice(-2000)}`);
        return undefined;
      }, { timeoutMs, intervalMs: 20 });
    },
    cli(args, options = {}) {
      const base = [healthcastBin, ...withConfig(args, configFile)];
      const argv = options.inNamespace ? ['netns', 'exec', ns, process.execPath, ...base] : options.wrap ? [...options.wrap.slice(1), process.execPath, ...base] : base;
      const file = options.inNamespace ? 'ip' : options.wrap ? options.wrap[0]! : process.execPath;
      return new Promise((resolve) => {
        execFile(file, argv, { timeout: options.timeoutMs ?? 30_000 }, (error, stdout, stderr) => {
          const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
          resolve({ code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0, signal: failure?.signal ?? null, stdout, stderr });
        });
      });
    },
    spawnCli(args) {
      return spawn(process.execPath, [healthcastBin, ...withConfig(args, configFile)], { stdio: ['ignore', 'pipe', 'pipe'] });
    },
    async addresses() {
      const links = JSON.parse(await ip(['-n', ns, '-j', 'address', 'show', 'dev', 'lo'])) as { addr_info: { local: string }[] }[];
      return links.flatMap((link) => link.addr_info.map((info) => info.local)).filter((address) => address !== '127.0.0.1' && address !== '::1');
    },
  };
  return node;
}

// `--config FILE` goes before a `--` (after it, everything is the maintenance command's).
function withConfig(args: readonly string[], configFile: string): string[] {
  const dash = args.indexOf('--');
  return dash === -1 ? [...args, '--config', configFile] : [...args.slice(0, dash), '--config', configFile, ...args.slice(dash)];
}

export function statusOf(result: CliResult): { services: { name: string; state: string; phase: string; announced: boolean; advertised: boolean | null; maintenance: boolean; successes: number; last: { ok: boolean; reason: string } | null }[]; agent: { pid: number; mode: string } } {
  if (result.code !== 0) throw new Error(`status failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

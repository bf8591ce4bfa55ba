// One throwaway lab node (its own network namespace) with a TCP listener (the "service") and the real agent process
// (lab/healthcast.ts) probing it; the CLI runs as a separate process like an operator's. The lab is destroyed in t.after().
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { ip } from '../../../lab/netns.js';
import { Lab } from '../../../lab/lab.js';
import { waitFor, type Daemon } from '../../../lab/process.js';
import { agentPaths, startAgent, writeConfig, type AgentProcess, type LogLine } from '../../../lab/healthcast.js';
import { healthcastBin } from '../../support/paths.js';
import { stagedHealthcastBin } from '../../support/staged-install.js';

export const OPS_COMMANDS = ['ip', 'setpriv'];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
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

export function baseConfig(
  node: Pick<OpsNode, 'stateDir' | 'socket'>,
  services: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
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
  const lab = await Lab.create({ name: `ops-${name}` });
  t.after(() => lab.destroy());
  // The lab's directories are mode 0755: other users may traverse, so only the socket's own mode may keep them out.
  const labNode = await lab.node(name);
  const paths = agentPaths(labNode);
  fs.mkdirSync(paths.dir, { recursive: true });
  const port = 20_000 + Math.floor(Math.random() * 40_000);
  let listener: Daemon | undefined;
  let agent: AgentProcess | undefined;
  const node: OpsNode = {
    ns: labNode.netns,
    dir: labNode.dir,
    configFile: paths.configFile,
    socket: path.join(labNode.dir, 'run', 'control.sock'),
    stateDir: paths.stateDir,
    port,
    agent: undefined,
    writeConfig(config) {
      writeConfig(paths.configFile, config);
    },
    async startListener() {
      listener = lab.startDaemon(labNode, 'listener', process.execPath, [
        '-e',
        `require('net').createServer((s) => s.end()).listen(${port}, '127.0.0.1', () => console.log('listening'))`,
      ]);
      await waitFor('listener', () => listener!.output().includes('listening'), { timeoutMs: 5000 });
    },
    async stopListener() {
      await listener?.stop('SIGKILL');
      listener = undefined;
    },
    async startAgent(options = {}) {
      // The config is the test's own file (node.writeConfig), so a test can change it under a running agent.
      // Wrapped (another user, as setpriv makes it): a staged copy, since the checkout may be out of that user's reach.
      const bin = options.wrap ? stagedHealthcastBin() : undefined;
      agent = await startAgent(lab, labNode, { env: options.env, wrap: options.wrap, args: options.args, bin });
      node.agent = agent.daemon;
      return agent.daemon;
    },
    lines() {
      return agent?.lines() ?? [];
    },
    waitForLine(what, match, timeoutMs = 10_000) {
      if (!agent) throw new Error(`waiting for ${what}: no agent started`);
      return agent.waitForLine(what, match, { timeoutMs });
    },
    cli(args, options = {}) {
      const base = [options.wrap ? stagedHealthcastBin() : healthcastBin, ...withConfig(args, paths.configFile)];
      const argv = options.inNamespace
        ? ['netns', 'exec', labNode.netns, process.execPath, ...base]
        : options.wrap
          ? [...options.wrap.slice(1), process.execPath, ...base]
          : base;
      const file = options.inNamespace ? 'ip' : options.wrap ? options.wrap[0]! : process.execPath;
      return new Promise((resolve) => {
        execFile(file, argv, { timeout: options.timeoutMs ?? 30_000 }, (error, stdout, stderr) => {
          const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
          resolve({ code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0, signal: failure?.signal ?? null, stdout, stderr });
        });
      });
    },
    spawnCli(args) {
      return spawn(process.execPath, [healthcastBin, ...withConfig(args, paths.configFile)], { stdio: ['ignore', 'pipe', 'pipe'] });
    },
    async addresses() {
      const links = JSON.parse(await ip(['-n', labNode.netns, '-j', 'address', 'show', 'dev', 'lo'])) as { addr_info: { local: string }[] }[];
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

export function statusOf(result: CliResult): {
  services: {
    name: string;
    state: string;
    phase: string;
    announced: boolean;
    advertised: boolean | null;
    maintenance: boolean;
    successes: number;
    last: { ok: boolean; reason: string } | null;
  }[];
  agent: { pid: number; mode: string };
} {
  if (result.code !== 0) throw new Error(`status failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

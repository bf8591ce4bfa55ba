// `healthcast run --daemon` for rc.local: starts the agent again as a detached child (its own session, stdout/stderr
// inherited so `>>/var/log/healthcast.log 2>&1` collects the logs) and exits 0 once the child reports the agent
// started, or 1 with the reason when it did not.
import { spawn } from 'node:child_process';

export const DAEMON_CHILD_ENV = 'HEALTHCAST_DAEMON_CHILD';

export function isDaemonChild(): boolean {
  return process.env[DAEMON_CHILD_ENV] === '1' && typeof process.send === 'function';
}

// Tells the waiting parent the agent is up, then lets it go.
export function reportStarted(): void {
  if (!isDaemonChild()) return;
  process.send?.({ started: process.pid }, () => process.disconnect());
}

// The node flags this process got (bin/healthcast's shebang: heap sizing) carry over to the agent; code to evaluate
// (which would start a daemonizer again), a debugger port (two processes cannot share it) and test-runner flags do not.
export function inheritedNodeFlags(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let index = 0; index < execArgv.length; index++) {
    const flag = execArgv[index]!;
    if (/^(-e|--eval|-p|-pe|--print|-r|--require|--import|--loader|--experimental-loader)$/.test(flag)) {
      index += 1; // and its value
      continue;
    }
    if (/^(--eval|--print|--require|--import|--loader|--experimental-loader)=/.test(flag) || /^--(inspect|debug|test|watch)/.test(flag)) continue;
    kept.push(flag);
  }
  return kept;
}

export async function daemonize(
  argv: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<{ ok: true; pid: number } | { ok: false; reason: string }> {
  const args = [...inheritedNodeFlags(process.execArgv), ...argv.filter((arg) => arg !== '--daemon')];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      resolve({ ok: false, reason: `the agent did not start within ${options.timeoutMs ?? 60_000} ms` });
    }, options.timeoutMs ?? 60_000);
    child.once('message', (message: { started?: number }) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.disconnect();
      child.unref();
      resolve({ ok: true, pid: message.started ?? child.pid ?? -1 });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `the agent exited before it started (${code ?? signal}); see its log` });
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: error.message });
    });
  });
}

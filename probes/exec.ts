// exec: run a check command (no shell); exit 0 is healthy. Its whole process group dies with it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { z } from 'zod';
import { defineProbe, messageOf, stoppedText, type ProbeContext, type ProbeOutcome } from './kit/index.js';

const TAIL_CHARS = 200;
// After the command exits, how long its output pipes may stay open (held by something that left the group).
const CLOSE_GRACE_MS = 200;

const options = z.strictObject({
  command: z
    .array(z.string(), { error: 'must be a list: the program, then its arguments (e.g. [/usr/bin/check, --quiet]); use [sh, -c, "..."] for a shell' })
    .min(1, 'must name the program to run')
    .refine((argv) => argv[0] !== '', 'the program name must not be empty'),
  env: z
    .record(
      z.string(),
      z
        .union([z.string(), z.number(), z.boolean()])
        .transform(String)
        .refine((value) => !value.includes('\0'), 'must not contain NUL'),
    )
    .superRefine((env, ctx) => {
      for (const name of Object.keys(env)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be an environment variable name' });
      }
    })
    .optional(),
  cwd: z.string().min(1).optional(),
});

// Keeps the last bytes a command printed (stdout and stderr as they arrive) for the failure reason.
class OutputTail {
  private text = '';
  add(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-4 * TAIL_CHARS);
  }
  toString(): string {
    const clean = this.text
      .replace(/\r?\n/g, ' | ')
      .replace(/[\p{Cc}]/gu, ' ')
      .replace(/\s+/g, ' ')
      .replace(/^[\s|]+|[\s|]+$/g, '');
    return clean.length > TAIL_CHARS ? `...${clean.slice(-TAIL_CHARS)}` : clean;
  }
}

export default defineProbe({
  type: 'exec',
  summary: 'run a command without a shell; exit status 0 is healthy',
  options,
  run(opts, ctx): Promise<ProbeOutcome> {
    return runCommand(opts.command, opts.env ?? {}, opts.cwd, ctx);
  },
});

function runCommand(argv: readonly string[], extraEnv: Record<string, string>, cwd: string | undefined, ctx: ProbeContext): Promise<ProbeOutcome> {
  const [program, ...args] = argv as [string, ...string[]];
  const env = { ...process.env, ...extraEnv, HEALTHCAST_SERVICE: ctx.service.name, HEALTHCAST_ADDRESSES: ctx.service.addresses.join(' ') };
  return new Promise((resolve) => {
    const output = new OutputTail();
    const withOutput = (text: string) => {
      const tail = output.toString();
      return tail ? `${text}: ${tail}` : `${text} (no output)`;
    };
    let child: ChildProcess | undefined;
    let grace: NodeJS.Timeout | undefined;
    let settled = false;
    // detached: the command leads a new process group, so one kill(-pid) reaches everything it started.
    const killGroup = () => {
      if (child?.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const finish = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(grace);
      ctx.signal.removeEventListener('abort', onAbort);
      killGroup();
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ ok: false, reason: withOutput(`${stoppedText(ctx.signal, ctx.timeoutMs)}; killed the process group of ${program}`) });
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      child = spawn(program, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env, ...(cwd ? { cwd } : {}) });
    } catch (error) {
      return finish({ ok: false, reason: `cannot run ${program}: ${messageOf(error)}` });
    }
    child.stdout?.on('data', (chunk: Buffer) => output.add(chunk));
    child.stderr?.on('data', (chunk: Buffer) => output.add(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      const missingCwd = error.code === 'ENOENT' && cwd !== undefined && !fs.existsSync(cwd);
      finish({
        ok: false,
        reason: missingCwd ? `cannot run ${program}: working directory ${cwd} does not exist` : `cannot run ${program}: ${messageOf(error)}`,
      });
    });
    child.on('exit', (code, signal) => {
      // Whatever it left running in its group goes too, so its output pipes close and nothing lingers.
      killGroup();
      // Already settled (timed out or cancelled, then killed): no grace timer to outlive the probe.
      if (settled) return;
      const verdict = (): ProbeOutcome =>
        code === 0 ? { ok: true } : { ok: false, reason: withOutput(code === null ? `killed by ${signal ?? 'a signal'}` : `exit code ${code}`) };
      // 'close' comes once the pipes are drained, so the reason holds the last words.
      child?.once('close', () => finish(verdict()));
      grace = setTimeout(() => finish(verdict()), CLOSE_GRACE_MS);
    });
  });
}

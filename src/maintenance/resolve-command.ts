// Finds COMMAND the way execvp will (a name with a slash as a path, otherwise each PATH entry in turn) before anything
// is drained: a typo must fail with 127 and nothing withdrawn, not after the services were taken out and put back.
import fs from 'node:fs';
import path from 'node:path';
import { WrapperExit } from './wrapper.js';

export type Resolution = { ok: true; file: string } | { ok: false; exitCode: typeof WrapperExit.NOT_FOUND | typeof WrapperExit.NOT_EXECUTABLE; reason: string };

export interface FileCheck {
  // 'missing', 'directory', 'not-executable' or 'ok' for one path.
  (file: string): 'missing' | 'directory' | 'not-executable' | 'ok';
}

export const checkFile: FileCheck = (file) => {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    return 'missing';
  }
  if (stat.isDirectory()) return 'directory';
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return 'ok';
  } catch {
    return 'not-executable';
  }
};

export function resolveCommand(name: string, options: { PATH?: string | undefined; cwd?: string; check?: FileCheck } = {}): Resolution {
  const check = options.check ?? checkFile;
  const cwd = options.cwd ?? process.cwd();
  if (name === '') return { ok: false, exitCode: WrapperExit.NOT_FOUND, reason: 'the command is empty' };
  if (name.includes('/')) {
    const file = path.resolve(cwd, name);
    const found = check(file);
    if (found === 'ok') return { ok: true, file };
    if (found === 'missing') return { ok: false, exitCode: WrapperExit.NOT_FOUND, reason: `${name}: no such file` };
    return { ok: false, exitCode: WrapperExit.NOT_EXECUTABLE, reason: `${name}: ${found === 'directory' ? 'is a directory' : 'not executable'}` };
  }
  // execvp's default when PATH is unset.
  const dirs = (options.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':');
  let unusable: string | undefined;
  for (const dir of dirs) {
    const file = path.resolve(cwd, dir === '' ? '.' : dir, name);
    const found = check(file);
    if (found === 'ok') return { ok: true, file };
    if (found !== 'missing') unusable ??= `${file}: ${found === 'directory' ? 'is a directory' : 'not executable'}`;
  }
  if (unusable) return { ok: false, exitCode: WrapperExit.NOT_EXECUTABLE, reason: unusable };
  return { ok: false, exitCode: WrapperExit.NOT_FOUND, reason: `${name}: not found on PATH (${dirs.join(':')})` };
}

// The tree healthcast runs from once installed: bin/healthcast, the compiled code (dist/src, dist/probes), package.json
// (the version) and the production dependencies. The Debian package puts it in /usr/lib/healthcast; tests that run the
// agent as another user stage it in a directory of its own, since the checkout may sit where that user cannot reach
// (a clone under /root, mode 0700).
import fs from 'node:fs';
import path from 'node:path';

// The lockfile entries that `npm ci --omit=dev` would install: every package not marked dev.
export function productionPackages(lock: { packages?: Record<string, { dev?: boolean; link?: boolean }> }): string[] {
  return Object.entries(lock.packages ?? {})
    .filter(([where, entry]) => where.startsWith('node_modules/') && entry.dev !== true && entry.link !== true)
    .map(([where]) => where)
    .sort();
}

// Files that nothing loads at run time: TypeScript sources and declarations, source maps, documentation and web pages,
// shell scripts of the module's own development, and licence texts (the package's copyright file carries them).
const UNUSED_AT_RUN_TIME = /\.(?:ts|mts|cts|map|md|markdown|html|sh)$|^(?:licen[cs]e|copying)(?:\.\w+)?$/i;
// Directories of a module's own tests and examples, and dot-directories (.bin, .github, .husky).
const UNUSED_DIRECTORY = /^(?:\..*|tests?|__tests__|examples?|benchmarks?)$/;

// Whether a file of a dependency is copied (relative to the package's own directory, '/' separated).
export function keptDependencyFile(relative: string): boolean {
  const parts = relative.split('/');
  const name = parts[parts.length - 1]!;
  if (name.startsWith('.') || UNUSED_AT_RUN_TIME.test(name)) return false;
  return !parts.slice(0, -1).some((part) => UNUSED_DIRECTORY.test(part));
}

export interface InstallTreeOptions {
  // The checkout: bin/, dist/ (built), package.json, package-lock.json, node_modules/.
  repoRoot: string;
  // Created if missing; must not contain an older tree.
  dest: string;
}

// Copies the tree with modes other users can read (files 0644, bin/healthcast and directories 0755), whatever the
// checkout's umask was. A compiled file is copied only while its TypeScript source still exists, so a stale dist/
// (a source renamed since the last build) cannot ship a dead module.
export function stageInstallTree({ repoRoot, dest }: InstallTreeOptions): void {
  fs.mkdirSync(dest, { recursive: true, mode: 0o755 });
  fs.chmodSync(dest, 0o755);
  copyFile(path.join(repoRoot, 'bin', 'healthcast'), path.join(dest, 'bin', 'healthcast'), 0o755);
  copyFile(path.join(repoRoot, 'package.json'), path.join(dest, 'package.json'), 0o644);
  for (const source of ['src', 'probes']) {
    copyTree(path.join(repoRoot, 'dist', source), path.join(dest, 'dist', source), (relative) => compiledFromLiveSource(repoRoot, source, relative));
  }
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as Parameters<typeof productionPackages>[0];
  for (const where of productionPackages(lock)) {
    const from = path.join(repoRoot, where);
    if (!fs.existsSync(from)) throw new Error(`${where}: not in node_modules (run npm ci)`);
    copyTree(from, path.join(dest, where), keptDependencyFile, (relative) => relative !== 'node_modules');
  }
}

function compiledFromLiveSource(repoRoot: string, source: string, relative: string): boolean {
  if (!relative.endsWith('.js')) return false;
  return fs.existsSync(path.join(repoRoot, source, relative.replace(/\.js$/, '.ts')));
}

// keepDir: nested node_modules are packages of their own, copied through their own lockfile entry.
function copyTree(from: string, to: string, keepFile: (relative: string) => boolean, keepDir: (relative: string) => boolean = () => true): void {
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(from, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (keepDir(child)) walk(child);
      } else if (entry.isFile() && keepFile(child)) {
        copyFile(path.join(from, child), path.join(to, child), startsWithShebang(path.join(from, child)) ? 0o755 : 0o644);
      }
    }
  };
  walk('');
}

// A module's command-line script (pino's bin.js) stays runnable, as npm would have left it.
function startsWithShebang(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return fs.readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
  } finally {
    fs.closeSync(fd);
  }
}

function copyFile(from: string, to: string, mode: number): void {
  mkdirs(path.dirname(to));
  fs.copyFileSync(from, to);
  fs.chmodSync(to, mode);
}

function mkdirs(dir: string): void {
  if (fs.existsSync(dir)) return;
  mkdirs(path.dirname(dir));
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
}

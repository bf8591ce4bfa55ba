// `npm run package`: builds healthcast_<version>_all.deb with dpkg-deb from the built tree (npm run build first),
// and prints its path as the last line. The layout and the maintainer scripts: docs/operations.md, "The Debian package".
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { HELP } from '../../src/cli/main.js';
import { manPage } from './man-page.js';
import { productionPackages, stageInstallTree } from './install-tree.js';
import { CONFFILES, DESCRIPTION, PACKAGE, changelog, controlFile, copyrightFile, type BundledModule } from './debian-files.js';

// dist/scripts/package/build-deb.js -> the checkout
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function buildDeb(outDir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; license: string };
  const date = sourceDate();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcast-deb-'));
  try {
    const root = path.join(work, 'root');
    const lib = path.join(root, 'usr/lib', PACKAGE);
    stageInstallTree({ repoRoot, dest: lib });
    put(root, 'usr/bin/healthcast', { symlink: '../lib/healthcast/bin/healthcast' });
    put(root, 'lib/systemd/system/healthcast.service', { from: 'packaging/healthcast.service' });
    put(root, 'usr/lib/sysusers.d/healthcast.conf', { from: 'packaging/healthcast.sysusers.conf' });
    put(root, 'usr/lib/tmpfiles.d/healthcast.conf', { from: 'packaging/healthcast.tmpfiles.conf' });
    put(root, 'etc/healthcast/healthcast.yaml', { from: 'packaging/healthcast.yaml' });
    put(root, 'etc/healthcast/services.d/dns.yaml.example', { from: 'packaging/dns.yaml.example' });
    const doc = 'usr/share/doc/healthcast';
    put(root, `${doc}/README.md`, { from: 'README.md' });
    for (const name of fs.readdirSync(path.join(repoRoot, 'docs')).filter((file) => file.endsWith('.md')))
      put(root, `${doc}/${name}`, { from: `docs/${name}` });
    put(root, `${doc}/examples/rc.local`, { from: 'packaging/rc.local.example' });
    put(root, `${doc}/changelog.gz`, { text: gzip(changelog(pkg.version, date)) });
    put(root, `${doc}/copyright`, { text: copyrightFile(pkg.license, bundledModules()) });
    put(root, 'usr/share/man/man8/healthcast.8.gz', { text: gzip(manPage(HELP, { version: pkg.version, date: date.toISOString().slice(0, 10) })) });

    const control = path.join(root, 'DEBIAN');
    put(root, 'DEBIAN/md5sums', { text: md5sums(root) });
    put(root, 'DEBIAN/control', { text: controlFile({ version: pkg.version, installedSizeKiB: installedSizeKiB(root), description: DESCRIPTION }) });
    put(root, 'DEBIAN/conffiles', { text: `${CONFFILES.join('\n')}\n` });
    for (const script of ['postinst', 'prerm', 'postrm']) put(root, `DEBIAN/${script}`, { from: `packaging/debian/${script}`, mode: 0o755 });
    fs.chmodSync(control, 0o755);

    fs.mkdirSync(outDir, { recursive: true });
    const deb = path.join(path.resolve(outDir), `${PACKAGE}_${pkg.version}_all.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, SOURCE_DATE_EPOCH: String(Math.floor(date.getTime() / 1000)) },
    });
    return deb;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

type Content = { from: string; mode?: number } | { text: string | Buffer; mode?: number } | { symlink: string };

function put(root: string, where: string, content: Content): void {
  const target = path.join(root, where);
  for (let dir = path.dirname(target); !fs.existsSync(dir); dir = path.dirname(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if ('symlink' in content) return fs.symlinkSync(content.symlink, target);
  if ('from' in content) fs.copyFileSync(path.join(repoRoot, content.from), target);
  else fs.writeFileSync(target, content.text);
  fs.chmodSync(target, content.mode ?? 0o644);
}

// The date of the last commit (reproducible builds), or SOURCE_DATE_EPOCH, or now outside a git checkout.
function sourceDate(): Date {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000);
  try {
    const committed = execFileSync('git', ['-C', repoRoot, 'log', '-1', '--format=%ct'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (/^\d+$/.test(committed)) return new Date(Number(committed) * 1000);
  } catch {
    // not a git checkout (a source tarball): the build's own time
  }
  return new Date();
}

// Level 9 sets gzip's "maximum compression" flag that lintian looks for; zlib writes no name and no time (-n).
function gzip(text: string): Buffer {
  return gzipSync(Buffer.from(text, 'utf8'), { level: 9 });
}

function bundledModules(): BundledModule[] {
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as Parameters<typeof productionPackages>[0];
  return productionPackages(lock).map((where) => {
    const dir = path.join(repoRoot, where);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
    const licenseFile = fs.readdirSync(dir).find((file) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(file));
    return {
      where,
      name: meta.name,
      version: meta.version,
      license: meta.license ?? 'unknown',
      ...(licenseFile ? { licenseText: fs.readFileSync(path.join(dir, licenseFile), 'utf8') } : {}),
    };
  });
}

function filesUnder(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)))
    .filter((relative) => !relative.startsWith('DEBIAN/'))
    .sort();
}

function md5sums(root: string): string {
  return filesUnder(root)
    .filter((relative) => !CONFFILES.includes(`/${relative}`))
    .map(
      (relative) =>
        `${crypto
          .createHash('md5')
          .update(fs.readFileSync(path.join(root, relative)))
          .digest('hex')}  ${relative}\n`,
    )
    .join('');
}

// As dpkg-gencontrol counts it: 1 KiB per file at least, rounded up.
function installedSizeKiB(root: string): number {
  return filesUnder(root).reduce((sum, relative) => sum + Math.max(1, Math.ceil(fs.statSync(path.join(root, relative)).size / 1024)), 0);
}

function main(argv: readonly string[]): void {
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex === -1 ? path.join(repoRoot, 'dist', 'deb') : argv[outIndex + 1];
  if (!outDir) throw new Error('--out needs a directory');
  console.log(buildDeb(outDir));
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`healthcast package: ${(error as Error).message}`);
    process.exit(1);
  }
}

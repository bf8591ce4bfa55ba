// The Debian package as an operator meets it: built by `npm run package`'s script, installed with dpkg, run, verified
// by systemd-analyze and lintian, removed and purged without a trace. As root on the machine itself (dpkg has no
// namespace of its own), so it refuses to run where anything of a healthcast install is present, a package or a
// checkout's paths: it never touches a real install, and it purges what it installed even when an assertion fails.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requirePrerequisites } from '../../support/prereq.js';
import { repoRoot } from '../../support/paths.js';
import { healthcastNodeFlags } from '../../../lab/healthcast.js';

const COMMANDS = ['unshare', 'dpkg', 'dpkg-deb', 'dpkg-query', 'systemd-analyze', 'lintian', 'setpriv', 'userdel', 'adduser', 'find', 'zcat'];
// Where a healthcast install of any kind lives (the package, the unit copied by hand, a checkout's link, a running
// agent's state): the test proceeds only when none of it exists.
const FOOTPRINT = [
  '/usr/lib/healthcast',
  '/usr/bin/healthcast',
  '/usr/local/sbin/healthcast',
  '/lib/systemd/system/healthcast.service',
  '/etc/systemd/system/healthcast.service',
  '/etc/healthcast',
  '/var/lib/healthcast',
  '/run/healthcast',
];
const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcast-deb-test-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function run(command: string, args: readonly string[], options: { timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) throw result.error;
  return result;
}

const shown = (result: SpawnSyncReturns<string>) => `exit ${result.status}: ${result.stdout}${result.stderr}`;

// dpkg's view: 'install ok installed', 'deinstall ok config-files', or undefined when it knows nothing of it.
function packageStatus(): string | undefined {
  const result = run('dpkg-query', ['-W', '-f', '${Status}', 'healthcast']);
  const status = result.status === 0 ? result.stdout.trim() : '';
  return status === '' || status.endsWith('not-installed') ? undefined : status;
}

const exists = (file: string) => {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
};

// Another dpkg or apt (the machine's own) holds the lock for a while: wait for it rather than fail.
async function dpkg(args: readonly string[]): Promise<SpawnSyncReturns<string>> {
  for (let attempt = 0; ; attempt++) {
    const result = run('dpkg', args);
    if (result.status === 0 || !/lock/i.test(result.stderr) || attempt >= 60) return result;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

let built: string | undefined;
function buildPackage(): string {
  if (built) return built;
  const result = run(process.execPath, [path.join(repoRoot, 'dist/scripts/package/build-deb.js'), '--out', work], { timeoutMs: 300_000 });
  assert.equal(result.status, 0, `the package builds: ${shown(result)}`);
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  assert.equal(last, path.join(work, `healthcast_${version}_all.deb`), 'the last line of the output is the path of the .deb');
  assert.ok(fs.existsSync(last));
  built = last;
  return last;
}

function refuseOverRealInstall(): void {
  const status = packageStatus();
  if (status) {
    assert.fail(
      `a healthcast package is already on this machine (${status}) and this test did not install it: refusing to touch it (a leftover of an interrupted run? dpkg -P healthcast)`,
    );
  }
  const present = FOOTPRINT.filter(exists);
  if (present.length > 0) assert.fail(`healthcast is installed on this machine (${present.join(', ')}): refusing to install the package over it`);
}

test('the .deb: contents, dpkg -i, the installed executable and config, systemd-analyze verify, dpkg -r, dpkg -P leaves nothing', { timeout: 600_000 }, async (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  refuseOverRealInstall();
  const deb = buildPackage();

  const listing = run('dpkg-deb', ['-c', deb]);
  assert.equal(listing.status, 0, shown(listing));
  // "drwxr-xr-x root/root 0 2026-12-06 01:27 ./usr/lib/" and "lrwxrwxrwx ... ./usr/bin/healthcast -> ../lib/..."
  const entries = listing.stdout
    .trim()
    .split('\n')
    .map((line) => ({ path: /\s\.(\/\S*?)\/?(?: -> \S+)?$/.exec(line)?.[1] ?? '', directory: line.startsWith('d') }))
    .filter((entry) => entry.path !== '' && entry.path !== '/');
  const paths = entries.map((entry) => entry.path);
  const files = entries.filter((entry) => !entry.directory).map((entry) => entry.path);
  assert.deepEqual(
    files.filter((file) => !file.startsWith('/usr/lib/healthcast/') && !file.startsWith('/usr/share/doc/healthcast/')).sort(),
    [
      '/etc/healthcast/healthcast.yaml',
      '/etc/healthcast/services.d/dns.yaml.example',
      '/lib/systemd/system/healthcast.service',
      '/usr/bin/healthcast',
      '/usr/lib/sysusers.d/healthcast.conf',
      '/usr/lib/tmpfiles.d/healthcast.conf',
      '/usr/share/man/man8/healthcast.8.gz',
    ],
  );
  // /usr/lib/healthcast/<top> (dist/<top>): what the tree holds at its first levels.
  const tops = new Set(
    files
      .filter((file) => file.startsWith('/usr/lib/healthcast/'))
      .map((file) => file.split('/').slice(4))
      .map((parts) => parts.slice(0, parts[0] === 'dist' ? 2 : 1).join('/')),
  );
  assert.deepEqual([...tops].sort(), ['bin', 'dist/probes', 'dist/src', 'node_modules', 'package.json'], 'compiled code and dependencies only: no tests, no sources');
  assert.ok(!files.some((file) => /\/node_modules\/(typescript|eslint|fast-check|prettier)\//.test(file)), 'no development dependency');
  assert.deepEqual(
    files.filter((file) => file.startsWith('/usr/lib/healthcast/') && /\.(ts|map)$/.test(file)),
    [],
    'no TypeScript, no source maps',
  );
  for (const doc of ['copyright', 'changelog.gz', 'guide.md', 'operations.md', 'README.md']) assert.ok(files.includes(`/usr/share/doc/healthcast/${doc}`), doc);

  const existedBefore = new Set(paths.filter(exists));
  const userBefore = run('getent', ['passwd', 'healthcast']).status === 0;
  let installedByTest = false;
  t.after(async () => {
    if (installedByTest && packageStatus()) await dpkg(['--purge', 'healthcast']);
    // Debian policy keeps a package's system user after purge; the machine gets back the state it had.
    if (!userBefore && run('getent', ['passwd', 'healthcast']).status === 0) run('userdel', ['healthcast']);
    if (!userBefore && run('getent', ['group', 'healthcast']).status === 0) run('groupdel', ['healthcast']);
  });

  installedByTest = true;
  const installed = await dpkg(['--install', deb]);
  assert.equal(installed.status, 0, `dpkg -i: ${shown(installed)}`);
  assert.equal(packageStatus(), 'install ok installed');

  const versionRun = run('/usr/bin/healthcast', ['--version']);
  assert.equal(versionRun.status, 0, shown(versionRun));
  assert.equal(versionRun.stdout.trim(), version, '/usr/bin/healthcast runs (its `env -S node` shebang with the heap flags)');
  const asNobody = run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/healthcast', '--version']);
  assert.equal(asNobody.stdout.trim(), version, `another user can run it: ${shown(asNobody)}`);

  const check = run('/usr/bin/healthcast', ['check-config']);
  assert.equal(check.status, 0, `the shipped /etc/healthcast/healthcast.yaml passes: ${shown(check)}`);
  assert.match(check.stdout, /healthcast\.yaml: OK, 0 service\(s\)/);
  const exampleDir = path.join(work, 'example');
  fs.mkdirSync(path.join(exampleDir, 'services.d'), { recursive: true });
  fs.copyFileSync('/etc/healthcast/services.d/dns.yaml.example', path.join(exampleDir, 'services.d', 'dns.yaml'));
  fs.writeFileSync(path.join(exampleDir, 'healthcast.yaml'), `interface: lo\nstate_dir: ${exampleDir}/state\nservices_dir: services.d\n`);
  const example = run('/usr/bin/healthcast', ['check-config', '--config', path.join(exampleDir, 'healthcast.yaml')]);
  assert.equal(example.status, 0, `the shipped example service passes once copied to a .yaml: ${shown(example)}`);
  assert.match(example.stdout, /OK, 1 service\(s\)/);

  // Node refuses an option it does not know, so --version above ran with the shebang's flags; these are they.
  assert.deepEqual(healthcastNodeFlags('/usr/lib/healthcast/bin/healthcast'), ['--max-semi-space-size=8', '--heap-growing-percent=30']);
  // The agent itself, from the installed tree, in a network namespace of its own (as root, with an empty config).
  const agentDir = path.join(work, 'agent');
  fs.mkdirSync(agentDir);
  fs.writeFileSync(path.join(agentDir, 'healthcast.yaml'), `interface: lo\nstate_dir: ${agentDir}/state\ncontrol_socket: ${agentDir}/control.sock\n`);
  const agent = await startInstalledAgent(path.join(agentDir, 'healthcast.yaml'));
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, 'the installed agent starts, and exits 0 on SIGTERM');

  const unit = '/lib/systemd/system/healthcast.service';
  const verify = run('systemd-analyze', ['verify', unit]);
  assert.equal(verify.status, 0, `systemd-analyze verify: ${shown(verify)}`);
  assert.deepEqual(
    `${verify.stdout}${verify.stderr}`.split('\n').filter((line) => line.includes('healthcast')),
    [],
    'systemd has nothing to say about the unit',
  );
  const documentation = /^Documentation=(.*)$/m.exec(fs.readFileSync(unit, 'utf8'))?.[1]?.split(/\s+/) ?? [];
  assert.ok(documentation.length > 0, 'the unit names its documentation');
  for (const url of documentation.filter((entry) => entry.startsWith('file:'))) assert.ok(fs.existsSync(url.slice('file:'.length)), `${url} is installed`);
  const man = run('zcat', ['/usr/share/man/man8/healthcast.8.gz']);
  assert.match(man.stdout, /^\.TH HEALTHCAST 8 /m);

  const user = run('getent', ['passwd', 'healthcast']);
  assert.match(user.stdout, /^healthcast:x:\d+:\d+:[^:]*:\/var\/lib\/healthcast:\/usr\/sbin\/nologin$/m, 'the system user the unit runs as');
  const uid = Number(user.stdout.split(':')[2]);
  const etc = fs.statSync('/etc/healthcast');
  assert.equal(etc.mode & 0o777, 0o750, '/etc/healthcast: readable by the agent, not by other users');
  assert.equal(etc.uid, 0);
  const state = fs.statSync('/var/lib/healthcast');
  assert.equal(state.uid, uid, '/var/lib/healthcast belongs to healthcast');
  assert.equal(state.mode & 0o777, 0o700);
  assert.deepEqual(agentsRunning(), [], 'installing never starts the agent');

  const removed = await dpkg(['--remove', 'healthcast']);
  assert.equal(removed.status, 0, `dpkg -r: ${shown(removed)}`);
  assert.equal(packageStatus(), 'deinstall ok config-files');
  for (const gone of ['/usr/lib/healthcast', '/usr/bin/healthcast', unit, '/usr/share/man/man8/healthcast.8.gz']) assert.ok(!exists(gone), `dpkg -r removes ${gone}`);
  assert.ok(exists('/etc/healthcast/healthcast.yaml'), 'dpkg -r keeps the configuration');
  assert.ok(exists('/var/lib/healthcast'), 'dpkg -r keeps the state (what the agent added is recorded there)');

  const purged = await dpkg(['--purge', 'healthcast']);
  assert.equal(purged.status, 0, `dpkg -P: ${shown(purged)}`);
  assert.equal(packageStatus(), undefined);
  assert.deepEqual(
    paths.filter((entry) => !existedBefore.has(entry) && exists(entry)),
    [],
    'nothing of the package is left',
  );
  for (const gone of ['/etc/healthcast', '/var/lib/healthcast', '/run/healthcast']) assert.ok(!exists(gone), `dpkg -P removes ${gone}`);
  assert.equal(run('getent', ['passwd', 'healthcast']).status, 0, 'the system user stays after purge (Debian policy; docs/operations.md)');
  const owned = run('find', ['/etc', '/var/lib', '/var/log', '/run', '-xdev', '-uid', String(uid)]);
  assert.equal(owned.stdout.trim(), '', 'no file belongs to the user any more');
});

test('lintian: no error, and only the warnings docs/operations.md keeps, with its reasons', { timeout: 600_000 }, (t) => {
  if (!requirePrerequisites(t, { root: true, commands: COMMANDS })) return;
  const deb = buildPackage();
  const result = run('lintian', ['--tag-display-limit', '0', deb], { timeoutMs: 600_000 });
  const reported = [...`${result.stdout}${result.stderr}`.matchAll(/^([EW]): healthcast[^:]*: (\S+)/gm)].map((match) => ({ level: match[1]!, tag: match[2]! }));
  t.diagnostic(`lintian: ${reported.map(({ level, tag }) => `${level}: ${tag}`).join(', ') || 'nothing'}`);
  assert.deepEqual(
    reported.filter(({ level }) => level === 'E'),
    [],
    `lintian errors: ${result.stdout}`,
  );
  const docs = fs.readFileSync(path.join(repoRoot, 'docs/operations.md'), 'utf8');
  const section = /### Lintian warnings kept\n([\s\S]*?)(?:\n#|$)/.exec(docs)?.[1] ?? '';
  const kept = [...section.matchAll(/^- `([a-z0-9-]+)`/gm)].map((match) => match[1]!);
  assert.ok(kept.length > 0, 'docs/operations.md lists the kept warnings under "### Lintian warnings kept"');
  const warnings = [...new Set(reported.filter(({ level }) => level === 'W').map(({ tag }) => tag))].sort();
  assert.deepEqual(warnings, [...kept].sort(), 'the warnings lintian gives are exactly the ones the docs keep and explain');
});

// `unshare --net` execs /usr/bin/healthcast, whose shebang execs node: one process, its pid the child's.
async function startInstalledAgent(config: string): Promise<{ pid: number; kill: (signal: NodeJS.Signals) => void; exited: Promise<number | null> }> {
  const child = spawn('unshare', ['--net', '/usr/bin/healthcast', 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the installed agent did not start in 30 s: ${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('"msg":"agent started"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the installed agent exited (${code}): ${output}`));
    });
  });
  try {
    await started;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { pid: child.pid!, kill: (signal) => child.kill(signal), exited };
}

// Processes running the installed agent (read from /proc; nothing is signalled).
function agentsRunning(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/usr/lib/healthcast/');
      } catch {
        return false;
      }
    })
    .map(Number);
}

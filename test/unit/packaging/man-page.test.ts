import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELP } from '../../../src/cli/main.js';
import { escape, manPage } from '../../../scripts/package/man-page.js';
import { keptDependencyFile, productionPackages } from '../../../scripts/package/install-tree.js';

const page = manPage(HELP, { version: '1.2.3', date: '2026-01-02' });

test('healthcast(8) is written from --help: every command and option of the help is on the page', () => {
  assert.match(page, /^\.TH HEALTHCAST 8 "2026-01-02" "healthcast 1\.2\.3" "System Administration"$/m);
  const commands = [...HELP.matchAll(/^ {2}healthcast ([a-z-]+)/gm)].map((match) => match[1]!);
  assert.ok(commands.length >= 10, `the help lists the commands (${commands.join(', ')})`);
  for (const command of commands) assert.ok(page.includes(`.B healthcast ${escape(command)}`), `${command} is on the page`);
  for (const option of ['config', 'log-level', 'socket']) assert.ok(page.includes(`\\-\\-${escape(option)}`), `--${option} is on the page`);
  // A description that continues on the help's next lines is one paragraph on the page.
  assert.match(page, /run one service's probes once and print the results; exit 0 healthy, 1 unhealthy, 2 config error; touches nothing/);
  // frr-config's synopsis spans four help lines: one entry.
  assert.match(page, /\.B healthcast frr\\-config .*\\-\\-hostname NAME\]\n/);
  assert.match(page, /^\.SH SIGNALS\n\.PP\nSignals \(run\): TERM\/INT withdraw everything/m);
});

test('roff: no line of the page starts with a control character it did not mean', () => {
  for (const line of page.split('\n')) {
    if (line.startsWith('.')) assert.match(line, /^\.(TH|SH|TP|PP|B|I|br|nh)( |$)/, `a request: ${line}`);
    else assert.doesNotMatch(line, /^'/, line);
  }
  assert.equal(escape(".so /etc/passwd -x \\n"), '\\&.so /etc/passwd \\-x \\en');
});

test('the installed tree holds the production dependencies only, without what nothing loads', () => {
  const lock = {
    packages: {
      '': {},
      'node_modules/zod': {},
      'node_modules/typescript': { dev: true },
      'node_modules/a/node_modules/b': {},
      'node_modules/linked': { link: true },
    },
  };
  assert.deepEqual(productionPackages(lock), ['node_modules/a/node_modules/b', 'node_modules/zod']);
  const cases: [string, boolean][] = [
    ['index.js', true],
    ['lib/api.cjs', true],
    ['bin.mjs', true],
    ['index.d.ts', false],
    ['src/zod.ts', false],
    ['index.js.map', false],
    ['README.md', false],
    ['LICENSE', false],
    ['license', false],
    ['LICENSE.txt', false],
    ['.npmignore', false],
    ['.husky/pre-commit', false],
    ['test/fixtures/a.js', false],
    ['examples/client.html', false],
    ['inc-version.sh', false],
    ['lib/testing.js', true],
  ];
  for (const [file, kept] of cases) assert.equal(keptDependencyFile(file), kept, file);
});

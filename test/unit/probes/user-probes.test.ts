// User probes from probe_dirs: loaded through loadConfig, their options validated like built-in ones, and run.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/load.js';
import { isHealthcastError, ErrorCodes } from '../../../src/errors.js';
import { runProbe } from '../../../src/core/probe-run/run.js';
import { loadUserProbes } from '../../../probes/user.js';
import type { ProbeConfig } from '../../../src/config/types.js';
import { silentLogger } from '../../../src/log.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/user-probes', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcast-user-probes-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
// A fresh folder with the given files; returns its path.
function folder(files: Record<string, string>): string {
  const dir = path.join(tmp, `case-${++counter}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

async function configErrors(dir: string): Promise<string[]> {
  try {
    await loadConfig(path.join(dir, 'healthcast.yaml'));
  } catch (error) {
    assert.ok(isHealthcastError(error, ErrorCodes.CONFIG_INVALID), `unexpected error: ${String(error)}`);
    return [...error.details];
  }
  assert.fail('the configuration was accepted');
}

function run(probe: ProbeConfig) {
  return runProbe({
    definition: probe.definition,
    options: probe.options,
    timeoutMs: probe.timeoutMs,
    log: silentLogger(),
    service: { name: 'files', addresses: ['192.0.2.10'] },
  });
}

test('fixture probes load through loadConfig, validate their options and run', async () => {
  const echo = dgram.createSocket('udp4');
  echo.on('message', (message, from) => echo.send(message, from.port, from.address));
  await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
  try {
    const flag = path.join(tmp, 'flag');
    fs.writeFileSync(flag, 'up');
    const dir = folder({
      'healthcast.yaml': [
        `probe_dirs: [${JSON.stringify(fixtures)}, ${JSON.stringify(path.join(fixtures, 'plain'))}]`,
        'services:',
        '  - name: files',
        '    addresses: [192.0.2.10]',
        '    probes:',
        `      - { type: file_exists, path: ${JSON.stringify(flag)}, max_age_seconds: 60 }`,
        `      - { type: udp_echo, host: 127.0.0.1, port: ${echo.address().port}, timeout: 300ms }`,
        '      - { type: always_up }',
        '',
      ].join('\n'),
    });
    const config = await loadConfig(path.join(dir, 'healthcast.yaml'));
    const [fileProbe, echoProbe, plainProbe] = config.services[0]!.probes;
    assert.deepEqual(fileProbe?.options, { path: flag, max_age_seconds: 60 });
    assert.equal(echoProbe?.timeoutMs, 300);
    assert.equal((await run(fileProbe!)).ok, true);
    assert.equal((await run(echoProbe!)).ok, true);
    assert.deepEqual(await run(plainProbe!).then((r) => [r.ok, r.reason]), [true, 'fine']);

    fs.rmSync(flag);
    assert.equal((await run(fileProbe!)).reason, `${flag}: ENOENT`);
    echo.removeAllListeners('message');
    const silent = await run(echoProbe!);
    assert.equal(silent.reason, `no echo from 127.0.0.1:${echo.address().port}`);
  } finally {
    echo.close();
  }
});

test('a bad option of a user probe is an error naming the file and the key path', async () => {
  const dir = folder({
    'healthcast.yaml': `probe_dirs: [${JSON.stringify(fixtures)}]\nservices_dir: services.d\n`,
    'services.d/files.yaml':
      'name: files\naddresses: [192.0.2.10]\nprobes:\n  - { type: file_exists, path: relative/flag }\n  - { type: udp_echo, host: 127.0.0.1, port: 7, colour: red }\n',
  });
  const errors = await configErrors(dir);
  assert.ok(errors.includes('services.d/files.yaml: probes[0].path: must be an absolute path'), errors.join('\n'));
  assert.ok(
    errors.some((line) => line.startsWith('services.d/files.yaml: probes[1].colour: ')),
    errors.join('\n'),
  );
  assert.equal(errors.length, 2, errors.join('\n'));
});

test('broken modules give clear errors naming the file', async () => {
  const cases: { file: string; text: string; expect: RegExp }[] = [
    { file: 'syntax.mjs', text: 'export default {{{', expect: /syntax\.mjs: cannot load: .*SyntaxError|syntax\.mjs: cannot load: .*Unexpected token/ },
    {
      file: 'no_run.mjs',
      text: "export default ({ z }) => ({ type: 'no_run', options: z.strictObject({}) });",
      expect: /no_run\.mjs: probe "no_run" needs a run\(options, ctx\) function/,
    },
    {
      file: 'no_schema.mjs',
      text: "export default { type: 'no_schema', options: {}, run: async () => ({ ok: true }) };",
      expect: /no_schema\.mjs: probe "no_schema" needs `options`, a zod schema/,
    },
    { file: 'no_default.mjs', text: 'export const probe = 1;', expect: /no_default\.mjs: has no default export describing a probe/ },
    {
      file: 'Bad_Name.mjs',
      text: "export default ({ z }) => ({ type: 'Bad Name', options: z.strictObject({}), run: async () => ({ ok: true }) });",
      expect: /Bad_Name\.mjs: default export needs a `type`/,
    },
    {
      file: 'factory_throws.mjs',
      text: "export default () => { throw new Error('no config file'); };",
      expect: /factory_throws\.mjs: the default export is a factory, and calling it failed: no config file/,
    },
    {
      file: 'clash.mjs',
      text: "export default ({ z }) => ({ type: 'tcp', options: z.strictObject({}), run: async () => ({ ok: true }) });",
      expect: /clash\.mjs: probe type "tcp" is already taken by a built-in probe/,
    },
  ];
  for (const { file, text, expect } of cases) {
    const dir = folder({ [`probes/${file}`]: text, 'healthcast.yaml': 'probe_dirs: [probes]\n' });
    const errors = await configErrors(dir);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^healthcast\.yaml: probe_dirs: /);
    assert.match(errors[0]!, expect);
  }
  const missing = await configErrors(folder({ 'healthcast.yaml': 'probe_dirs: [nowhere]\n' }));
  assert.match(missing[0] ?? '', /probe_dirs: cannot read .*nowhere: .*ENOENT/);
});

test('two files defining the same type: the second is named', async () => {
  const text = "export default ({ z }) => ({ type: 'twin', options: z.strictObject({}), run: async () => ({ ok: true }) });";
  const dir = folder({ 'a.mjs': text, 'b.js': text });
  await assert.rejects(
    loadUserProbes(dir),
    (error: Error) => error.message === `${path.join(dir, 'b.js')}: probe type "twin" is already taken by ${path.join(dir, 'a.mjs')}`,
  );
});

test('a user run() that throws or returns nonsense still yields a proper failure', async () => {
  const dir = folder({
    'odd.mjs': `export default ({ z, defineProbe }) => defineProbe({
      type: 'odd', summary: 'misbehaves on request', options: z.strictObject({ mode: z.enum(['throw', 'nothing', 'no-reason', 'hang']) }),
      async run(options, ctx) {
        if (options.mode === 'throw') throw new Error('boom');
        if (options.mode === 'nothing') return undefined;
        if (options.mode === 'no-reason') return { ok: false };
        return new Promise(() => {});
      },
    });`,
  });
  const [odd] = await loadUserProbes(dir);
  const outcome = (mode: string, timeoutMs = 500) =>
    runProbe({ definition: odd!, options: odd!.options.parse({ mode }), timeoutMs, log: silentLogger(), service: { name: 's', addresses: [] } }).then((r) => [
      r.ok,
      r.reason,
    ]);
  assert.deepEqual(await outcome('throw'), [false, 'probe "odd" threw: boom']);
  assert.deepEqual(await outcome('nothing'), [false, 'probe "odd" (odd.mjs) returned undefined instead of { ok, reason }']);
  assert.deepEqual(await outcome('no-reason'), [false, 'probe "odd" failed without a reason']);
  assert.deepEqual(await outcome('hang', 50), [false, 'timed out after 50ms']);
});

test('an edited module is picked up by the next load (config reload)', async () => {
  const dir = folder({ 'flip.mjs': "export default ({ z }) => ({ type: 'flip', options: z.strictObject({}), run: async () => ({ ok: true }) });" });
  const first = await loadUserProbes(dir);
  fs.writeFileSync(
    path.join(dir, 'flip.mjs'),
    "export default ({ z }) => ({ type: 'flip', options: z.strictObject({}), run: async () => ({ ok: false, reason: 'v2' }) });",
  );
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(dir, 'flip.mjs'), later, later);
  const second = await loadUserProbes(dir);
  const ctx = { signal: new AbortController().signal, timeoutMs: 100, log: silentLogger(), service: { name: 's', addresses: [] } };
  assert.deepEqual(await first[0]!.run({}, ctx), { ok: true });
  assert.deepEqual(await second[0]!.run({}, ctx), { ok: false, reason: 'v2' });
});

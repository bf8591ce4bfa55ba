// Hostile configurations: the stored fixtures (test/fixtures/hostile) plus generated huge and deeply nested ones,
// written out as real files with the placeholders filled in.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../../support/paths.js';

export interface HostileConfig {
  name: string;
  // Files relative to the directory of the main file; the main file is "healthcast.yaml".
  files: Record<string, string | Buffer>;
  // Rejected with an error matching this, or accepted (and odd values used literally).
  expect: RegExp | 'accept';
}

const HOSTILE_DIR = fixture('hostile');
const VALID_SERVICE = '  - name: dns\n    addresses: [192.0.2.1]\n    probes: [{ type: tcp, host: 127.0.0.1, ports: [53] }]\n';

function readTree(dir: string, prefix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) Object.assign(files, readTree(path.join(dir, entry.name), relative));
    else files[relative] = fs.readFileSync(path.join(dir, entry.name), 'utf8');
  }
  return files;
}

function expectation(text: string, name: string): RegExp | 'accept' {
  const first = text.split('\n')[0] ?? '';
  if (first.trim() === '# accept') return 'accept';
  const match = /^# expect: (.+)$/.exec(first);
  if (!match) throw new Error(`fixture ${name}: the first line must be "# expect: REGEX" or "# accept"`);
  return new RegExp(match[1]!, 'i');
}

function stored(): HostileConfig[] {
  const configs: HostileConfig[] = [];
  for (const entry of fs.readdirSync(HOSTILE_DIR, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory()) {
      const files = readTree(path.join(HOSTILE_DIR, entry.name));
      configs.push({ name: entry.name, files, expect: expectation(files['healthcast.yaml'] ?? '', entry.name) });
    } else if (entry.name.endsWith('.yaml')) {
      const text = fs.readFileSync(path.join(HOSTILE_DIR, entry.name), 'utf8');
      configs.push({ name: entry.name.replace(/\.yaml$/, ''), files: { 'healthcast.yaml': text }, expect: expectation(text, entry.name) });
    }
  }
  return configs;
}

function generated(): HostileConfig[] {
  const head = 'state_dir: @STATE_DIR@\n';
  const twoMiB = '# padding\n'.repeat(210_000);
  return [
    {
      name: 'huge main file (2 MiB)',
      files: { 'healthcast.yaml': `${head}services:\n${VALID_SERVICE}${twoMiB}` },
      expect: /healthcast\.yaml: file is \d+ bytes, larger than/,
    },
    {
      name: 'huge file in services_dir',
      files: { 'healthcast.yaml': `${head}services_dir: services.d\n`, 'services.d/big.yaml': `name: big\n${twoMiB}` },
      expect: /services\.d\/big\.yaml: file is \d+ bytes, larger than/,
    },
    {
      name: 'sequences nested 100,000 deep',
      files: { 'healthcast.yaml': `${head}services: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n` },
      expect: /healthcast\.yaml: .*(call stack|nest|depth)/,
    },
    {
      name: 'mappings nested 20,000 deep',
      files: { 'healthcast.yaml': `${head}services: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}\n` },
      expect: /healthcast\.yaml: .*(call stack|nest|depth)/,
    },
    {
      name: 'binary garbage',
      files: { 'healthcast.yaml': Buffer.concat([crypto.randomBytes(4096), Buffer.from([0, 0, 0xff, 0xfe])]) },
      expect: /healthcast\.yaml: /,
    },
  ];
}

export function hostileConfigs(): HostileConfig[] {
  return [...stored(), ...generated()];
}

// Writes the config into `dir` (main file at dir/healthcast.yaml, or at `mainFile` when given).
export function materialize(
  config: HostileConfig,
  dir: string,
  values: { stateDir: string; controlSocket: string; marker: string },
  mainFile = path.join(dir, 'healthcast.yaml'),
): string {
  for (const [relative, content] of Object.entries(config.files)) {
    const target = relative === 'healthcast.yaml' ? mainFile : path.join(dir, relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const text =
      typeof content === 'string'
        ? content.replaceAll('@STATE_DIR@', values.stateDir).replaceAll('@CONTROL_SOCKET@', values.controlSocket).replaceAll('@MARKER@', values.marker)
        : content;
    const temp = `${target}.tmp`;
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, target);
  }
  return mainFile;
}

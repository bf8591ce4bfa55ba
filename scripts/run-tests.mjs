// Runs the whole built suite (unit, integration, end-to-end, reliability) with node's test runner.
// Files are listed explicitly: given a folder, node 20 would also run every helper module under it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const roots = ['dist/test/unit', 'dist/test/integration', 'dist/test/e2e', 'dist/test/reliability'];
const files = roots.filter((dir) => fs.existsSync(dir)).flatMap((dir) => testFiles(dir));
if (files.length === 0) {
  console.error('no test files found under dist/test: run `npm run build` first');
  process.exit(1);
}
const extra = process.argv.slice(2);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...extra, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);

function testFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.js'))
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

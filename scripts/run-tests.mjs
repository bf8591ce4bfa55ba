// Runs the whole built suite (unit, integration, end-to-end) with node's test runner.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const roots = ['dist/test/unit', 'dist/test/integration', 'dist/test/e2e'].filter((dir) => fs.existsSync(dir));
const extra = process.argv.slice(2);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...extra, ...roots], { stdio: 'inherit' });
process.exit(result.status ?? 1);

// How every benchmark reports: a plain-text table on stdout and a JSON file in bench/results/ with the machine it ran on.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../test/support/paths.js';
import { fmt, summarize, type Summary } from './stats.js';

export const RESULTS_DIR = path.join(repoRoot, 'bench', 'results');

export interface Row {
  name: string;
  unit: string;
  summary: Summary;
  target?: string;
}

export function row(name: string, unit: string, values: readonly number[], target?: string): Row {
  return { name, unit, summary: summarize(values), ...(target ? { target } : {}) };
}

export function table(title: string, rows: readonly Row[]): string {
  const header = ['measure', 'unit', 'n', 'min', 'median', 'p90', 'max', 'target'];
  // Sub-unit figures (CPU ms per check) keep three decimals.
  const cell = (value: number) => (Math.abs(value) < 1 && value !== 0 ? value.toFixed(3) : fmt(value));
  const body = rows.map((r) => [
    r.name,
    r.unit,
    String(r.summary.n),
    cell(r.summary.min),
    cell(r.summary.p50),
    cell(r.summary.p90),
    cell(r.summary.max),
    r.target ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

// Where and on what the figures were measured, so docs/performance.md can say it.
export function machine(): Record<string, unknown> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  let frr = 'unknown';
  try {
    frr = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'frr'], { encoding: 'utf8' }).trim() || frr;
  } catch {
    // no FRR
  }
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    kernel: os.release(),
    node: process.version,
    frr,
    commit,
  };
}

export function writeResult(name: string, data: Record<string, unknown>): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ benchmark: name, machine: machine(), ...data }, null, 2) + '\n');
  return file;
}

// For benchmarks whose result is a list of single figures rather than repeated samples.
export function keyValueTable(title: string, entries: readonly [string, string, string?][]): string {
  const widths = [0, 1, 2].map((i) => Math.max(...entries.map((entry) => (entry[i] ?? '').length)));
  return [title, ...entries.map((entry) => `${entry[0].padEnd(widths[0]!)}  ${entry[1].padStart(widths[1]!)}  ${entry[2] ?? ''}`.trimEnd())].join('\n');
}

// Loads probes users write themselves: every .js/.mjs module in a probe dir whose default export is a probe.
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProbeDefinition } from './types.js';
import { messageOf } from '../src/errors.js';

export async function loadUserProbes(dir: string): Promise<ProbeDefinition[]> {
  let entries: string[];
  try {
    entries = (await fs.readdir(dir)).filter((name) => /\.(m?js)$/.test(name)).sort();
  } catch (error) {
    throw new Error(`cannot read ${dir}: ${messageOf(error)}`);
  }
  const definitions: ProbeDefinition[] = [];
  for (const name of entries) {
    const file = path.join(dir, name);
    let loaded: { default?: unknown };
    try {
      loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      throw new Error(`${file}: cannot load: ${messageOf(error)}`);
    }
    const problem = checkDefinition(loaded.default);
    if (problem) throw new Error(`${file}: ${problem}`);
    definitions.push(loaded.default as ProbeDefinition);
  }
  return definitions;
}

function checkDefinition(candidate: unknown): string | undefined {
  if (typeof candidate !== 'object' || candidate === null) return 'has no default export describing a probe';
  const probe = candidate as Partial<ProbeDefinition>;
  if (typeof probe.type !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(probe.type)) return 'default export needs a `type` (lowercase name)';
  if (typeof probe.run !== 'function') return `probe "${probe.type}" needs a run(options, ctx) function`;
  if (typeof probe.options !== 'object' || probe.options === null || typeof (probe.options as { safeParse?: unknown }).safeParse !== 'function') {
    return `probe "${probe.type}" needs \`options\`, a zod schema`;
  }
  return undefined;
}

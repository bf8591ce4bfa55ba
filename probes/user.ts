// Loads probes users write themselves: every .js/.mjs module in a probe dir whose default export is a probe,
// or a factory `({ z, defineProbe }) => probe` that gets healthcast's own zod (a probe dir has no node_modules).
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { defineProbe, messageOf, type ProbeContext, type ProbeDefinition, type ProbeOutcome } from './kit/index.js';
import { builtinProbes } from './registry.js';

// What a factory receives; documented in docs/writing-a-probe.md, so only ever add to it.
export interface ProbeKit {
  z: typeof z;
  defineProbe: typeof defineProbe;
}

const kit: ProbeKit = Object.freeze({ z, defineProbe });
const NAME = /^[a-z][a-z0-9_-]*$/;

export async function loadUserProbes(dir: string): Promise<ProbeDefinition[]> {
  let entries: string[];
  try {
    entries = (await fs.readdir(dir)).filter((name) => /\.m?js$/.test(name) && !name.startsWith('.')).sort();
  } catch (error) {
    throw new Error(`cannot read ${dir}: ${messageOf(error)}`, { cause: error });
  }
  const taken = new Map<string, string>(
    builtinProbes.flatMap((probe) => [probe.type, ...(probe.aliases ?? [])].map((name) => [name, 'a built-in probe'] as const)),
  );
  const definitions: ProbeDefinition[] = [];
  for (const name of entries) {
    const file = path.join(dir, name);
    const definition = await loadOne(file);
    for (const type of [definition.type, ...(definition.aliases ?? [])]) {
      const owner = taken.get(type);
      if (owner) throw new Error(`${file}: probe type "${type}" is already taken by ${owner}`);
      taken.set(type, file);
    }
    definitions.push(definition);
  }
  return definitions;
}

async function loadOne(file: string): Promise<ProbeDefinition> {
  let exported: unknown;
  try {
    // The mtime in the URL makes a config reload pick up an edited module instead of the cached one.
    const { mtimeMs } = await fs.stat(file);
    exported = ((await import(`${pathToFileURL(file).href}?mtime=${Math.trunc(mtimeMs)}`)) as { default?: unknown }).default;
  } catch (error) {
    throw new Error(`${file}: cannot load: ${messageOf(error)}`, { cause: error });
  }
  if (typeof exported === 'function') {
    try {
      exported = await (exported as (k: ProbeKit) => unknown)(kit);
    } catch (error) {
      throw new Error(`${file}: the default export is a factory, and calling it failed: ${messageOf(error)}`, { cause: error });
    }
  }
  const problem = checkDefinition(exported);
  if (problem) throw new Error(`${file}: ${problem}`);
  return guard(exported as ProbeDefinition, file);
}

function checkDefinition(candidate: unknown): string | undefined {
  if (typeof candidate !== 'object' || candidate === null)
    return 'has no default export describing a probe (an object, or a function ({ z, defineProbe }) returning one)';
  const probe = candidate as Partial<ProbeDefinition>;
  if (typeof probe.type !== 'string' || !NAME.test(probe.type)) return 'default export needs a `type` (lowercase name: letters, digits, "_" or "-")';
  if (probe.aliases !== undefined && (!Array.isArray(probe.aliases) || !probe.aliases.every((alias) => typeof alias === 'string' && NAME.test(alias)))) {
    return `probe "${probe.type}": \`aliases\` must be a list of lowercase names`;
  }
  if (typeof probe.run !== 'function') return `probe "${probe.type}" needs a run(options, ctx) function`;
  if (typeof probe.options !== 'object' || probe.options === null || typeof (probe.options as { safeParse?: unknown }).safeParse !== 'function') {
    return `probe "${probe.type}" needs \`options\`, a zod schema (z.strictObject({...}))`;
  }
  return undefined;
}

// A user's run() may throw, hang past the abort or return nonsense; the agent only ever sees a proper outcome.
function guard(probe: ProbeDefinition, file: string): ProbeDefinition {
  const userRun = probe.run.bind(probe);
  return {
    ...probe,
    summary: typeof probe.summary === 'string' ? probe.summary : `user probe from ${path.basename(file)}`,
    async run(options: unknown, ctx: ProbeContext): Promise<ProbeOutcome> {
      let outcome: unknown;
      try {
        outcome = await userRun(options, ctx);
      } catch (error) {
        // After an abort the runner words the reason (timeout or cancel).
        if (ctx.signal.aborted) throw error;
        return { ok: false, reason: `probe "${probe.type}" threw: ${messageOf(error)}` };
      }
      if (typeof outcome !== 'object' || outcome === null || typeof (outcome as { ok?: unknown }).ok !== 'boolean') {
        return { ok: false, reason: `probe "${probe.type}" (${path.basename(file)}) returned ${describe(outcome)} instead of { ok, reason }` };
      }
      const { ok, reason } = outcome as { ok: boolean; reason?: unknown };
      if (ok) return typeof reason === 'string' ? { ok, reason } : { ok };
      return { ok, reason: typeof reason === 'string' && reason !== '' ? reason : `probe "${probe.type}" failed without a reason` };
    },
  };
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  return typeof value === 'object' ? 'an object without a boolean `ok`' : `a ${typeof value}`;
}

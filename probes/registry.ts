// The only list of probe names; the config schema is derived from it.
import type { ProbeDefinition } from './kit/index.js';
import tcp from './tcp.js';
import http from './http.js';
import httpProxy from './http-proxy.js';
import exec from './exec.js';
import dns from './dns.js';
import radius from './radius.js';
import syslog from './syslog.js';

export const builtinProbes: readonly ProbeDefinition[] = [
  tcp as ProbeDefinition,
  http as ProbeDefinition,
  httpProxy as ProbeDefinition,
  exec as ProbeDefinition,
  dns as ProbeDefinition,
  radius as ProbeDefinition,
  syslog as ProbeDefinition,
];

export class ProbeRegistry {
  private readonly byType = new Map<string, ProbeDefinition>();

  constructor(definitions: readonly ProbeDefinition[] = builtinProbes) {
    for (const definition of definitions) this.add(definition);
  }

  add(definition: ProbeDefinition): void {
    for (const name of [definition.type, ...(definition.aliases ?? [])]) {
      if (this.byType.has(name)) throw new Error(`probe type "${name}" is defined twice`);
      this.byType.set(name, definition);
    }
  }

  get(type: string): ProbeDefinition | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }
}

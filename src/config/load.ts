// Reads the main file and services_dir, validates everything, and reports every error with file and key path.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { mainSchema, serviceSchema, type MainFile, type ServiceFile } from './schema.js';
import type { AgentConfig, DampingConfig, ServiceConfig } from './types.js';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';
import { ProbeRegistry } from '../../probes/registry.js';
import { loadUserProbes } from '../../probes/user.js';

import { DEFAULT_CONFIG_FILE, DEFAULT_DAMPING, DEFAULT_DEGRADED_METRIC } from './defaults.js';
const MAX_FILE_BYTES = 1024 * 1024;

export async function loadConfig(file: string = DEFAULT_CONFIG_FILE): Promise<AgentConfig> {
  const errors: string[] = [];
  const mainLabel = path.basename(file);
  const mainRaw = await readYaml(file, mainLabel, errors);
  if (mainRaw === undefined) throw invalid(file, errors);
  // Unknown top-level keys are reported, but the services are still checked so one run shows every error.
  const main = report(mainSchema.safeParse(mainRaw ?? {}), mainLabel, errors) ?? lenientMain(mainRaw);
  if (!main) throw invalid(file, errors);

  const baseDir = path.dirname(path.resolve(file));
  const registry = new ProbeRegistry();
  const errorsBeforeProbes = errors.length;
  for (const dir of main.probe_dirs) {
    const probeDir = path.resolve(baseDir, dir);
    try {
      for (const definition of await loadUserProbes(probeDir)) registry.add(definition);
    } catch (error) {
      errors.push(`${mainLabel}: probe_dirs: ${messageOf(error)}`);
    }
  }
  // Without the user's probes every service using them would only repeat "unknown probe type".
  if (errors.length > errorsBeforeProbes) throw invalid(file, errors);

  const schema = serviceSchema(registry);
  const services: ServiceConfig[] = [];
  main.services.forEach((raw, index) => {
    const origin = `${mainLabel}: services[${index}]`;
    const parsed = report(schema.safeParse(raw), origin, errors);
    if (parsed) services.push(resolveService(parsed, main, origin, errors));
  });

  const servicesDir = main.services_dir === undefined ? undefined : path.resolve(baseDir, main.services_dir);
  if (servicesDir !== undefined) {
    for (const entry of await listServiceFiles(servicesDir, mainLabel, errors)) {
      const label = `${path.basename(servicesDir)}/${entry}`;
      const raw = await readYaml(path.join(servicesDir, entry), label, errors);
      if (raw === undefined) continue;
      const parsed = report(schema.safeParse(raw), label, errors);
      if (parsed) services.push(resolveService(parsed, main, label, errors));
    }
  }

  checkAcrossServices(services, errors);
  checkMaintenanceJobs(main, services, mainLabel, errors);
  if (errors.length > 0) throw invalid(file, errors);
  return {
    file: path.resolve(file),
    interface: main.interface,
    stateDir: path.resolve(baseDir, main.state_dir),
    servicesDir,
    probeDirs: main.probe_dirs.map((dir) => path.resolve(baseDir, dir)),
    reconcileIntervalMs: main.reconcile_interval,
    leaseMs: main.lease,
    routeProtocol: main.route_protocol,
    logLevel: main.log_level,
    frr: main.frr,
    controlSocket: path.resolve(baseDir, main.control_socket),
    drainInterface: main.drain_interface,
    disableDir: path.resolve(baseDir, main.disable_dir),
    metrics: main.metrics,
    maintenance: main.maintenance.map((job, index) => ({
      name: job.name ?? `maintenance[${index}]`,
      schedule: job.schedule,
      services: job.services,
      command: job.command,
      timeoutMs: job.timeout,
      stayDrainedOnFailure: job.stay_drained_on_failure,
    })),
    services,
  };
}

function lenientMain(raw: unknown): MainFile | undefined {
  const parsed = z.object(mainSchema.shape).safeParse(raw ?? {});
  return parsed.success ? parsed.data : undefined;
}

function resolveService(parsed: ServiceFile, main: MainFile, origin: string, errors: string[]): ServiceConfig {
  const intervalMs = parsed.interval ?? main.defaults.interval;
  const timeoutMs = parsed.timeout ?? main.defaults.timeout;
  const where = (key: string) => (origin.includes(': ') ? `${origin}.${key}` : `${origin}: ${key}`);
  if (timeoutMs > intervalMs) errors.push(`${where('timeout')}: ${timeoutMs}ms is longer than the interval (${intervalMs}ms)`);
  parsed.probes.forEach((probe, index) => {
    if (probe.timeoutMs !== undefined && probe.timeoutMs > intervalMs) {
      errors.push(`${where(`probes[${index}].timeout`)}: ${probe.timeoutMs}ms is longer than the interval (${intervalMs}ms)`);
    }
  });
  if (parsed.l2_router !== undefined && parsed.announce_l2 === false) {
    errors.push(`${where('l2_router')}: needs announce_l2 (the router is told after the LAN announcement)`);
  }
  // `require` counts the probes that can withdraw (effect: down), not the degrade ones.
  const downProbes = parsed.probes.filter((probe) => probe.effect === 'down').length;
  if (typeof parsed.require === 'object' && parsed.require.at_least > downProbes) {
    const which = downProbes < parsed.probes.length ? ' with effect: down' : '';
    errors.push(`${where('require.at_least')}: ${parsed.require.at_least} is more than the ${downProbes} probe(s) listed${which}`);
  }
  const fastIntervalMs = parsed.fast_interval ?? main.defaults.fast_interval;
  if (fastIntervalMs !== undefined && fastIntervalMs > intervalMs) {
    errors.push(`${where('fast_interval')}: ${fastIntervalMs}ms is longer than the interval (${intervalMs}ms)`);
  }
  if (parsed.metric !== undefined && parsed.degraded_metric !== undefined && parsed.degraded_metric <= parsed.metric) {
    errors.push(`${where('degraded_metric')}: ${parsed.degraded_metric} must be above metric (${parsed.metric}): degraded must be less preferred`);
  }
  return {
    name: parsed.name,
    addresses: [...new Set(parsed.addresses)],
    announce: parsed.announce,
    interface: parsed.interface ?? main.interface,
    intervalMs,
    timeoutMs,
    rise: parsed.rise ?? main.defaults.rise,
    fall: parsed.fall ?? main.defaults.fall,
    holdDownMs: parsed.hold_down ?? main.defaults.hold_down,
    drainMs: parsed.drain ?? main.defaults.drain,
    drainOnFailure: parsed.drain_on_failure ?? main.defaults.drain_on_failure,
    keepLast: parsed.keep_last ?? main.defaults.keep_last,
    keepLastGuardMs: parsed.keep_last_guard ?? main.defaults.keep_last_guard,
    require: parsed.require,
    probes: parsed.probes.map((probe) => ({
      type: probe.type,
      timeoutMs: probe.timeoutMs ?? timeoutMs,
      options: probe.options,
      definition: probe.definition,
      ...(probe.effect === 'degrade' ? { effect: probe.effect } : {}),
    })),
    ...(fastIntervalMs !== undefined ? { fastIntervalMs } : {}),
    ...(parsed.metric !== undefined ? { metric: parsed.metric } : {}),
    ...(parsed.degraded_metric !== undefined || parsed.probes.some((probe) => probe.effect === 'degrade')
      ? { degradedMetric: parsed.degraded_metric ?? DEFAULT_DEGRADED_METRIC, degradedPrepend: parsed.degraded_prepend }
      : {}),
    ...(parsed.damping === false ? {} : { damping: dampingConfig(parsed.damping) }),
    hooks: {
      ...(parsed.on_up ? { onUp: parsed.on_up } : {}),
      ...(parsed.on_down ? { onDown: parsed.on_down } : {}),
      ...(parsed.on_drain ? { onDrain: parsed.on_drain } : {}),
      timeoutMs: parsed.hook_timeout,
    },
    announceL2:
      parsed.announce_l2 === false
        ? undefined
        : {
            count: parsed.announce_l2 === true ? 3 : parsed.announce_l2.count,
            ...(parsed.l2_router !== undefined ? { routers: parsed.l2_router } : {}),
          },
    origin,
  };
}

function dampingConfig(raw: true | { half_life: number; suppress: number; reuse: number; max_suppress: number }): DampingConfig {
  const value = raw === true ? DEFAULT_DAMPING : raw;
  return { halfLifeMs: value.half_life, suppress: value.suppress, reuse: value.reuse, maxSuppressMs: value.max_suppress };
}

function checkAcrossServices(services: ServiceConfig[], errors: string[]): void {
  const byName = new Map<string, string>();
  const byAddress = new Map<string, string>();
  for (const service of services) {
    const first = byName.get(service.name);
    if (first) errors.push(`${service.origin}: name: service "${service.name}" is already defined in ${first}`);
    else byName.set(service.name, service.origin);
    for (const address of service.addresses) {
      const owner = byAddress.get(address);
      if (owner && owner !== service.name) errors.push(`${service.origin}: addresses: ${address} is already claimed by service "${owner}"`);
      else byAddress.set(address, service.name);
    }
  }
}

// A job naming a service that does not exist would drain nothing and surprise the operator at 3 a.m.
function checkMaintenanceJobs(main: MainFile, services: ServiceConfig[], mainLabel: string, errors: string[]): void {
  const known = new Set(services.map((service) => service.name));
  const names = new Set<string>();
  main.maintenance.forEach((job, index) => {
    for (const name of job.services ?? []) {
      if (!known.has(name)) errors.push(`${mainLabel}: maintenance[${index}].services: no service named "${name}"`);
    }
    if (job.name !== undefined) {
      if (names.has(job.name)) errors.push(`${mainLabel}: maintenance[${index}].name: "${job.name}" is used by another job`);
      names.add(job.name);
    }
  });
}

async function listServiceFiles(dir: string, mainLabel: string, errors: string[]): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && /\.ya?ml$/.test(entry.name) && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    errors.push(`${mainLabel}: services_dir: cannot read ${dir}: ${messageOf(error)}`);
    return [];
  }
}

// Returns undefined when the file could not be read or parsed (the error is recorded), null for an empty file.
async function readYaml(file: string, label: string, errors: string[]): Promise<unknown> {
  let text: string;
  try {
    const handle = await fs.open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_FILE_BYTES) {
        errors.push(`${label}: file is ${size} bytes, larger than the ${MAX_FILE_BYTES} bytes a config file may be`);
        return undefined;
      }
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    errors.push(`${label}: cannot read: ${messageOf(error)}`);
    return undefined;
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) errors.push(`${label}: ${yamlMessage(error.message)}`);
    return undefined;
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? null;
  } catch (error) {
    errors.push(`${label}: ${yamlMessage(messageOf(error))}`);
    return undefined;
  }
}

// The parser's first line, without its trailing colon; a stack overflow from absurd nesting said in plain words.
function yamlMessage(message: string): string {
  const first = (message.split('\n')[0] ?? '').replace(/:\s*$/, '');
  return first.includes('Maximum call stack size exceeded') ? first.replace('Maximum call stack size exceeded', 'nested too deeply') : first;
}

function report<T>(result: z.ZodSafeParseResult<T>, label: string, errors: string[]): T | undefined {
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const name of issue.keys) pushIssue(label, [...issue.path, name], 'unknown key', errors);
      continue;
    }
    pushIssue(label, issue.path, issue.message, errors);
  }
  return undefined;
}

function pushIssue(label: string, path: readonly PropertyKey[], message: string, errors: string[]): void {
  {
    const key = formatPath(path);
    const separator = label.includes(': ') ? (key ? '.' : '') : ': ';
    errors.push(`${label}${key ? separator + key : ''}: ${message}`);
  }
}

export function formatPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function invalid(file: string, errors: string[]): HealthcastError {
  return new HealthcastError(ErrorCodes.CONFIG_INVALID, `invalid configuration ${file}: ${errors.length} error(s)`, { details: errors });
}

// Finds the control socket from the config file without validating the rest of it: `healthcast status` must work
// while the file on disk has an error the running agent never loaded.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import {
  DEFAULT_CONFIG_FILE,
  DEFAULT_CONTROL_SOCKET,
  DEFAULT_DRAIN_INTERFACE,
  DEFAULT_ROUTE_PROTOCOL,
  DEFAULT_STATE_DIR,
  DEFAULT_VTYSH,
  ROUTE_PROTOCOL_RANGE,
} from '../config/defaults.js';
import { ErrorCodes, HealthcastError, messageOf } from '../errors.js';

export async function locateControlSocket(options: { config?: string | undefined; socket?: string | undefined }): Promise<string> {
  if (options.socket) return path.resolve(options.socket);
  const file = options.config ?? DEFAULT_CONFIG_FILE;
  let raw: unknown;
  try {
    raw = parse(await fs.readFile(file, 'utf8'), { maxAliasCount: 100 });
  } catch (error) {
    if (options.config === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_CONTROL_SOCKET;
    throw new HealthcastError(ErrorCodes.CONFIG_READ, `cannot read ${file} to find control_socket: ${messageOf(error)}`, { cause: error });
  }
  const value = typeof raw === 'object' && raw !== null ? (raw as { control_socket?: unknown }).control_socket : undefined;
  if (value === undefined) return DEFAULT_CONTROL_SOCKET;
  if (typeof value !== 'string' || value === '') throw new HealthcastError(ErrorCodes.CONFIG_INVALID, `${file}: control_socket: must be a path`);
  return path.resolve(path.dirname(path.resolve(file)), value);
}

export interface OpsSettings {
  controlSocket: string;
  stateDir: string;
  routeProtocol: number;
  drainInterface: string;
  // How to reach bgpd when the record holds network statements.
  frr: { vtysh: string; vty_socket?: string; vtysh_timeout?: number; asn?: number };
}

// What `healthcast cleanup` needs, read leniently: after a crash the file on disk may not even be valid any more.
export async function readOpsSettings(file: string | undefined): Promise<OpsSettings> {
  const configFile = path.resolve(file ?? DEFAULT_CONFIG_FILE);
  let raw: unknown;
  try {
    raw = parse(await fs.readFile(configFile, 'utf8'), { maxAliasCount: 100 });
  } catch (error) {
    throw new HealthcastError(ErrorCodes.CONFIG_READ, `cannot read ${configFile}: ${messageOf(error)}`, { cause: error });
  }
  const main = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const base = path.dirname(configFile);
  const str = (key: string, fallback: string) => (typeof main[key] === 'string' && main[key] !== '' ? (main[key] as string) : fallback);
  const proto = main.route_protocol;
  return {
    controlSocket: path.resolve(base, str('control_socket', DEFAULT_CONTROL_SOCKET)),
    stateDir: path.resolve(base, str('state_dir', DEFAULT_STATE_DIR)),
    routeProtocol:
      typeof proto === 'number' && Number.isInteger(proto) && proto >= ROUTE_PROTOCOL_RANGE.min && proto <= ROUTE_PROTOCOL_RANGE.max
        ? proto
        : DEFAULT_ROUTE_PROTOCOL,
    drainInterface: str('drain_interface', DEFAULT_DRAIN_INTERFACE),
    frr: lenientFrr(main.frr),
  };
}

function lenientFrr(raw: unknown): OpsSettings['frr'] {
  const frr = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const vtySocket = text(frr.vty_socket);
  return { vtysh: text(frr.vtysh) ?? DEFAULT_VTYSH, ...(vtySocket ? { vty_socket: vtySocket } : {}), ...(typeof frr.asn === 'number' ? { asn: frr.asn } : {}) };
}

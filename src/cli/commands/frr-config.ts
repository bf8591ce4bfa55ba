// `healthcast frr-config`: render the FRR configuration (quagga-templates/) for this node's healthcast config.
import { writeFileAtomic } from '../../atomic-file.js';
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { messageOf } from '../../errors.js';
import { resolveRenderOptions, type FrrFlags } from '../../frr/render-options.js';
import { joinForStdout, renderFrrConfig } from '../../frr/render.js';
import { readVtyPassword } from '../../frr/vty-password.js';
import { loadOrReport } from '../load-or-report.js';
import { ExitCode, type CliIO } from '../output.js';
import type { FrrConfigValues } from './frr-config-options.js';

function flagsOf(values: FrrConfigValues): FrrFlags {
  return {
    style: values.style,
    protocol: values.protocol,
    profile: values.profile,
    hostname: values.hostname,
    routerId: values['router-id'],
    area: values.area,
    interfaces: values.interface,
    asn: values.asn,
    neighbors: values.neighbor,
  };
}

export async function frrConfigCommand(file: string | undefined, values: FrrConfigValues, io: CliIO): Promise<number> {
  const config = await loadOrReport(file, io);
  if (!config) return ExitCode.USAGE_OR_CONFIG;
  const resolved = resolveRenderOptions(config, flagsOf(values));
  if (!resolved.ok) {
    io.err(`healthcast frr-config: ${resolved.errors.length} error(s)`);
    for (const error of resolved.errors) io.err(`  ${error}`);
    return ExitCode.USAGE_OR_CONFIG;
  }
  let { options } = resolved;
  const passwordFile = config.frr.vty_password_file;
  if (passwordFile !== undefined && options.style === 'split') {
    // The secret goes only into the files --out writes (0640, frr's): stdout ends up in terminals and CI logs.
    if (values.out === undefined) {
      io.err(`healthcast frr-config: note: the password line (frr.vty_password_file) is written only with --out, never to stdout`);
    } else {
      const password = readVtyPassword(passwordFile);
      if (!password.ok) {
        io.err(`healthcast frr-config: ${password.error}`);
        return ExitCode.USAGE_OR_CONFIG;
      }
      options = { ...options, vtyPassword: password.password };
    }
  } else if (passwordFile !== undefined) {
    io.err('healthcast frr-config: note: frr.vty_password_file applies to --style split only; frr.conf is applied by vtysh over Unix sockets');
  }
  if (options.servicesV4.length + options.servicesV6.length === 0)
    io.err('healthcast frr-config: note: no service addresses configured; the prefix-lists deny everything');
  let files;
  try {
    files = renderFrrConfig(options);
  } catch (error) {
    io.err(`healthcast frr-config: ${messageOf(error)}`);
    return ExitCode.FAILED;
  }
  if (values.out === undefined) {
    io.out(joinForStdout(files, options.style).replace(/\n$/, ''));
    return ExitCode.OK;
  }
  try {
    await fs.mkdir(values.out, { recursive: true });
    // FRR's daemons run as frr and must read the files: give them to frr when we can, say how when we cannot.
    const owner = frrOwner();
    const canChown = owner !== undefined && process.getuid?.() === 0;
    for (const rendered of files) {
      const target = path.join(values.out, rendered.name);
      // FRR (or an operator's reload) never reads a half-written config.
      await writeFileAtomic(target, rendered.text, { mode: 0o640, dirMode: 0o755 });
      if (canChown) await fs.chown(target, owner.uid, owner.gid);
      io.out(`wrote ${target}`);
    }
    if (!canChown)
      io.err(
        `healthcast frr-config: note: the files are yours, mode 0640; FRR reads them as user frr: chown frr:frr ${path.join(values.out, '*')} (or make them readable by FRR's user)`,
      );
  } catch (error) {
    io.err(`healthcast frr-config: --out ${values.out}: ${messageOf(error)}`);
    return ExitCode.FAILED;
  }
  return ExitCode.OK;
}

// The frr user and group from /etc/passwd and /etc/group (Node has no getpwnam); undefined when either is missing.
export function frrOwner(passwd = readText('/etc/passwd'), group = readText('/etc/group')): { uid: number; gid: number } | undefined {
  const field = (text: string, name: string, index: number) =>
    text
      .split('\n')
      .find((line) => line.split(':')[0] === name)
      ?.split(':')[index];
  const uid = Number(field(passwd, 'frr', 2));
  const gid = Number(field(group, 'frr', 2));
  return Number.isInteger(uid) && Number.isInteger(gid) && field(passwd, 'frr', 2) !== undefined && field(group, 'frr', 2) !== undefined
    ? { uid, gid }
    : undefined;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

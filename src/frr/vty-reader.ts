// Read-only `show` commands over the daemons' own vty sockets (DIR/ospfd.vty, ospf6d.vty, bgpd.vty), kept open: the
// watchers ask FRR every second or so, and a vtysh process per question cost 70-100 ms of CPU and woke the event
// loop late by up to 50 ms at p99 beside 1,000 probes (docs/performance.md, section 1); an open socket answers in
// about a millisecond. A daemon whose socket is missing or refuses is down (said at once, no process); a command no
// single daemon answers, or a socket we may not connect to, goes through vtysh, which then says why in its own words.
import path from 'node:path';
import { ErrorCodes } from '../errors.js';
import { DEFAULT_VTY_SOCKET_DIR, DEFAULT_VTYSH } from '../config/defaults.js';
import { VtyshError } from './vtysh-errors.js';
import { DEFAULT_VTYSH_TIMEOUT_MS, parseShowJson, vtyshFromConfig, type Vtysh } from './vtysh.js';
import type { FrrSection } from './schema.js';
import net from 'node:net';
import { connectOrError, enabledConnection, socketFailure, TimeoutError, type Connection } from './vty-socket.js';

export type FrrDaemon = 'zebra' | 'ospfd' | 'ospf6d' | 'bgpd';

export interface VtyReaderOptions {
  // FRR's --vty_socket directory; default /var/run/frr.
  vtySocket?: string;
  timeoutMs: number;
  fallback: Pick<Vtysh, 'show' | 'run'>;
}

export interface VtyReader extends Pick<Vtysh, 'show' | 'run'> {
  close(): void;
}

// Which daemon answers a command, and what to send it (vtysh's `show running-config DAEMON` is the daemon's own
// `show running-config`). Pure; undefined: vtysh's business (it merges several daemons or answers itself).
export function routeCommand(command: string): { daemon: FrrDaemon; text: string } | undefined {
  const text = command.trim().replace(/\s+/g, ' ');
  const running = /^show running-config (zebra|ospfd|ospf6d|bgpd)$/.exec(text);
  if (running) return { daemon: running[1] as FrrDaemon, text: 'show running-config' };
  if (/^show (ip )?ospf( |$)/.test(text)) return { daemon: 'ospfd', text };
  if (/^show ipv6 ospf6( |$)/.test(text)) return { daemon: 'ospf6d', text };
  if (/^show (ip )?bgp( |$)/.test(text)) return { daemon: 'bgpd', text };
  return undefined;
}

// vtysh prints these lines before a daemon's configuration; parsers of vtysh output find the configuration by them.
const BUILDING = 'Building configuration...\n\nCurrent configuration:\n';

export function createVtyReader(options: VtyReaderOptions): VtyReader {
  const dir = options.vtySocket ?? DEFAULT_VTY_SOCKET_DIR;
  const sessions = new Map<FrrDaemon, { connection?: Connection; queue: Promise<unknown> }>();

  async function connection(daemon: FrrDaemon, commands: readonly string[]): Promise<Connection | undefined> {
    const session = sessions.get(daemon);
    if (session?.connection && !session.connection.closed) return session.connection;
    const socketPath = path.join(dir, `${daemon}.vty`);
    const socket = await connectOrError(socketPath, options.timeoutMs);
    // No socket, or nobody behind it: the daemon is down, said without a vtysh process (the watchers ask every
    // second, also while FRR is stopped). Anything else (not permitted, ...) is for vtysh to explain.
    if (!(socket instanceof net.Socket)) {
      if (socket.code === 'ENOENT' || socket.code === 'ECONNREFUSED') {
        const frrMessage = socket.code === 'ENOENT' ? `no ${socketPath}` : `${socketPath} refused the connection`;
        throw socketFailure(daemon, options.timeoutMs, commands, new Error(frrMessage));
      }
      return undefined;
    }
    const fresh = await enabledConnection(socket, options.timeoutMs);
    sessions.get(daemon)!.connection = fresh;
    return fresh;
  }

  // The daemon's answers to `texts`, joined as vtysh prints them; undefined: the socket could not be connected.
  async function ask(daemon: FrrDaemon, commands: readonly string[], texts: readonly string[]): Promise<string | undefined> {
    if (!sessions.has(daemon)) sessions.set(daemon, { queue: Promise.resolve() });
    const session = sessions.get(daemon)!;
    const next = session.queue.then(async () => {
      let open = await connection(daemon, commands);
      if (!open) return undefined;
      const outputs: string[] = [];
      for (const [index, text] of texts.entries()) {
        let answer;
        try {
          answer = await open.command(text, options.timeoutMs);
        } catch (error) {
          open.destroy();
          if (index > 0 || error instanceof TimeoutError) return failed(daemon, commands, error);
          // A kept connection to a daemon that restarted (or stopped) unseen: a read is harmless to repeat once.
          open = await connection(daemon, commands);
          if (!open) return undefined;
          answer = await open.command(text, options.timeoutMs).catch((again: unknown) => failed(daemon, commands, again));
        }
        if (answer.status !== 0) {
          const frrMessage = answer.text.trim() || `status ${answer.status}, no message`;
          throw new VtyshError(ErrorCodes.VTYSH_REJECTED, `${daemon} vty: \`${commands[index]}\`: ${frrMessage}`, { commands, frrMessage });
        }
        outputs.push(text === 'show running-config' ? BUILDING + answer.text : answer.text);
      }
      return outputs.join('');
    });
    session.queue = next.catch(() => undefined);
    return next;
  }

  function failed(daemon: FrrDaemon, commands: readonly string[], error: unknown): never {
    throw socketFailure(daemon, options.timeoutMs, commands, error);
  }

  async function run(commands: readonly string[]): Promise<string> {
    const routes = commands.map(routeCommand);
    const daemon = routes[0]?.daemon;
    if (!daemon || routes.some((route) => route?.daemon !== daemon)) return options.fallback.run(commands);
    const output = await ask(
      daemon,
      commands,
      routes.map((route) => route!.text),
    );
    return output ?? options.fallback.run(commands);
  }

  async function show<T>(command: string): Promise<T> {
    const route = routeCommand(command);
    const output = route ? await ask(route.daemon, [command], [route.text]) : undefined;
    if (output === undefined) return options.fallback.show<T>(command);
    return parseShowJson<T>(`${route!.daemon} vty: '${command}'`, command, output);
  }

  return {
    run,
    show,
    close() {
      for (const session of sessions.values()) session.connection?.destroy();
      sessions.clear();
    },
  };
}

// The daemons' sockets are ours to use unless frr.vtysh names another program without frr.vty_socket (a wrapper
// that reaches an FRR elsewhere, e.g. in a container, whose sockets are not ours to guess).
export function daemonSocketsUsable(frr: Pick<FrrSection, 'vtysh' | 'vty_socket'>): boolean {
  return frr.vty_socket !== undefined || frr.vtysh === DEFAULT_VTYSH;
}

// The read client the agent uses, from the `frr:` section: sockets first when they are ours, else vtysh alone.
export function readerFromConfig(
  frr: Pick<FrrSection, 'vtysh' | 'vty_socket' | 'vtysh_timeout'>,
  vtysh: Pick<Vtysh, 'show' | 'run'> = vtyshFromConfig(frr),
): Pick<Vtysh, 'show' | 'run'> {
  if (!daemonSocketsUsable(frr)) return vtysh;
  return createVtyReader({ vtySocket: frr.vty_socket, timeoutMs: frr.vtysh_timeout ?? DEFAULT_VTYSH_TIMEOUT_MS, fallback: vtysh });
}

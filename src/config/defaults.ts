// Where healthcast looks and what it uses when the config says nothing: the schema and the lenient readers of the
// operations commands (src/control/locate.ts), which must agree even when the file on disk is not valid.
export const DEFAULT_CONFIG_FILE = '/etc/healthcast/healthcast.yaml';
export const DEFAULT_STATE_DIR = '/var/lib/healthcast';
export const DEFAULT_CONTROL_SOCKET = '/run/healthcast/control.sock';
// A file here named after a service (or `all`) holds it in maintenance while it exists.
export const DEFAULT_DISABLE_DIR = '/etc/healthcast/disable.d';
// A dummy interface the FRR route-maps do not match, where a draining address waits.
export const DEFAULT_DRAIN_INTERFACE = 'hc-drain';
// The `proto` number on kernel routes healthcast adds; 0-4 are the kernel's own.
export const DEFAULT_ROUTE_PROTOCOL = 201;
export const ROUTE_PROTOCOL_RANGE = { min: 5, max: 254 } as const;
export const DEFAULT_VTYSH = '/usr/bin/vtysh';
// FRR's daemons' vty sockets (`--vty_socket`), where vtysh finds them.
export const DEFAULT_VTY_SOCKET_DIR = '/var/run/frr';
// The lifetime of every address healthcast adds, renewed every lease/3: an agent that dies or freezes loses its
// addresses (and FRR withdraws them) within this long. 0 turns it off.
export const DEFAULT_LEASE_MS = 10_000;
// A lease must outlive a few renewals (every lease/3) and the kernel's whole-second lifetimes.
export const MIN_LEASE_MS = 3_000;
// BFD in the rendered FRR configs (frr.bfd): 100 ms x 3, a silent neighbour is declared down after ~300 ms.
export const DEFAULT_BFD = { receiveIntervalMs: 100, transmitIntervalMs: 100, detectMultiplier: 3 } as const;

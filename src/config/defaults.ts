// Where healthcast looks and what it uses when the config says nothing: the schema and the lenient readers of the
// operations commands (src/control/locate.ts), which must agree even when the file on disk is not valid.
export const DEFAULT_CONFIG_FILE = '/etc/healthcast/healthcast.yaml';
export const DEFAULT_STATE_DIR = '/var/lib/healthcast';
export const DEFAULT_CONTROL_SOCKET = '/run/healthcast/control.sock';
// A dummy interface the FRR route-maps do not match, where a draining address waits.
export const DEFAULT_DRAIN_INTERFACE = 'hc-drain';
// The `proto` number on kernel routes healthcast adds; 0-4 are the kernel's own.
export const DEFAULT_ROUTE_PROTOCOL = 201;
export const ROUTE_PROTOCOL_RANGE = { min: 5, max: 254 } as const;
export const DEFAULT_VTYSH = '/usr/bin/vtysh';
// The lifetime of every address healthcast adds, renewed every lease/3: an agent that dies or freezes loses its
// addresses (and FRR withdraws them) within this long. 0 turns it off.
export const DEFAULT_LEASE_MS = 10_000;
// A lease must outlive a few renewals (every lease/3) and the kernel's whole-second lifetimes.
export const MIN_LEASE_MS = 3_000;
// keep_last: how long the highest-router-id advertiser of a failing fleet waits for the others' withdrawals to reach it
// before deciding again (src/fleet/keep-last.ts). About 3x convergence with the shipped FRR timers, and more than the
// spread between nodes' failure detection (one probe interval by default).
export const DEFAULT_KEEP_LAST_GUARD_MS = 3_000;

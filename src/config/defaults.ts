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
// addresses (and FRR withdraws them) within this long. 0 turns it off. 45 s, not 10: a renewal of 1,000 addresses
// costs 38-50 ms of CPU (ip's and the kernel's, per address), 1.2-1.5 % of a core every 3.3 s, 0.25-0.33 % every
// 15 s (performance.md, section 7).
export const DEFAULT_LEASE_MS = 45_000;
// A lease must outlive a few renewals (every lease/3) and the kernel's whole-second lifetimes.
export const MIN_LEASE_MS = 3_000;
// BFD in the rendered FRR configs (frr.bfd): 100 ms x 3, a silent neighbour is declared down after ~300 ms.
export const DEFAULT_BFD = { receiveIntervalMs: 100, transmitIntervalMs: 100, detectMultiplier: 3 } as const;
// Routing policy (issue 14): the OSPF external metric (and BGP MED) a degraded service is advertised with; far above
// FRR's default of 20, so any healthy node is preferred. OSPF type-2 metrics go up to 16777214.
export const DEFAULT_DEGRADED_METRIC = 65_000;
export const METRIC_MAX = 16_777_214;
// Flap damping, the BGP route-flap-damping model (RFC 2439): each withdrawal adds 1000 to a penalty that halves every
// half_life; above `suppress` the service is not re-announced until the penalty decays below `reuse`. With these values a
// service must fail 3 times within ~15 minutes to be suppressed: one failure an hour never is.
export const DEFAULT_DAMPING = { half_life: 900_000, suppress: 2000, reuse: 750, max_suppress: 3_600_000 } as const;
// keep_last: how long the highest-router-id advertiser of a failing fleet waits for the others' withdrawals to reach it
// before deciding again (src/fleet/keep-last.ts). About 3x convergence with the shipped FRR timers, and more than the
// spread between nodes' failure detection (one probe interval by default).
export const DEFAULT_KEEP_LAST_GUARD_MS = 3_000;

// zod schemas for the main file and for one service; probe options come from the probe registry.
import { z } from 'zod';
import { duration } from './duration.js';
import { parseHostAddress } from './address.js';
import type { ProbeRegistry } from '../../probes/registry.js';
import { frrSchema } from '../frr/schema.js';
import { validate as validCron } from 'node-cron';
import { parseListen } from '../metrics/listen.js';
import {
  DEFAULT_CONTROL_SOCKET,
  DEFAULT_DISABLE_DIR,
  DEFAULT_DRAIN_INTERFACE,
  DEFAULT_KEEP_LAST_GUARD_MS,
  DEFAULT_LEASE_MS,
  MIN_LEASE_MS,
  DEFAULT_ROUTE_PROTOCOL,
  DEFAULT_STATE_DIR,
  DEFAULT_VTYSH,
  ROUTE_PROTOCOL_RANGE,
  DEFAULT_DAMPING,
  METRIC_MAX,
} from './defaults.js';
import { INTERFACE_NAME, SERVICE_NAME } from './names.js';

const interfaceName = z.string().regex(INTERFACE_NAME, 'must be a Linux interface name (1-15 characters, no spaces or slashes)');

export const defaultsSchema = z.strictObject({
  interval: duration({ min: 10 }).default(1000),
  timeout: duration({ min: 1 }).default(1000),
  rise: z.number().int().min(1).max(100).default(3),
  fall: z.number().int().min(1).max(100).default(2),
  // Minimum time from a withdrawal to the next announce: damps flapping and respects FRR's LSA rate limits.
  hold_down: duration({ max: 3_600_000 }).default(3000),
  // Planned withdrawals stop the advertisement first and keep the address this long, so packets in flight are answered.
  drain: duration({ max: 600_000 }).default(2000),
  // Whether a health failure drains too (by default it withdraws at once: a failing service should not get traffic).
  drain_on_failure: z.boolean().default(false),
  // While a service is in transition (one failure while up, one success while down) its probes run at this interval.
  fast_interval: duration({ min: 10 }).optional(),
  // Never withdraw the fleet's last advertisement of a failing service (src/fleet/keep-last.ts).
  keep_last: z.boolean().default(false),
  keep_last_guard: duration({ min: 100, max: 600_000 }).default(DEFAULT_KEEP_LAST_GUARD_MS),
});

// A route metric: OSPF external metric (type 2: 0-16777214) or BGP MED.
const metricValue = z.number().int().min(0, `must be 0-${METRIC_MAX}`).max(METRIC_MAX, `must be 0-${METRIC_MAX} (the largest OSPF external metric)`);

// Flap damping (BGP route-flap-damping model); `true` takes every default.
const dampingSchema = z.union([
  z.boolean(),
  z
    .strictObject({
      half_life: duration({ min: 1000 }).default(DEFAULT_DAMPING.half_life),
      suppress: z.number().min(1).default(DEFAULT_DAMPING.suppress),
      reuse: z.number().min(1).default(DEFAULT_DAMPING.reuse),
      max_suppress: duration({ min: 1000 }).default(DEFAULT_DAMPING.max_suppress),
    })
    .refine((value) => value.reuse < value.suppress, { message: 'reuse must be below suppress' })
    // The penalty is capped at reuse x 2^(max_suppress / half_life); below suppress nothing would ever be suppressed.
    .refine((value) => value.reuse * Math.pow(2, value.max_suppress / value.half_life) > value.suppress, {
      message: 'max_suppress is too short for this half_life: the capped penalty (reuse x 2^(max_suppress/half_life)) never reaches suppress',
    }),
]);

const listenAddress = z.string().transform((raw, ctx) => {
  const parsed = parseListen(raw);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

// A command as an argument array: no shell, so no quoting surprises.
const commandArray = z.array(z.string().min(1, 'must not be empty')).min(1, 'must name a command (an argument array)');

const cronExpression = z.string().refine((value) => validCron(value), { message: 'not a valid cron expression (e.g. "17 */6 * * *")' });

export const maintenanceJob = z.strictObject({
  name: z.string().regex(SERVICE_NAME, 'letters, digits, "_", "." and "-"').optional(),
  schedule: cronExpression,
  // The services drained while the command runs; all of them when omitted.
  services: z.array(z.string().min(1)).min(1).optional(),
  command: commandArray,
  timeout: duration({ min: 1000 }).default(300_000),
  stay_drained_on_failure: z.boolean().default(false),
});

export const mainSchema = z.strictObject({
  interface: interfaceName.default('lo'),
  state_dir: z.string().min(1).default(DEFAULT_STATE_DIR),
  services_dir: z.string().min(1).optional(),
  probe_dirs: z.array(z.string().min(1)).default([]),
  // Parsed from {} so each default is spelled once, in defaultsSchema.
  defaults: defaultsSchema.prefault({}),
  // How often the reconciler re-reads the kernel to repair drift.
  reconcile_interval: duration({ min: 100 }).default(10_000),
  // The lifetime of the addresses healthcast adds (dead man's switch); 0: off.
  lease: duration()
    .refine((ms) => ms === 0 || ms >= MIN_LEASE_MS, { message: `must be 0 (off) or at least ${MIN_LEASE_MS / 1000}s (it is renewed every lease/3)` })
    .default(DEFAULT_LEASE_MS),
  // The `proto` number on kernel routes healthcast adds (announce: route).
  route_protocol: z
    .number()
    .int()
    .min(ROUTE_PROTOCOL_RANGE.min, 'must be 5-254 (0-4 are reserved by the kernel)')
    .max(ROUTE_PROTOCOL_RANGE.max, 'must be 5-254')
    .default(DEFAULT_ROUTE_PROTOCOL),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  frr: frrSchema.default({ vtysh: DEFAULT_VTYSH }),
  // Where `healthcast status|drain|resume|check-now|maintenance` reach the running agent (mode 0600).
  control_socket: z.string().min(1).default(DEFAULT_CONTROL_SOCKET),
  // Where a draining address waits: a dummy interface the FRR route-maps do not match (created if missing).
  drain_interface: interfaceName.default(DEFAULT_DRAIN_INTERFACE),
  // A file here named after a service (or `all`) holds it in maintenance while it exists; its content is the note.
  disable_dir: z.string().min(1, 'must name a directory').default(DEFAULT_DISABLE_DIR),
  metrics: z.strictObject({ listen: listenAddress }).optional(),
  maintenance: z.array(maintenanceJob).default([]),
  services: z.array(z.unknown()).default([]),
});

const hostAddress = z.string().transform((raw, ctx) => {
  const parsed = parseHostAddress(raw);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed.address;
});

const requirement = z.union([z.enum(['all', 'any']), z.strictObject({ at_least: z.number().int().min(1) })]);

// A probe item: `type` picks the probe, `timeout` is common, the rest is the probe's own schema.
function probeItem(registry: ProbeRegistry) {
  return z
    .looseObject({
      type: z.string({ error: 'must name a probe type' }),
      timeout: duration({ min: 1 }).optional(),
      // down: a failure withdraws (after fall); degrade: a failure only raises the advertised metric.
      effect: z.enum(['down', 'degrade']).default('down'),
    })
    .transform((raw, ctx) => {
      const definition = registry.get(raw.type);
      if (!definition) {
        ctx.addIssue({ code: 'custom', path: ['type'], message: `unknown probe type "${raw.type}" (known: ${registry.types().join(', ')})` });
        return z.NEVER;
      }
      const { type: _type, timeout, effect, ...rest } = raw;
      const parsed = definition.options.safeParse(rest);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
          for (const key of keys) {
            const path = (key === undefined ? issue.path : [...issue.path, key]) as PropertyKey[];
            ctx.addIssue({ code: 'custom', path, message: key === undefined ? issue.message : 'unknown key' });
          }
        }
        return z.NEVER;
      }
      return { type: definition.type, timeoutMs: timeout as number | undefined, effect, options: parsed.data as unknown, definition };
    });
}

export function serviceSchema(registry: ProbeRegistry) {
  return z.strictObject({
    name: z.string().regex(SERVICE_NAME, 'must start with a letter or digit and use only letters, digits, "_", "." and "-" (at most 63)'),
    addresses: z.array(hostAddress).min(1, 'must list at least one address'),
    announce: z.enum(['address', 'route', 'bgp']).default('address'),
    interface: interfaceName.optional(),
    interval: duration({ min: 10 }).optional(),
    timeout: duration({ min: 1 }).optional(),
    rise: z.number().int().min(1).max(100).optional(),
    fall: z.number().int().min(1).max(100).optional(),
    hold_down: duration({ max: 3_600_000 }).optional(),
    drain: duration({ max: 600_000 }).optional(),
    drain_on_failure: z.boolean().optional(),
    fast_interval: duration({ min: 10 }).optional(),
    // Routing policy: the metric advertised while up (default: the FRR config's own) and while degraded.
    metric: metricValue.optional(),
    degraded_metric: metricValue.optional(),
    // BGP: extra copies of the node's AS prepended while degraded.
    degraded_prepend: z.number().int().min(0).max(10).default(0),
    damping: dampingSchema.default(false),
    keep_last: z.boolean().optional(),
    keep_last_guard: duration({ min: 100, max: 600_000 }).optional(),
    require: requirement.default('all'),
    probes: z.array(probeItem(registry)).min(1, 'must list at least one probe'),
    on_up: commandArray.optional(),
    on_down: commandArray.optional(),
    on_drain: commandArray.optional(),
    hook_timeout: duration({ min: 100, max: 3_600_000 }).default(10_000),
    // Gratuitous ARP / unsolicited NA when an address is added (floating-VIP style, on a LAN interface).
    announce_l2: z.union([z.boolean(), z.strictObject({ count: z.number().int().min(1).max(20) })]).default(false),
    // The LAN's router(s): after an announcement, a unicast NA (IPv6) and a ping from the address refresh its entry.
    // One address or a list; a single string is read as a list of one, so an error names the bad item.
    l2_router: z.preprocess((raw) => (typeof raw === 'string' ? [raw] : raw), z.array(hostAddress).min(1, 'must list at least one address')).optional(),
  });
}

export type MainFile = z.output<typeof mainSchema>;
export type ServiceFile = z.output<ReturnType<typeof serviceSchema>>;

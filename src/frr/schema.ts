// The `frr:` section of the main config: how to reach FRR, and what `healthcast frr-config` renders.
// Everything the generator needs is optional here (defaults and "required for --protocol" checks live in
// src/frr/render-options.ts), so a config without `frr:` stays valid and command-line flags can fill the gaps.
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { duration } from '../config/duration.js';
import { DEFAULT_VTYSH } from '../config/defaults.js';
import { INTERFACE_NAME } from '../config/names.js';

const dottedQuad = z.string().refine((value) => net.isIPv4(value), 'must be a dotted quad like 10.255.0.1');
const asn = z.number().int().min(1, 'must be 1-4294967295').max(4_294_967_295, 'must be 1-4294967295');
// A 32-bit OSPF area: dotted quad or a decimal number, written back as a dotted quad.
const area = z.union([dottedQuad, z.number().int().min(0).max(4_294_967_295)], { error: 'must be a dotted quad (0.0.0.0) or 0-4294967295' });

// FRR's timers take whole seconds for hellos and BGP, milliseconds for the throttles.
function seconds(min: number, max: number) {
  return duration({ min: min * 1000, max: max * 1000 }).refine((ms) => ms % 1000 === 0, 'must be whole seconds (FRR has no finer unit here)');
}

export const timersSchema = z.strictObject({
  hello_interval: seconds(1, 65_535).optional(),
  dead_interval: seconds(1, 65_535).optional(),
  spf_delay: duration({ min: 0, max: 600_000 }).optional(),
  spf_hold: duration({ min: 0, max: 600_000 }).optional(),
  spf_max_hold: duration({ min: 0, max: 600_000 }).optional(),
  lsa_interval: duration({ min: 0, max: 5000 }).optional(),
  lsa_min_arrival: duration({ min: 0, max: 600_000 }).optional(),
  bgp_keepalive: seconds(0, 65_535).optional(),
  bgp_hold: seconds(0, 65_535).optional(),
  bgp_connect_retry: seconds(1, 65_535).optional(),
});

// bfdd's ranges (FRR 8.4): intervals 10-60000 ms, multiplier 2-255. Each key overrides DEFAULT_BFD.
export const bfdSchema = z.strictObject({
  receive_interval: duration({ min: 10, max: 60_000 }).optional(),
  transmit_interval: duration({ min: 10, max: 60_000 }).optional(),
  detect_multiplier: z.number().int().min(2, 'must be 2-255').max(255, 'must be 2-255').optional(),
});

export const frrSchema = z.strictObject({
  vtysh: z.string().min(1).default(DEFAULT_VTYSH),
  vty_socket: z.string().min(1).optional(),
  // Upper bound for one vtysh call; vtysh itself waits forever on a stopped daemon.
  vtysh_timeout: duration({ min: 100, max: 120_000 }).optional(),
  hostname: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'must be a host name (letters, digits, "." and "-")')
    .optional(),
  protocol: z.enum(['ospf', 'bgp']).optional(),
  style: z.enum(['split', 'integrated']).optional(),
  profile: z.enum(['default', 'fast']).optional(),
  router_id: dottedQuad.optional(),
  area: area.optional(),
  interfaces: z
    .array(
      z.strictObject({
        name: z.string().regex(INTERFACE_NAME, 'must be a Linux interface name (1-15 characters)'),
        network: z.enum(['point-to-point', 'broadcast']).optional(),
        // OSPF cost of the link; raise it on one node's link to break an equal-cost tie between anycast nodes.
        cost: z.number().int().min(1).max(65_535).optional(),
        // No hellos on the link (ospfd and ospf6d alike): its prefixes are advertised, no adjacency forms on it.
        passive: z.boolean().optional(),
      }),
    )
    .optional(),
  asn: asn.optional(),
  neighbors: z
    .array(
      z.strictObject({
        address: z.string().refine((value) => net.isIP(value) !== 0, 'must be an IPv4 or IPv6 address'),
        remote_as: asn,
      }),
    )
    .optional(),
  timers: timersSchema.optional(),
  // BFD on the OSPF links and BGP sessions: true/false, or the profile's timers (implies true). Default: on with
  // the fast profile, off with the default one.
  bfd: z.union([z.boolean(), bfdSchema]).optional(),
  // The vty `password` of the split daemon files, read from this file when they are rendered (never a config value,
  // so the secret is neither in healthcast.yaml nor on a command line).
  vty_password_file: z
    .string()
    .refine((value) => path.isAbsolute(value), 'must be an absolute path')
    .optional(),
});

export type FrrSection = z.output<typeof frrSchema>;
export type FrrTimersSection = z.output<typeof timersSchema>;
export type FrrBfdSection = z.output<typeof bfdSchema>;

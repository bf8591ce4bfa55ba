// Renders quagga-templates/ from resolved options: the files an operator reads are the ones the generator fills.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTemplate, type TemplateContext } from './template.js';
import type { RenderOptions } from './render-options.js';
import { exactCover } from './prefix-cover.js';
import { SENTINEL_SEQ } from './render-policy.js';
import { HOLD_LISTS, HOLD_SENTINEL_SEQ } from '../routing/bgp-commands.js';

// dist/src/frr/render.js -> <repo>/quagga-templates (tsc does not copy them; they ship beside dist/).
export const TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../quagga-templates');
export const TEMPLATE_NAMES = ['zebra.conf', 'ospfd.conf', 'ospf6d.conf', 'bgpd.conf', 'frr.conf', 'bfdd.conf'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];
export type Templates = Readonly<Record<TemplateName, string>>;

// The names the configs use; docs/frr.md and the vtysh checks refer to them.
export const FILTER_V4 = 'HC-SERVICES-V4';
export const FILTER_V6 = 'HC-SERVICES-V6';
export const FILTER_BGP_IN = 'HC-BGP-IN';
export const FILTER_BGP_OUT_V4 = 'HC-BGP-OUT-V4';
export const FILTER_BGP_OUT_V6 = 'HC-BGP-OUT-V6';
export const FILTER_REDIST_V4 = 'HC-BGP-REDIST-V4';
export const FILTER_REDIST_V6 = 'HC-BGP-REDIST-V6';
// announce: bgp withdrawals are held back here first (src/routing/bgp-commands.ts: faster than `no network`).
export const FILTER_HOLD_V4 = HOLD_LISTS[4];
export const FILTER_HOLD_V6 = HOLD_LISTS[6];
// The bfdd profile the OSPF interfaces and BGP neighbours name.
export const BFD_PROFILE = 'HC-BFD';

export interface RenderedFile {
  name: TemplateName;
  text: string;
}

export function loadTemplates(dir: string = TEMPLATE_DIR): Templates {
  return Object.fromEntries(TEMPLATE_NAMES.map((name) => [name, fs.readFileSync(path.join(dir, name), 'utf8')])) as Record<TemplateName, string>;
}

// Which files a style and protocol produce, in the order they are printed and started (bfdd after zebra is enough:
// the protocol daemons register their sessions whenever bfdd comes).
export function filesFor(options: Pick<RenderOptions, 'style' | 'protocol'> & { bfd?: RenderOptions['bfd'] }): TemplateName[] {
  if (options.style === 'integrated') return ['frr.conf'];
  const daemons: TemplateName[] = options.protocol === 'ospf' ? ['zebra.conf', 'ospfd.conf', 'ospf6d.conf'] : ['zebra.conf', 'bgpd.conf'];
  return options.bfd ? [...daemons, 'bfdd.conf'] : daemons;
}

// Flat snake_case names, the same in every template (listed in quagga-templates/README.md).
export function templateContext(options: RenderOptions): TemplateContext {
  const { timers } = options;
  const numbered = (prefixes: readonly string[]) => prefixes.map((prefix, index) => ({ seq: (index + 1) * 10, prefix }));
  const neighbors = options.neighbors.map((neighbor) => ({ address: neighbor.address, remote_as: neighbor.remoteAs }));
  return {
    hostname: options.hostname,
    protocol: options.protocol,
    profile: options.profile,
    ospf: options.protocol === 'ospf',
    bgp: options.protocol === 'bgp',
    filter_v4: FILTER_V4,
    filter_v6: FILTER_V6,
    filter_in: FILTER_BGP_IN,
    filter_out_v4: FILTER_BGP_OUT_V4,
    filter_out_v6: FILTER_BGP_OUT_V6,
    filter_redist_v4: FILTER_REDIST_V4,
    filter_redist_v6: FILTER_REDIST_V6,
    filter_hold_v4: FILTER_HOLD_V4,
    filter_hold_v6: FILTER_HOLD_V6,
    hold_sentinel_seq: HOLD_SENTINEL_SEQ,
    // Consecutive addresses share one `ge 32|128` entry that permits exactly them (prefix-cover.ts: load cost).
    services_v4: numbered(exactCover(options.servicesV4)),
    services_v6: numbered(exactCover(options.servicesV6)),
    redistributed_v4: numbered(exactCover(options.redistributedV4)),
    redistributed_v6: numbered(exactCover(options.redistributedV6)),
    // One route-map entry per service interface: `match interface` keeps the drain interface's addresses out.
    service_interfaces: options.serviceInterfaces.map((name, index) => ({ name, seq: (index + 1) * 10 })),
    // cost 0: not set (the template's {{#if cost}} leaves FRR's default, 10 for 100 Mbit/s and faster).
    interfaces: options.interfaces.map((entry) => ({ name: entry.name, network: entry.network, cost: entry.cost ?? 0, passive: entry.passive ?? false })),
    area: options.area,
    router_id: options.routerId,
    hello_interval: timers.helloInterval,
    dead_interval: timers.deadInterval,
    spf_delay: timers.spfDelay,
    spf_hold: timers.spfHold,
    spf_max_hold: timers.spfMaxHold,
    lsa_interval: timers.lsaInterval,
    lsa_min_arrival: timers.lsaMinArrival,
    asn: options.asn ?? 0,
    neighbors,
    neighbors_v4: neighbors.filter((neighbor) => !neighbor.address.includes(':')),
    neighbors_v6: neighbors.filter((neighbor) => neighbor.address.includes(':')),
    bgp_keepalive: timers.bgpKeepalive,
    bgp_hold: timers.bgpHold,
    bgp_connect_retry: timers.bgpConnectRetry,
    bfd: options.bfd !== undefined,
    bfd_profile: BFD_PROFILE,
    bfd_receive_interval: options.bfd?.receiveIntervalMs ?? 0,
    bfd_transmit_interval: options.bfd?.transmitIntervalMs ?? 0,
    bfd_detect_multiplier: options.bfd?.detectMultiplier ?? 0,
    // '' renders no `password` line (split files only; frr.conf is applied by vtysh over the Unix sockets).
    vty_password: options.vtyPassword ?? '',
    // Routing policy (render-policy.ts): metric levels matched before the service entries, one route-map entry per
    // level and service interface (policy_entries; the BGP outbound maps take one per level).
    policy_entries: (options.policy ?? []).flatMap((level) =>
      options.serviceInterfaces.map((name, index) => ({
        route_seq: level.routeSeq + index,
        name,
        metric: level.metric,
        list_v4: level.listV4,
        list_v6: level.listV6,
      })),
    ),
    policy_levels: (options.policy ?? []).map((level) => ({
      route_seq: level.routeSeq,
      metric: level.metric,
      list_v4: level.listV4,
      list_v6: level.listV6,
      entries_v4: numbered(level.prefixesV4),
      entries_v6: numbered(level.prefixesV6),
      sentinel_seq: SENTINEL_SEQ,
      degraded: level.degraded,
      prepend: level.prepend > 0 ? Array.from({ length: level.prepend }, () => String(options.asn ?? 0)).join(' ') : '',
    })),
  };
}

// Pure given the templates: the same options always give the same bytes.
export function renderFrrConfig(options: RenderOptions, templates: Templates = loadTemplates()): RenderedFile[] {
  const context = templateContext(options);
  return filesFor(options).map((name) => ({ name, text: renderTemplate(templates[name], context, name) }));
}

// One stream for stdout: split files each under a `! ==> NAME` line (a comment to FRR), integrated as is.
export function joinForStdout(files: readonly RenderedFile[], style: RenderOptions['style']): string {
  if (style === 'integrated') return files.map((file) => file.text).join('');
  return files.map((file) => `! ==> ${file.name}\n${file.text}`).join('');
}

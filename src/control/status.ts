// The stable `healthcast status --json` document (documented in docs/operations.md) and its table; both pure.
import type { ServiceStatus } from '../core/agent.js';

export const STATUS_FORMAT = 1;

export interface ServiceStatusJson {
  name: string;
  state: string; // up | down | unknown | drained | draining | paused | stopped | degraded | suppressed
  phase: string; // init | rising | up | falling | down
  successes: number; // consecutive
  failures: number; // consecutive
  addresses: string[];
  announced: boolean; // every address is on the system
  advertised: boolean | null; // as FRR reports it; null when not known
  maintenance: boolean; // drained by an operator or a maintenance run
  maintenance_since: string | null;
  maintenance_by: string | null;
  // The process holding the drain (a maintenance wrapper), whether it still runs, and whether it asked to stay
  // drained should it fail (--stay-drained-on-failure); null / false for holds without a process (cli, schedules).
  maintenance_pid: number | null;
  maintenance_holder_alive: boolean | null;
  maintenance_stay_drained: boolean;
  // A disable file's content (the operator's note), and every holder (the disable file first), when held.
  maintenance_note: string | null;
  maintenance_holders: string[];
  routing_error: string | null;
  // Routers (router-ids) advertising every address, this one included, from FRR's LSDB; null when not known (FRR not
  // read, or announce: bgp). kept_last: keep_last holds the failing service announced as the last advertiser.
  advertisers: string[] | null;
  kept_last: boolean;
  last: { ok: boolean; reason: string; latency_ms: number; at: string } | null;
  // Routing policy, present only when used: the metric advertised now (absent: the FRR config's default), why the
  // service is degraded, and flap damping with the penalty now and when a suppressed service is announced again.
  metric?: number;
  degraded_reason?: string;
  damping?: { penalty: number; suppressed: boolean; reuse_at: string | null };
}

export interface StatusJson {
  format: number;
  // lease_s: the address lease (0: off); lease_renewed_at: the last renewal that covered every address (null: none yet).
  agent: {
    version: string;
    pid: number;
    mode: string;
    started_at: string;
    uptime_s: number;
    config: string;
    control_socket: string;
    lease_s: number;
    lease_renewed_at: string | null;
  };
  services: ServiceStatusJson[];
}

export interface AgentInfo {
  version: string;
  pid: number;
  mode: string;
  startedAt: number;
  now: number;
  config: string;
  controlSocket: string;
  lease?: { leaseMs: number; renewedAt: number | undefined } | undefined;
}

// holderAlive: whether a drain's holding process still runs (the handler asks /proc; tests pass a function).
export function buildStatus(
  info: AgentInfo,
  services: readonly ServiceStatus[],
  holderAlive: (pid: number, pidStart: number | undefined) => boolean = () => true,
): StatusJson {
  return {
    format: STATUS_FORMAT,
    agent: {
      version: info.version,
      pid: info.pid,
      mode: info.mode,
      started_at: new Date(info.startedAt).toISOString(),
      uptime_s: Math.max(0, Math.round((info.now - info.startedAt) / 1000)),
      config: info.config,
      control_socket: info.controlSocket,
      lease_s: (info.lease?.leaseMs ?? 0) / 1000,
      lease_renewed_at: info.lease?.renewedAt !== undefined ? new Date(info.lease.renewedAt).toISOString() : null,
    },
    services: services.map((service) => ({
      name: service.name,
      state: service.state,
      phase: service.phase,
      successes: service.successes,
      failures: service.failures,
      addresses: [...service.addresses],
      announced: service.announced,
      advertised: service.advertised ?? null,
      maintenance: service.drained !== undefined,
      maintenance_since: service.drained?.since ?? null,
      maintenance_by: service.drained?.by ?? null,
      maintenance_pid: service.drained?.pid ?? null,
      maintenance_holder_alive: service.drained?.pid !== undefined ? holderAlive(service.drained.pid, service.drained.pidStart) : null,
      maintenance_stay_drained: service.drained?.stayDrained === true,
      maintenance_note: service.drained?.note ?? null,
      maintenance_holders: (service.holds ?? (service.drained ? [service.drained] : [])).map((hold) => hold.by),
      routing_error: service.routingError ?? null,
      advertisers: service.advertisers ? [...service.advertisers] : null,
      kept_last: service.keptLast === true,
      last: service.last
        ? { ok: service.last.ok, reason: service.last.reason, latency_ms: round(service.last.durationMs), at: new Date(service.last.at).toISOString() }
        : null,
      // Present only for services that use them, so the document of a plain service keeps its shape.
      ...(service.metric !== undefined ? { metric: service.metric } : {}),
      ...(service.degradedReason !== undefined ? { degraded_reason: service.degradedReason } : {}),
      ...(service.damping
        ? { damping: { penalty: service.damping.penalty, suppressed: service.damping.suppressed, reuse_at: service.damping.reuseAt ?? null } }
        : {}),
    })),
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

const yesNo = (value: boolean | null) => (value === null ? '-' : value ? 'yes' : 'no');

// The human table: one row per service, then the reasons (they are long) below it.
export function formatStatus(status: StatusJson): string {
  const a = status.agent;
  const lines = [`healthcast ${a.version} pid ${a.pid} ${a.mode}, up ${formatUptime(a.uptime_s)}, config ${a.config}, ${leaseNote(a)}`, ''];
  const header = ['SERVICE', 'STATE', 'PHASE', 'OK/FAIL', 'LAST', 'LATENCY', 'ANNOUNCED', 'ADVERTISED', 'ADVERTISERS', 'MAINT', 'ADDRESSES'];
  const rows = status.services.map((s) => [
    s.name,
    s.state,
    s.phase,
    `${s.successes}/${s.failures}`,
    s.last ? (s.last.ok ? 'ok' : 'FAIL') : '-',
    s.last ? `${s.last.latency_ms}ms` : '-',
    yesNo(s.announced),
    yesNo(s.advertised),
    s.advertisers === null ? '-' : `${s.advertisers.length}${s.kept_last ? ' (kept)' : ''}`,
    s.maintenance ? 'yes' : 'no',
    s.addresses.join(','),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (row: string[]) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  lines.push(render(header), ...rows.map(render));
  if (status.services.length === 0) lines.push('(no services configured)');
  const notes = status.services.flatMap((s) => [
    ...(s.last && !s.last.ok ? [`${s.name}: last probe: ${s.last.reason}`] : []),
    ...(s.degraded_reason ? [`${s.name}: degraded (metric ${s.metric ?? '?'}): ${s.degraded_reason}`] : []),
    ...(s.damping?.suppressed ? [`${s.name}: suppressed by flap damping (penalty ${s.damping.penalty}) until ${s.damping.reuse_at}`] : []),
    ...(s.routing_error ? [`${s.name}: routing: ${s.routing_error}`] : []),
    ...(s.kept_last ? [`${s.name}: keep_last: down, but kept announced: no other router advertises it`] : []),
    ...(s.advertisers !== null && s.advertisers.length === 0 ? [`${s.name}: no router advertises it${deliberate(s) ? ' (withdrawn deliberately)' : ''}`] : []),
    ...(s.maintenance ? [`${s.name}: drained since ${s.maintenance_since} by ${s.maintenance_by}${holderNote(s)}`] : []),
    ...(s.maintenance_note !== null ? [`${s.name}: note: ${s.maintenance_note}`] : []),
    ...s.maintenance_holders.slice(1).map((by) => `${s.name}: also drained by ${by}`),
  ]);
  if (notes.length > 0) lines.push('', ...notes);
  return lines.join('\n');
}

function deliberate(s: ServiceStatusJson): boolean {
  return s.maintenance || ['draining', 'drained', 'paused', 'stopped'].includes(s.state);
}

// In its own words: a holder that asked to stay drained is not a killed wrapper, and a gone one is said to be gone.
function holderNote(s: ServiceStatusJson): string {
  if (s.maintenance_pid === null) return '';
  if (s.maintenance_holder_alive)
    return s.maintenance_stay_drained ? ' (running; stays drained if its command fails: --stay-drained-on-failure)' : ' (running)';
  if (s.maintenance_stay_drained)
    return `: its command failed or was stopped and it asked to stay drained (--stay-drained-on-failure); resume with: healthcast resume ${s.name}`;
  return ': that process has exited without resuming (orphaned hold; the agent resumes it within seconds)';
}

function leaseNote(a: StatusJson['agent']): string {
  if (a.lease_s === 0) return 'no address lease';
  return `address lease ${a.lease_s}s, ${a.lease_renewed_at === null ? 'not renewed yet' : `renewed ${a.lease_renewed_at}`}`;
}

export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

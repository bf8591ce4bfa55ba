// Turns what one failover run recorded (agent logs, netlink events, client queries) into timeline lanes.
import type { LogLine } from '../../lab/healthcast.js';
import type { NetlinkEvent } from '../../lab/monitor.js';
import { renderTimeline, type Dot, type Lane, type Marker, type Span } from './timeline-svg.js';

export interface ClientQuery {
  t: number;
  ok: boolean;
  by?: string;
  err?: string;
  rttMs: number;
}

export interface FailoverCapture {
  start: number;
  end: number;
  zero: number; // the kill
  service: string;
  address: string;
  agents: { label: string; lines: LogLine[] }[];
  nodeAddressEvents: NetlinkEvent[]; // node a's lo
  routerRouteEvents: NetlinkEvent[];
  routerIfA: string;
  routerIfB: string;
  clients: ClientQuery[];
  markers: Marker[];
}

const COLORS = {
  ok: '#2e9d4f',
  fail: '#d23c3c',
  up: '#2e9d4f',
  falling: '#e69b22',
  down: '#d23c3c',
  rising: '#4a90d9',
  init: '#999999',
  a: '#3b6fd8',
  b: '#8a4fd0',
  both: '#2e9d4f',
  bOnly: '#8a4fd0',
  none: '#d23c3c',
};

// One dot per probe round: debug "probe round" lines carry ok; transition lines imply it by the new phase.
function probeDots(lines: readonly LogLine[], service: string, start: number, end: number): Dot[] {
  const dots: Dot[] = [];
  for (const line of lines) {
    if (line.service !== service || line.time < start || line.time > end) continue;
    let ok: boolean | undefined;
    if (line.msg === 'probe round') ok = line.ok === true;
    else if (line.to !== undefined) ok = line.to === 'up' || line.to === 'rising';
    if (ok === undefined) continue;
    dots.push({ time: line.time, color: ok ? COLORS.ok : COLORS.fail, title: `${ok ? 'ok' : 'failed'}${line.reason ? `: ${String(line.reason)}` : ''}` });
  }
  return dots;
}

function phaseSpans(lines: readonly LogLine[], service: string, start: number, end: number): Span[] {
  const transitions = lines.filter((line) => line.service === service && line.to !== undefined);
  let phase = transitions.filter((line) => line.time < start).at(-1)?.to ?? 'up';
  let from = start;
  const spans: Span[] = [];
  for (const line of transitions.filter((entry) => entry.time >= start && entry.time <= end)) {
    spans.push({ from, to: line.time, color: COLORS[phase as keyof typeof COLORS] ?? '#999', text: phase });
    phase = line.to ?? phase;
    from = line.time;
  }
  spans.push({ from, to: end, color: COLORS[phase as keyof typeof COLORS] ?? '#999', text: phase });
  return spans;
}

// Generic "state from the last event" spans for netlink lanes.
function eventSpans(
  events: readonly NetlinkEvent[],
  start: number,
  end: number,
  classify: (event: NetlinkEvent | undefined) => { color: string; text: string },
): Span[] {
  let state = classify(events.filter((event) => event.time < start).at(-1));
  let from = start;
  const spans: Span[] = [];
  for (const event of events.filter((entry) => entry.time >= start && entry.time <= end)) {
    const next = classify(event);
    if (next.text === state.text) continue;
    spans.push({ from, to: event.time, ...state });
    state = next;
    from = event.time;
  }
  spans.push({ from, to: end, ...state });
  return spans;
}

export function failoverSvg(capture: FailoverCapture): string {
  const { start, end } = capture;
  const lanes: Lane[] = [];
  for (const agent of capture.agents) {
    lanes.push({ kind: 'dots', label: `${agent.label}: probe results`, dots: probeDots(agent.lines, capture.service, start, end) });
    lanes.push({ kind: 'spans', label: `${agent.label}: healthcast state`, spans: phaseSpans(agent.lines, capture.service, start, end) });
  }
  const addressEvents = capture.nodeAddressEvents.filter((event) => event.target === capture.address);
  lanes.push({
    kind: 'spans',
    label: `node a: ${capture.address} on lo`,
    spans: eventSpans(addressEvents, start, end, (event) =>
      event === undefined || !event.deleted ? { color: COLORS.up, text: 'present' } : { color: COLORS.down, text: 'absent' },
    ),
  });
  const routeEvents = capture.routerRouteEvents.filter((event) => event.target === capture.address && !event.text.includes('table local'));
  lanes.push({
    kind: 'spans',
    label: `router: route to ${capture.address}`,
    spans: eventSpans(routeEvents, start, end, (event) => {
      if (event === undefined) return { color: COLORS.both, text: 'via a + b' };
      if (event.deleted) return { color: COLORS.none, text: 'none' };
      const viaA = event.text.includes(`dev ${capture.routerIfA}`);
      const viaB = event.text.includes(`dev ${capture.routerIfB}`);
      if (viaA && viaB) return { color: COLORS.both, text: 'via a + b' };
      return viaA ? { color: COLORS.a, text: 'via a' } : { color: COLORS.bOnly, text: 'via b' };
    }),
  });
  lanes.push({
    kind: 'dots',
    label: 'client queries (router)',
    radius: 2.2,
    dots: capture.clients
      .filter((query) => query.t >= start && query.t <= end)
      .map((query) => ({
        time: query.t,
        color: !query.ok ? COLORS.fail : query.by === 'a' ? COLORS.a : COLORS.b,
        title: query.ok ? `answered by ${query.by} in ${query.rttMs} ms` : `failed: ${query.err}`,
      })),
  });
  return renderTimeline({
    title: `One failover: unbound killed on node a, then restarted (interval 200ms, fall 2, rise 2, hold_down 0)`,
    start,
    end,
    zero: capture.zero,
    lanes,
    markers: capture.markers,
    legend: [
      { color: COLORS.ok, text: 'probe ok / up / present' },
      { color: COLORS.fail, text: 'probe failed / down / query failed' },
      { color: COLORS.falling, text: 'falling' },
      { color: COLORS.rising, text: 'rising' },
      { color: COLORS.a, text: 'answered by node a' },
      { color: COLORS.b, text: 'answered by node b / route via b' },
    ],
  });
}

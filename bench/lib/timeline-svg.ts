// A hand-written SVG timeline (no dependency): lanes of dots (events) and spans (states) on one time axis,
// with labelled vertical markers, so an operator can see what happens during a failover.

export interface Dot {
  time: number;
  color: string;
  title?: string;
}

export interface Span {
  from: number;
  to: number;
  color: string;
  text?: string;
}

export type Lane = { kind: 'dots'; label: string; dots: Dot[]; radius?: number } | { kind: 'spans'; label: string; spans: Span[] };

export interface Marker {
  time: number;
  label: string;
}

export interface TimelineInput {
  title: string;
  start: number; // epoch ms; the axis shows milliseconds relative to `zero`
  end: number;
  zero: number;
  lanes: Lane[];
  markers: Marker[];
  legend: { color: string; text: string }[];
}

const WIDTH = 1100;
const LEFT = 190;
const RIGHT = 20;
const TOP = 44;
const LANE = 34;
const MARKER_ROW = 13;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceStep(rangeMs: number): number {
  for (const step of [50, 100, 200, 250, 500, 1000, 2000, 5000]) if (rangeMs / step <= 16) return step;
  return 10_000;
}

export function renderTimeline(input: TimelineInput): string {
  const markerBand = input.markers.length * MARKER_ROW + 8;
  const lanesTop = TOP + markerBand;
  const lanesHeight = input.lanes.length * LANE;
  const legendTop = lanesTop + lanesHeight + 54;
  const height = legendTop + 24;
  const plot = WIDTH - LEFT - RIGHT;
  const x = (time: number) => LEFT + ((Math.min(Math.max(time, input.start), input.end) - input.start) / (input.end - input.start)) * plot;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="20" font-size="14" font-weight="bold">${escape(input.title)}</text>`);

  // Time grid, labelled relative to zero.
  const step = niceStep(input.end - input.start);
  const first = Math.ceil((input.start - input.zero) / step) * step;
  for (let rel = first; input.zero + rel <= input.end; rel += step) {
    const gx = x(input.zero + rel).toFixed(1);
    out.push(`<line x1="${gx}" y1="${lanesTop}" x2="${gx}" y2="${lanesTop + lanesHeight}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${gx}" y="${lanesTop + lanesHeight + 14}" text-anchor="middle" fill="#555">${rel}</text>`);
  }
  out.push(
    `<text x="${LEFT + plot / 2}" y="${lanesTop + lanesHeight + 28}" text-anchor="middle" fill="#555">milliseconds from the kill of unbound on node a</text>`,
  );

  input.lanes.forEach((lane, index) => {
    const top = lanesTop + index * LANE;
    const mid = top + LANE / 2;
    if (index % 2 === 0) out.push(`<rect x="${LEFT}" y="${top}" width="${plot}" height="${LANE}" fill="#f7f7f7"/>`);
    out.push(`<text x="${LEFT - 8}" y="${mid + 4}" text-anchor="end">${escape(lane.label)}</text>`);
    if (lane.kind === 'spans') {
      for (const span of lane.spans) {
        const x1 = x(span.from);
        const w = Math.max(1, x(span.to) - x1);
        out.push(
          `<rect x="${x1.toFixed(1)}" y="${top + 7}" width="${w.toFixed(1)}" height="${LANE - 14}" fill="${span.color}"><title>${escape(span.text ?? '')}</title></rect>`,
        );
        if (span.text && w > span.text.length * 6.5)
          out.push(`<text x="${(x1 + w / 2).toFixed(1)}" y="${mid + 4}" text-anchor="middle" fill="#fff">${escape(span.text)}</text>`);
      }
    } else {
      for (const dot of lane.dots) {
        out.push(
          `<circle cx="${x(dot.time).toFixed(1)}" cy="${mid}" r="${lane.radius ?? 4}" fill="${dot.color}">${dot.title ? `<title>${escape(dot.title)}</title>` : ''}</circle>`,
        );
      }
    }
  });

  // Markers: one label row each, so labels never overlap.
  input.markers.forEach((marker, index) => {
    const mx = x(marker.time).toFixed(1);
    const labelY = TOP + index * MARKER_ROW + 8;
    const rel = Math.round(marker.time - input.zero);
    const anchor = Number(mx) > LEFT + plot * 0.7 ? 'end' : 'start';
    const dx = anchor === 'end' ? -3 : 3;
    out.push(`<line x1="${mx}" y1="${labelY - 4}" x2="${mx}" y2="${lanesTop + lanesHeight}" stroke="#333" stroke-dasharray="3,3"/>`);
    out.push(`<text x="${(Number(mx) + dx).toFixed(1)}" y="${labelY}" text-anchor="${anchor}" fill="#222">${escape(`${marker.label} (${rel} ms)`)}</text>`);
  });

  let lx = LEFT;
  for (const item of input.legend) {
    out.push(`<rect x="${lx}" y="${legendTop - 9}" width="10" height="10" fill="${item.color}"/>`);
    out.push(`<text x="${lx + 14}" y="${legendTop}">${escape(item.text)}</text>`);
    lx += 24 + item.text.length * 6.2;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

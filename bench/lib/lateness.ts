// How late probe rounds start, from the agent's own log lines: each round line carries its end time and latency,
// so start = time - latency_ms. The agent schedules service rounds at epoch + k * interval with an unlogged epoch;
// lateness is therefore measured against each service's least-late round, which understates it by that round's
// own lateness (about one timer tick).
import type { LogLine } from '../../test/reliability/support/agent.js';

export interface RoundLateness {
  service: string;
  start: number; // epoch ms
  latenessMs: number;
}

export class LatenessTracker {
  private readonly starts = new Map<string, number[]>();

  constructor(private readonly intervalMs: number, private readonly from = 0) {}

  // Feed every log line; only probe rounds (steady or transition lines) count.
  add(line: LogLine): void {
    if (line.service === undefined || typeof line.latency_ms !== 'number' || line.time < this.from) return;
    if (line.msg !== 'probe round' && line.to === undefined) return;
    const list = this.starts.get(line.service) ?? [];
    list.push(line.time - line.latency_ms);
    this.starts.set(line.service, list);
  }

  rounds(): number {
    let total = 0;
    for (const list of this.starts.values()) total += list.length;
    return total;
  }

  services(): number {
    return this.starts.size;
  }

  all(): RoundLateness[] {
    const out: RoundLateness[] = [];
    for (const [service, starts] of this.starts) {
      const first = starts[0]!;
      const offsets = starts.map((start) => {
        const relative = start - first;
        return relative - Math.round(relative / this.intervalMs) * this.intervalMs;
      });
      const base = Math.min(...offsets);
      starts.forEach((start, index) => out.push({ service, start, latenessMs: offsets[index]! - base }));
    }
    return out;
  }
}

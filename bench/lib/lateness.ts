// How late probe rounds start, from the agent's own log lines: every round line (debug `probe round`, info state
// changes) carries `late_ms`, the time from the round's scheduled slot to its start as the agent measured it, and
// `latency_ms`, the round's duration, so start = time - latency_ms.
import type { LogLine } from '../../lab/healthcast.js';

export interface RoundLateness {
  service: string;
  start: number; // epoch ms
  latenessMs: number;
}

export class LatenessTracker {
  private readonly rounds_: RoundLateness[] = [];
  private readonly seen = new Set<string>();

  // Rounds that started before `from` (epoch ms) are left out.
  constructor(private readonly from = 0) {}

  // Feed every log line; only scheduled probe rounds count (a check-now round has no late_ms).
  add(line: LogLine): void {
    if (line.service === undefined || typeof line.latency_ms !== 'number' || typeof line.late_ms !== 'number') return;
    if (line.msg !== 'probe round' && line.to === undefined) return;
    const start = line.time - line.latency_ms;
    if (start < this.from) return;
    this.rounds_.push({ service: line.service, start, latenessMs: line.late_ms });
    this.seen.add(line.service);
  }

  rounds(): number {
    return this.rounds_.length;
  }

  services(): number {
    return this.seen.size;
  }

  all(): RoundLateness[] {
    return this.rounds_;
  }
}

// Upper bounds on wall-clock time that hold on a busy machine. Nothing in this process can finish before its event
// loop gets to it, and on the 2-core CI machine shared with other work the loop itself runs late (hundreds of ms at
// times): a bound is what the code promises plus how late the loop ran meanwhile, measured (monitorEventLoopDelay, as
// test/reliability/hostile-peers does), not guessed. What the bound tells apart (an answer at once against a timeout)
// stays told apart by the reason the test also checks.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopWatch {
  // Stops measuring; the most the loop ran late since watchLoop(), in whole ms.
  stop(): number;
}

export function watchLoop(): LoopWatch {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      // max is 0 when no sample was taken (the work ended within the first resolution period).
      return Math.ceil(histogram.max / 1e6);
    },
  };
}

// Time as a dependency: everything that reads the clock or sets a timer takes a Clock, so unit tests drive time with
// ManualClock (test/support/manual-clock.ts) and wait on events, never on the wall clock.

// A timer as the clock hands it out; only the clock that made it can clear it. unref() as Node's: it does not keep the
// process alive.
export interface Timer {
  unref(): unknown;
}

export interface Clock {
  // Wall-clock time, epoch ms (what logs, status and persisted records show).
  now(): number;
  // Monotonic ms for durations (performance.now() in the process).
  monotonic(): number;
  setTimeout(callback: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
  setInterval(callback: () => void, ms: number): Timer;
  clearInterval(timer: Timer | undefined): void;
}

// The process's own clock: Node's timers, returned as they are (no wrapper object per timer).
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (timer) => clearInterval(timer as NodeJS.Timeout | undefined),
};

// Resolves after `ms` on `clock`; an abort rejects with the signal's reason and clears the timer.
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as unknown);
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal!.reason as unknown);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

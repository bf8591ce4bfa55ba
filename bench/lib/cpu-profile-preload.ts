// Preload (node --import) that records a V8 CPU profile of a process for a time window, because --cpu-prof is not
// allowed in NODE_OPTIONS and the agent is started by the benchmark, not by hand.
// Env: CPU_PROFILE_FILE (where to write), CPU_PROFILE_START_MS (delay, default 10000), CPU_PROFILE_MS (default 15000),
// CPU_PROFILE_INTERVAL_US (sampling interval, default 500).
import fs from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.CPU_PROFILE_FILE;
if (file) {
  const startMs = Number(process.env.CPU_PROFILE_START_MS ?? 10_000);
  const durationMs = Number(process.env.CPU_PROFILE_MS ?? 15_000);
  const intervalUs = Number(process.env.CPU_PROFILE_INTERVAL_US ?? 500);
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  setTimeout(() => {
    void (async () => {
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: intervalUs });
      await post('Profiler.start');
      setTimeout(() => {
        void post('Profiler.stop').then((result) => {
          fs.writeFileSync(file, JSON.stringify((result as { profile: unknown }).profile));
          session.disconnect();
        });
      }, durationMs).unref();
    })();
  }, startMs).unref();
}

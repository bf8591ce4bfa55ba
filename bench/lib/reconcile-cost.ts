// Where decision-to-kernel time goes: the reconciler's steps timed one by one with the real backend and store.
import fs from 'node:fs';
import { IpBackend } from '../../src/routing/ip-backend.js';
import { FileOwnershipStore } from '../../src/routing/ownership.js';
import type { RoutingOp } from '../../src/routing/types.js';

export interface StepTimes {
  listMs: number[]; // addresses and routes through the backend's long-lived ip process
  applyMs: number[]; // one batch adding or removing one address, through the same ip process
  saveMs: number[]; // the ownership record: write and rename (kernel entries only: no fsync, see ownership.ts)
}

// `address` must be a host address outside everything the lab advertises (it is added and removed on lo).
export async function reconcileSteps(netns: string, stateDir: string, address: string, repetitions = 20): Promise<StepTimes> {
  const backend = new IpBackend({ routeProtocol: 201, namespace: netns });
  fs.mkdirSync(stateDir, { recursive: true });
  const store = new FileOwnershipStore(stateDir);
  const entry = { kind: 'address' as const, address, interface: 'lo' };
  const add: RoutingOp[] = [{ action: 'add', entry }];
  const remove: RoutingOp[] = [{ action: 'remove', entry }];
  const times: StepTimes = { listMs: [], applyMs: [], saveMs: [] };
  const timed = async (into: number[], work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    into.push(performance.now() - started);
  };
  for (let i = 0; i < repetitions; i += 1) {
    await timed(times.listMs, () => backend.list());
    await timed(times.saveMs, () => store.save([entry]));
    await timed(times.applyMs, () => backend.apply(add));
    await timed(times.applyMs, () => backend.apply(remove));
  }
  backend.close();
  return times;
}

// Timer profiles for the rendered FRR config. OSPF hello/dead must match on both ends of a link, so `default`
// is what an unconfigured router runs (FRR's and Cisco's defaults); `fast` is the lab's measured set (lab-notes).

export interface FrrTimers {
  // OSPF/OSPFv3 interface timers, seconds.
  helloInterval: number;
  deadInterval: number;
  // `timers throttle spf DELAY HOLD MAX`, milliseconds.
  spfDelay: number;
  spfHold: number;
  spfMaxHold: number;
  // `timers throttle lsa all` (MinLSInterval, ospfd only) and `timers lsa min-arrival`, milliseconds.
  lsaInterval: number;
  lsaMinArrival: number;
  // BGP, seconds. The hold time is negotiated down to the lower of the two peers' values.
  bgpKeepalive: number;
  bgpHold: number;
  bgpConnectRetry: number;
}

export type ProfileName = 'default' | 'fast';

export const PROFILES: Readonly<Record<ProfileName, Readonly<FrrTimers>>> = {
  // FRR 8.4's own OSPF defaults written out, so the operator sees what the router side must match. BGP 10/30
  // instead of FRR's 60/180: a crashed node's routes should not attract traffic for three minutes.
  default: {
    helloInterval: 10,
    deadInterval: 40,
    spfDelay: 0,
    spfHold: 50,
    spfMaxHold: 5000,
    lsaInterval: 5000,
    lsaMinArrival: 1000,
    bgpKeepalive: 10,
    bgpHold: 30,
    bgpConnectRetry: 10,
  },
  // Measured in the lab: a service address change reaches the neighbour in 26-38 ms. Needs the same hello/dead on
  // the router; a flapping service then moves its route just as fast, so keep a rise hold-down.
  fast: {
    helloInterval: 1,
    deadInterval: 3,
    spfDelay: 0,
    spfHold: 50,
    spfMaxHold: 200,
    lsaInterval: 0,
    lsaMinArrival: 0,
    bgpKeepalive: 1,
    bgpHold: 3,
    bgpConnectRetry: 1,
  },
};

// Whether a profile renders BFD when frr.bfd is not set: `fast` is meant for sub-second failover, and hellos alone
// take the dead interval (3 s) to notice a node that died without withdrawing.
export const PROFILE_BFD: Readonly<Record<ProfileName, boolean>> = { default: false, fast: true };

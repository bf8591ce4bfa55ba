// The probe kit: everything a probe file imports besides Node and zod. Probes import nothing from src/; the agent
// knows probes through this contract and the registry.
export { defineProbe, type ProbeContext, type ProbeDefinition, type ProbeLogger, type ProbeOutcome, type ProbeResult } from './contract.js';
export { abortKind, FINISHED, isTimeout, ProbeAbort, stoppedText, TIMED_OUT, type AbortKind } from './abort.js';
export { canonicalAddress, formatHostPort, hostOrAddress, ipAddress, messageOf, port } from './fields.js';

// The control socket's wire format: one JSON request per line, one JSON response per line. Pure, so tests reach it.
import { z } from 'zod';
import { SERVICE_NAME } from '../config/names.js';
import { ErrorCodes } from '../errors.js';

export const MAX_REQUEST_BYTES = 64 * 1024;

const serviceName = z.string().regex(SERVICE_NAME, 'not a service name');
const by = z.string().min(1).max(100).optional();

// Epoch ms after which the client no longer waits: the agent does not act on a request it reads later (it was queued
// while the agent was stopped, say), so a request whose client gave up never takes effect.
const deadline = z.number().int().positive().optional();

const selectionFields = { services: z.array(serviceName).min(1).max(1000).optional(), all: z.literal(true).optional(), by, deadline };
const bothOrNeither = [
  (value: { services?: unknown; all?: true | undefined }) => (value.services !== undefined) !== (value.all === true),
  { message: 'name services or set "all": true (not both)' },
] as const;

// A drain may name the process that holds it (the maintenance wrapper): the agent ends the hold when that process is
// gone, unless it asked to stay drained (src/maintenance/hold-watch.ts).
const drainFields = {
  ...selectionFields,
  pid: z.number().int().positive().optional(),
  pid_start: z.number().int().nonnegative().optional(),
  stay_drained: z.boolean().optional(),
};

export const requestSchema = z.union([
  z.strictObject({ command: z.literal('ping') }),
  z.strictObject({ command: z.literal('status') }),
  z.strictObject({ command: z.literal('check-now'), services: z.array(serviceName).max(1000).default([]), deadline }),
  z.strictObject({ command: z.literal('drain'), ...drainFields }).refine(...bothOrNeither),
  z.strictObject({ command: z.literal('resume'), ...selectionFields }).refine(...bothOrNeither),
]);

export type ControlRequest = z.output<typeof requestSchema>;

export interface ControlError {
  code: string;
  message: string;
}

export type ControlResponse = { ok: true; result: unknown } | { ok: false; error: ControlError };

// A request line, or the error to send back for it.
export function parseRequest(line: string): { request: ControlRequest } | { error: ControlError } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { error: { code: ErrorCodes.CONTROL_PROTOCOL, message: 'request is not JSON (send one JSON object per line)' } };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { error: { code: ErrorCodes.CONTROL_PROTOCOL, message: 'request must be a JSON object with a "command"' } };
  }
  const command = (raw as { command?: unknown }).command;
  const known = ['ping', 'status', 'check-now', 'drain', 'resume'];
  if (typeof command !== 'string' || !known.includes(command)) {
    return { error: { code: ErrorCodes.CONTROL_PROTOCOL, message: `unknown command ${JSON.stringify(command)} (known: ${known.join(', ')})` } };
  }
  // Split so drain/resume report their own field errors instead of a union's "no match".
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || command}: ${issue.message}`)
      .join('; ');
    return { error: { code: ErrorCodes.CONTROL_PROTOCOL, message: `invalid ${command} request: ${why}` } };
  }
  return { request: parsed.data };
}

// A request the client stopped waiting for before the agent read it: answered with an error, never acted on.
export function expired(request: ControlRequest, now: number): boolean {
  return 'deadline' in request && request.deadline !== undefined && now > request.deadline;
}

export function encode(response: ControlResponse): string {
  return `${JSON.stringify(response)}\n`;
}

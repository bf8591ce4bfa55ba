// A batch that partly failed: which ops failed and why, so the reconciler can give each entry its own reason.
import { ErrorCodes, HealthcastError } from '../errors.js';
import type { RoutingOp } from './types.js';

export interface OpFailure {
  op: RoutingOp;
  reason: string;
}

export class RoutingBatchError extends HealthcastError {
  readonly failures: readonly OpFailure[];

  constructor(message: string, failures: readonly OpFailure[], options: { details?: readonly string[]; cause?: unknown } = {}) {
    super(ErrorCodes.BACKEND_COMMAND, message, options);
    this.name = 'RoutingBatchError';
    this.failures = failures;
  }
}

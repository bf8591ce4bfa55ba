// One list of coded errors, so callers branch on `code` instead of parsing messages.
export const ErrorCodes = {
  CONFIG_INVALID: 'HC_ERR_CONFIG_INVALID',
  CONFIG_READ: 'HC_ERR_CONFIG_READ',
  SERVICE_UNKNOWN: 'HC_ERR_SERVICE_UNKNOWN',
  OWNERSHIP_WRITE: 'HC_ERR_OWNERSHIP_WRITE',
  OWNERSHIP_CORRUPT: 'HC_ERR_OWNERSHIP_CORRUPT',
  BACKEND_COMMAND: 'HC_ERR_BACKEND_COMMAND',
  USAGE: 'HC_ERR_USAGE',
  DRAIN_WRITE: 'HC_ERR_DRAIN_WRITE',
  DRAIN_CORRUPT: 'HC_ERR_DRAIN_CORRUPT',
  CONTROL_UNREACHABLE: 'HC_ERR_CONTROL_UNREACHABLE',
  CONTROL_PROTOCOL: 'HC_ERR_CONTROL_PROTOCOL',
  CONTROL_TIMEOUT: 'HC_ERR_CONTROL_TIMEOUT',
  AGENT_STATE: 'HC_ERR_AGENT_STATE',
  VTYSH_NOT_RUNNING: 'HC_ERR_VTYSH_NOT_RUNNING',
  VTYSH_DAEMON_DOWN: 'HC_ERR_VTYSH_DAEMON_DOWN',
  VTYSH_REJECTED: 'HC_ERR_VTYSH_REJECTED',
  VTYSH_TIMEOUT: 'HC_ERR_VTYSH_TIMEOUT',
  VTYSH_BAD_OUTPUT: 'HC_ERR_VTYSH_BAD_OUTPUT',
  BGP_INSTANCE: 'HC_ERR_BGP_INSTANCE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class HealthcastError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: { details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HealthcastError';
    this.code = code;
    this.details = options.details ?? [];
  }
}

export function isHealthcastError(error: unknown, code?: ErrorCode): error is HealthcastError {
  return error instanceof HealthcastError && (code === undefined || error.code === code);
}

// Probes and logs want a one-line reason from anything that was thrown.
export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

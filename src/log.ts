// pino JSON on stdout; components get child loggers so every line names its source.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = options.level ?? process.env.HEALTHCAST_LOG_LEVEL ?? 'info';
  return pino({ name: 'healthcast', level, base: { pid: process.pid } }, options.destination ?? pino.destination({ fd: 1, sync: true }));
}

// For tests and one-shot commands that must not print.
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

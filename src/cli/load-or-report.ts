// Loads the config for a command, printing every error with file and key path (exit 2) when it is invalid.
import { loadConfig } from '../config/load.js';
import { DEFAULT_CONFIG_FILE } from '../config/defaults.js';
import type { AgentConfig } from '../config/types.js';
import { isHealthcastError, messageOf } from '../errors.js';
import type { CliIO } from './output.js';

export async function loadOrReport(file: string | undefined, io: CliIO): Promise<AgentConfig | undefined> {
  const path = file ?? DEFAULT_CONFIG_FILE;
  try {
    return await loadConfig(path);
  } catch (error) {
    io.err(`healthcast: ${messageOf(error)}`);
    if (isHealthcastError(error)) for (const detail of error.details) io.err(`  ${detail}`);
    return undefined;
  }
}

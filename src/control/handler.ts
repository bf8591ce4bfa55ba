// Maps control requests to agent operations; the only code the control socket runs.
import type { Agent } from '../core/agent.js';
import type { ControlRequest } from './protocol.js';
import { buildStatus, type StatusJson } from './status.js';
import { ErrorCodes, HealthcastError } from '../errors.js';
import { processAlive } from '../systemd/process-state.js';

export function controlHandler(agent: Agent, info: { version: string }): (request: ControlRequest) => Promise<unknown> {
  const status = (): StatusJson =>
    buildStatus(
      {
        version: info.version,
        pid: process.pid,
        mode: agent.mode,
        startedAt: agent.startedAt,
        now: Date.now(),
        config: agent.currentConfig.file,
        controlSocket: agent.currentConfig.controlSocket,
        lease: agent.lease(),
      },
      agent.status(),
      processAlive,
    );
  return async (request) => {
    switch (request.command) {
      case 'ping':
        return { pong: true, pid: process.pid };
      case 'status':
        return status();
      case 'check-now': {
        if (agent.mode !== 'running') throw new HealthcastError(ErrorCodes.AGENT_STATE, `the agent is ${agent.mode}; nothing is probed`);
        await agent.checkNow(request.services);
        return status();
      }
      case 'drain':
        return agent.drainServices(request.all ? 'all' : (request.services ?? []), {
          by: request.by ?? 'cli',
          pid: request.pid,
          pidStart: request.pid_start,
          stayDrained: request.stay_drained,
        });
      case 'resume':
        return agent.resumeServices(request.all ? 'all' : (request.services ?? []), request.by ?? 'cli');
    }
  };
}

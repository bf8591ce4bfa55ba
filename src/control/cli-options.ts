// The options and help lines of the operations commands, spread into the CLI's one parseArgs table.
import { DEFAULT_CONTROL_SOCKET } from '../config/defaults.js';

export const opsOptions = {
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  service: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  'stay-drained-on-failure': { type: 'boolean' },
  'wait-for-resume': { type: 'boolean' },
  socket: { type: 'string' },
  force: { type: 'boolean' },
  daemon: { type: 'boolean' },
  pidfile: { type: 'string' },
} as const;

export interface OpsValues {
  config?: string | undefined;
  json?: boolean | undefined;
  all?: boolean | undefined;
  service?: string[] | undefined;
  timeout?: string | undefined;
  'stay-drained-on-failure'?: boolean | undefined;
  'wait-for-resume'?: boolean | undefined;
  socket?: string | undefined;
  force?: boolean | undefined;
  daemon?: boolean | undefined;
  pidfile?: string | undefined;
}

export const OPS_HELP = `  healthcast status [--json]                          services (state, phase, last probe, announced, advertised,
                                                      maintenance) and the agent; --json: the format in docs/operations.md
  healthcast drain SERVICE... | --all                 maintenance: withdraw the services and keep them withdrawn (also
                                                      across restarts) until resumed; returns once withdrawn
  healthcast resume SERVICE... | --all                end the maintenance; announced again once healthy
  healthcast check-now [SERVICE...]                   probe now (all services when none named) and print the status
  healthcast cleanup [--force]                        withdraw and remove everything healthcast owns, without the agent
                                                      (ExecStopPost= after a crash); refuses while an agent answers
  healthcast maintenance [--service S]... [--timeout DUR] [--stay-drained-on-failure] [--wait-for-resume] -- COMMAND ARGS...
                                                      drain (all or the named services), run COMMAND, resume, exit
                                                      with COMMAND's code; resumes on failure and on interrupt too
                                                      unless --stay-drained-on-failure. COMMAND must exist before
                                                      anything is drained (127 if not). A stopped agent (SIGTSTP):
                                                      exit 125 at once, or wait for kill -CONT (--wait-for-resume)
  healthcast run --daemon --pidfile FILE              (rc.local) detach once the agent has started; logs go to the
                                                      caller's stdout/stderr, e.g. >>/var/log/healthcast.log 2>&1`;

export const OPS_OPTIONS_HELP = `  --socket PATH         control socket (default: control_socket from --config, else ${DEFAULT_CONTROL_SOCKET})
  status, drain, resume, check-now exit 3 at once when the agent is stopped (SIGTSTP), naming its PID: kill -CONT PID`;

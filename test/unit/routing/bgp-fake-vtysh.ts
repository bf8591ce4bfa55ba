// An in-process bgpd behind the Vtysh interface, for unit tests: it keeps `network` statements, prints
// `show running-config bgpd` the way FRR 8.4.4 does, and fails the way vtysh does (measured in the lab: a rejected
// line stops the rest and keeps the earlier ones; `router bgp N` creates an instance when there is none). Its
// failures go through the real classifyVtysh, so the errors are the ones the real client throws.
import { classifyVtysh, type VtyshOutcome } from '../../../src/frr/vtysh-errors.js';
import type { Vtysh } from '../../../src/frr/vtysh.js';

type Family = 'ipv4' | 'ipv6';

export class FakeBgpd implements Vtysh {
  // false: bgpd is down (zebra still answers), as after SIGTERM/SIGKILL of bgpd.
  running = true;
  // The default instance's AS; undefined: no `router bgp`.
  asn: string | undefined = '65001';
  readonly networks: Record<Family, string[]> = { ipv4: [], ipv6: [] };
  // Prefix-list entries (`ip prefix-list NAME seq N deny P` as printed), kept in order of seq; frr-config's hold
  // lists are added by withHoldLists().
  readonly prefixLists = new Map<string, { seq: number; line: string }>();
  // Each vtysh process: its -c commands.
  readonly calls: string[][] = [];
  // Extra lines printed inside `router bgp` (not statements) and whole other sections (a vrf instance).
  routerLines: string[] = [' bgp router-id 0.0.0.2', ' neighbor 198.51.100.1 remote-as 65000'];
  otherSections: string[] = [];
  // Return FRR's answer to reject a config line (before it takes effect).
  rejectLine: ((line: string) => string | undefined) | undefined;
  // Runs before each process; may change state (bgpd dies between calls) or throw.
  beforeRun: ((commands: readonly string[]) => void) | undefined;

  async run(commands: readonly string[]): Promise<string> {
    this.calls.push([...commands]);
    this.beforeRun?.(commands);
    const outcome = this.execute(commands);
    const error = classifyVtysh(outcome, commands, { binary: 'vtysh', timeoutMs: 5000 });
    if (error) throw error;
    return outcome.stdout;
  }

  async show<T>(command: string): Promise<T> {
    return JSON.parse(await this.run([command])) as T;
  }

  configure(lines: readonly string[]): Promise<string> {
    return lines.length === 0 ? Promise.resolve('') : this.run(['configure terminal', ...lines]);
  }

  // The hold lists as frr-config renders them: only their closing `permit any`.
  withHoldLists(): this {
    this.prefixLists.set('ip HC-BGP-HOLD-V4 4294967295', { seq: 4294967295, line: 'ip prefix-list HC-BGP-HOLD-V4 seq 4294967295 permit any' });
    this.prefixLists.set('ipv6 HC-BGP-HOLD-V6 4294967295', { seq: 4294967295, line: 'ipv6 prefix-list HC-BGP-HOLD-V6 seq 4294967295 permit any' });
    return this;
  }

  // What the processes did, as `-c` lists without `configure terminal`: the config lines written.
  configured(): string[][] {
    return this.calls.filter((call) => call[0] === 'configure terminal').map((call) => call.slice(1));
  }

  runningConfig(): string {
    const lines = [
      'Building configuration...',
      '',
      'Current configuration:',
      '!',
      'frr version 8.4.4',
      'frr defaults traditional',
      'hostname a',
      'service integrated-vtysh-config',
      '!',
    ];
    const lists = [...this.prefixLists.values()].sort((a, b) => a.seq - b.seq).map((entry) => entry.line);
    if (lists.length > 0) lines.push(...lists.filter((line) => line.startsWith('ip ')), ...lists.filter((line) => line.startsWith('ipv6 ')), '!');
    if (this.asn !== undefined) {
      lines.push(`router bgp ${this.asn}`, ...this.routerLines);
      for (const family of ['ipv4', 'ipv6'] as const) {
        lines.push(' !', ` address-family ${family} unicast`, ...this.networks[family].map((prefix) => `  network ${prefix}`), ' exit-address-family');
      }
      lines.push('exit', '!');
    }
    lines.push(...this.otherSections, 'end', '');
    return lines.join('\n');
  }

  // vtysh runs the -c commands in order, concatenating their output, and stops at the first failure.
  private execute(commands: readonly string[]): VtyshOutcome {
    let stdout = '';
    const ok = (): VtyshOutcome => ({ exitCode: 0, stdout, stderr: '', timedOut: false });
    const down = (): VtyshOutcome => ({ exitCode: 1, stdout, stderr: 'bgpd is not running\n', timedOut: false });
    const fail = (text: string): VtyshOutcome => ({ exitCode: 1, stdout: `${stdout}${text}\n`, stderr: '', timedOut: false });
    let family: Family | undefined;
    let configuring = false;
    for (const command of commands) {
      if (command === 'show bgp vrfs json') {
        // Routed to bgpd alone: "bgpd is not running" when it is down.
        if (!this.running) return down();
        const vrfs = this.asn === undefined ? {} : { default: { type: 'DFLT', vrfId: 0, routerId: '0.0.0.2' } };
        stdout += `${JSON.stringify({ vrfs, totalVrfs: Object.keys(vrfs).length }, null, 2)}\n`;
      } else if (command === 'show running-config bgpd') {
        // Measured: with bgpd down, exit 0, only vtysh's own lines, no error at all.
        stdout += this.running
          ? this.runningConfig()
          : 'Building configuration...\n\nCurrent configuration:\n!\nhostname vm\nservice integrated-vtysh-config\n!\nend\n';
      } else if (command === 'configure terminal') {
        if (!this.running) return down();
        configuring = true;
      } else if (!configuring) {
        return fail(`% Unknown command: ${command}`);
      } else {
        const rejected = this.rejectLine?.(command);
        if (rejected !== undefined) return fail(rejected);
        const router = /^router bgp (\S+)$/.exec(command);
        const af = /^address-family (ipv4|ipv6) unicast$/.exec(command);
        const network = /^(no )?network (\S+)$/.exec(command);
        const plist = /^(no )?(ipv6|ip) prefix-list (\S+) seq (\d+) (deny|permit) (\S+)$/.exec(command);
        if (plist) {
          const key = `${plist[2]} ${plist[3]} ${plist[4]}`;
          if (plist[1]) {
            if (!this.prefixLists.has(key)) return fail("% Can't find specified prefix-list");
            this.prefixLists.delete(key);
          } else this.prefixLists.set(key, { seq: Number(plist[4]), line: command });
        } else if (router) {
          if (this.asn !== undefined && this.asn !== router[1]) return fail(`BGP is already running; AS is ${this.asn}`);
          this.asn = router[1];
        } else if (af) family = af[1] as Family;
        else if (command === 'exit-address-family') family = undefined;
        else if (network && family) {
          const list = this.networks[family];
          const prefix = network[2] ?? '';
          if (network[1]) {
            if (!list.includes(prefix)) return fail("% Can't find static route specified");
            list.splice(list.indexOf(prefix), 1);
          } else if (!list.includes(prefix)) list.push(prefix);
        } else return fail(`% Unknown command: ${command}`);
      }
    }
    return ok();
  }
}

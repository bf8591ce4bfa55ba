// A NOTIFY_SOCKET listener for tests (no systemd here): python binds AF_UNIX SOCK_DGRAM, Node cannot.
import { spawn } from 'node:child_process';
import { waitFor } from '../../../lab/process.js';

// A NOTIFY_SOCKET the way systemd makes it: AF_UNIX SOCK_DGRAM; python prints each datagram as one JSON line.
const LISTENER = `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = sys.argv[1]
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
print('ready', flush=True)
while True:
    data = s.recv(4096)
    print(json.dumps(data.decode()), flush=True)
`;

export function notifyListener(address: string) {
  const child = spawn('python3', ['-c', LISTENER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return {
    child,
    messages: () =>
      out
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string),
    // A wait, not a bound: starting python3 took over 5 s on the 2-core machine at a load of 20.
    ready: () => waitFor('notify listener', () => out.startsWith('ready'), { timeoutMs: 30_000 }),
    stop: () => child.kill('SIGKILL'),
  };
}

// An in-process FRR daemon speaking the vty protocol over DIR/NAME.vty (a command ends with NUL; an answer ends with
// three NULs and the status byte; a new connection starts in view mode), as bgpd 8.4.4 answered in the lab.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface FakeDaemon {
  dir: string;
  // Every command received, per connection.
  connections: string[][];
  // Answers by command (default: status 0, no text); `reject` wins.
  answers: Map<string, string>;
  reject: Map<string, { status: number; text: string }>;
  silent: Set<string>;
  close(): Promise<void>;
  dropClients(): void;
}

export async function fakeDaemon(name = 'bgpd'): Promise<FakeDaemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-vty-'));
  const connections: string[][] = [];
  const sockets = new Set<net.Socket>();
  const answers = new Map<string, string>();
  const reject = new Map<string, { status: number; text: string }>();
  const silent = new Set<string>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const received: string[] = [];
    connections.push(received);
    let enabled = false;
    let partial = '';
    socket.on('data', (chunk) => {
      const parts = (partial + chunk.toString()).split('\0');
      partial = parts.pop() ?? '';
      for (const command of parts) {
        received.push(command);
        if (silent.has(command)) continue;
        let answer = reject.get(command) ?? { status: 0, text: answers.get(command) ?? '' };
        if (command === 'enable') enabled = true;
        else if ((command === 'configure terminal' || command === 'show running-config') && !enabled)
          answer = { status: 2, text: '% [BGP] Unknown command: configure terminal\n' };
        socket.write(Buffer.concat([Buffer.from(answer.text), Buffer.from([0, 0, 0, answer.status])]));
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(path.join(dir, `${name}.vty`), resolve));
  return {
    dir,
    connections,
    answers,
    reject,
    silent,
    dropClients: () => sockets.forEach((socket) => socket.destroy()),
    close: async () => {
      sockets.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

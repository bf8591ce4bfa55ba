// Misbehaving peers on 127.0.0.1 (port 0): servers that answer garbage, answer wrongly, or never finish answering.
// Each counts its open connections, so a test can check the client side let go of every one.
import dgram from 'node:dgram';
import net from 'node:net';

export interface HostileServer {
  port: number;
  // Connections (TCP) still open on the server side; always 0 for UDP.
  open(): number;
  // Requests (UDP datagrams) or connections (TCP) seen so far.
  seen(): number;
  close(): Promise<void>;
}

// Replies to every datagram with whatever `reply` makes of it (nothing when it returns undefined).
export async function udpServer(reply: (request: Buffer) => Buffer | undefined): Promise<HostileServer> {
  const socket = dgram.createSocket('udp4');
  let seen = 0;
  socket.on('message', (request, remote) => {
    seen += 1;
    const answer = reply(request);
    if (answer) socket.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    open: () => 0,
    seen: () => seen,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

// Hands every accepted connection to `onConnection`; `cleanup` runs when that connection closes.
export async function tcpServer(onConnection: (socket: net.Socket) => (() => void) | void): Promise<HostileServer> {
  const sockets = new Set<net.Socket>();
  let seen = 0;
  const server = net.createServer((socket) => {
    seen += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    const cleanup = onConnection(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      cleanup?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => sockets.size,
    seen: () => seen,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// Accepts, reads and discards, and never says a word (reading is what lets it notice the client leave).
export function silent(): (socket: net.Socket) => void {
  return (socket) => {
    socket.resume();
  };
}

// Sends `text` one byte every `everyMs`, the slowloris of responses.
export function trickle(text: string, everyMs: number): (socket: net.Socket) => () => void {
  return (socket) => {
    let index = 0;
    const timer = setInterval(() => {
      if (index < text.length) socket.write(text[index++]!);
    }, everyMs);
    socket.write(text[index++]!);
    return () => clearInterval(timer);
  };
}

import net from 'node:net';

/** How a raw connection ended: what the server sent, and when it closed it. */
export interface SocketClose {
  received: string;
  /** Milliseconds from the given start to the close. */
  afterMs: number;
  /** Date.now() at the close. */
  at: number;
}

/** A plain TCP connection to a loopback port, once connected. */
export function openSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the server closes `socket` (a reset counts), with what it sent until then. */
export function waitForClose(socket: net.Socket, startedAt: number): Promise<SocketClose> {
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  return new Promise((resolve) =>
    socket.once('close', () => {
      const at = Date.now();
      resolve({ received, afterMs: at - startedAt, at });
    }),
  );
}

/**
 * A client that sends a request line and then one header line every `everyMs`, never ending
 * the headers: what a slowloris attack does. `closed` resolves when the server cuts it.
 */
export async function slowHeaderClient(
  port: number,
  everyMs = 200,
): Promise<{ closed: Promise<SocketClose> }> {
  const socket = await openSocket(port);
  const startedAt = Date.now();
  socket.write('GET /healthz HTTP/1.1\r\nHost: slow\r\n');
  const trickle = setInterval(() => {
    if (socket.writable) socket.write('X-Slow: 1\r\n');
  }, everyMs);
  const closed = waitForClose(socket, startedAt).finally(() => clearInterval(trickle));
  return { closed };
}

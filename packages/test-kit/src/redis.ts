import { execFileSync } from 'node:child_process';
import { freePort, startProcess, sleep, type ManagedProcess } from './process';
import net from 'node:net';

export interface RedisServer {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

function redisServerBinary(): string {
  const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  try {
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `redis-server not found (${bin}): install it (apt-get install redis-server, which .ci/run does) or set REDIS_SERVER_BIN`,
    );
  }
  return bin;
}

async function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/** Starts a throwaway redis-server on a free loopback port, without persistence. */
export async function startRedis(port?: number): Promise<RedisServer> {
  const chosenPort = port ?? (await freePort());
  const proc = await startProcess({
    command: redisServerBinary(),
    args: ['--port', String(chosenPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  });
  const deadline = Date.now() + 10_000;
  while (!(await acceptsConnections(chosenPort))) {
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`redis-server did not start on ${chosenPort}:\n${proc.output()}`);
    }
    await sleep(25);
  }
  return {
    url: `redis://127.0.0.1:${chosenPort}`,
    port: chosenPort,
    process: proc,
    async stop() {
      await proc.stop('SIGTERM');
    },
  };
}

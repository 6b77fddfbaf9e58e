// A redis-server of a test's own, for tests that kill it, cut its data, or start it again from a copy.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { eventually } from './support';

// One way to find a free port for every test Redis (it also keeps the port's cluster-bus twin free).
import { freePort } from '../state/local-redis';
export { freePort };

/** A redis-server of the test's own, persisting like production: AOF on, fsync every second. */
export class PrivateRedis {
  private process: ChildProcess | undefined;
  constructor(readonly port: number) {}

  /** One on a free port, started with its data in `dataDir`, and a client of the test's own on it (the caller disconnects it). */
  static async running(dataDir: string): Promise<{ redis: PrivateRedis; admin: Redis }> {
    const redis = new PrivateRedis(await freePort());
    await redis.start(dataDir);
    return { redis, admin: new Redis(redis.port, '127.0.0.1') };
  }

  async start(dataDir: string): Promise<void> {
    mkdirSync(dataDir, { recursive: true });
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
      { stdio: 'ignore' },
    );
    const probe = new Redis(this.port, '127.0.0.1', { retryStrategy: () => 100 });
    probe.on('error', () => undefined); // refused until the server listens
    try {
      await eventually(() => probe.ping().catch(() => 'down'), (reply) => reply === 'PONG', 20_000, 'redis-server to answer');
    } finally {
      probe.disconnect();
    }
  }

  async kill(): Promise<void> {
    const running = this.process;
    if (!running || running.exitCode !== null) return;
    running.kill('SIGKILL');
    await once(running, 'exit');
  }
}


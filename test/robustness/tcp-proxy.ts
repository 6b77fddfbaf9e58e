// A TCP proxy a test stands in front of a dependency: it can be cut (every connection refused and dropped) and
// restored, its open connections silenced, or pointed at another server for new connections while the open ones stay
// where they were, as a DNS name moved to a new server behaves.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface ProxyTarget {
  host: string;
  port: number;
}

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private readonly server = createServer((client) => {
    if (this.cut) return void client.destroy();
    const upstream = connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });

  constructor(private target: ProxyTarget) {}

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as { port: number }).port;
  }

  setCut(cut: boolean): void {
    this.cut = cut;
    if (cut) for (const socket of this.sockets) socket.destroy();
  }

  /**
   * The open connections stop carrying anything either way and stay open, as a network fault or a load balancer that
   * lost its state leaves them; new ones are carried as before.
   */
  silenceOpenConnections(): void {
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** New connections go to `target`; the open ones are left as they are. */
  retarget(target: ProxyTarget): void {
    this.target = target;
  }

  close(): void {
    this.setCut(true);
    this.server.close();
  }
}

import type { Socket } from 'node:net';

/**
 * The open connections of one listener, and how many each client address holds, so one client
 * cannot take every slot. An address is counted only while it has a connection open, so the map is
 * bounded by the listener's own connection cap (server.maxConnections). Shared by the listeners that
 * face clients: TCP/DoT, DoH and the warning page.
 */
export class ClientConnections {
  private readonly open = new Set<Socket>();
  private readonly perClient = new Map<string, number>();

  constructor(private readonly maxPerClient: number) {}

  /**
   * Tracks `socket` until it closes. False when its address already holds `maxPerClient`
   * connections: then nothing is tracked and the caller refuses the socket.
   */
  admit(socket: Socket): boolean {
    const client = socket.remoteAddress ?? '';
    const count = this.perClient.get(client) ?? 0;
    if (count >= this.maxPerClient) return false;
    this.perClient.set(client, count + 1);
    this.open.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    });
    return true;
  }

  /** The connections open now (for shutdown: end them, then destroy what is left). */
  get sockets(): ReadonlySet<Socket> {
    return this.open;
  }
}

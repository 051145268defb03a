import type { HostPort } from '../config/host-port.js';
import type { QueryHandler } from './query-handler.js';
import { TcpServer, type TcpServerOptions } from './tcp-server.js';
import { UdpServer } from './udp-server.js';

/** UDP and TCP on the same address and port, as every DNS client expects. */
export class DnsListener {
  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly udp: UdpServer,
    private readonly tcp: TcpServer,
  ) {}

  /**
   * Port 0 picks a free UDP port and then takes the same TCP port; if another program holds that
   * TCP port, a new UDP port is tried.
   */
  static async open(address: HostPort, handler: QueryHandler, tcpOptions: TcpServerOptions): Promise<DnsListener> {
    const attempts = address.port === 0 ? 10 : 1;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const udp = await UdpServer.bind(address, handler);
      try {
        const tcp = await TcpServer.bind({ ...address, port: udp.port }, handler, tcpOptions);
        return new DnsListener(address.host, udp.port, udp, tcp);
      } catch (error) {
        await udp.close();
        lastError = error;
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    throw lastError;
  }

  async close(): Promise<void> {
    await Promise.all([this.udp.close(), this.tcp.close()]);
  }
}

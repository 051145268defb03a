import type { ListenOptions, Server } from 'node:net';

/**
 * Starts `server` listening and resolves with the port it got (the asked one, or the kernel's pick
 * for port 0). A bind failure (address in use, no permission) rejects with Node's error; errors
 * after that are the caller's to handle. Shared by the TCP/DoT, DoH, admin and warning-page servers.
 */
export function listen(server: Server, options: ListenOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? bound.port : (options.port ?? 0));
    });
  });
}

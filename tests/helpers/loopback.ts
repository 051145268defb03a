import { isIP } from 'node:net';

/** Test helpers only ever bind to or send to loopback. Throws for anything else. */
export function assertLoopback(host: string): void {
  const family = isIP(host);
  const ok = (family === 4 && host.startsWith('127.')) || (family === 6 && (host === '::1' || host === '0:0:0:0:0:0:0:1'));
  if (!ok) throw new Error(`test helpers only talk to loopback (127.0.0.0/8 or ::1), got '${host}'`);
}

/** The loopback address to bind a client socket to, in the same family as `host`. */
export function loopbackFor(host: string): string {
  return isIP(host) === 6 ? '::1' : '127.0.0.1';
}

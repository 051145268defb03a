/** A client name: one DNS label's worth of letters, digits and hyphens (kitchen-tablet). */
const CLIENT_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The first label of the SNI a DoT client sent (`kitchen-tablet.dot.example.net` → `kitchen-tablet`),
 * as Android's Private DNS and similar clients let a user name themselves. Not proof of anything:
 * only a label for logs and (later) groups. Undefined when there is no SNI or it has a single label.
 */
export function clientNameFromSni(servername: string | false | null | undefined): string | undefined {
  if (typeof servername !== 'string') return undefined;
  const dot = servername.indexOf('.');
  if (dot <= 0) return undefined;
  const label = servername.slice(0, dot).toLowerCase();
  return CLIENT_NAME.test(label) ? label : undefined;
}

/** The DoH path suffix as a client name (`/dns-query/kitchen-tablet` → `kitchen-tablet`), when it is a valid one. */
export function clientNameFromPath(suffix: string): string | undefined {
  const label = suffix.toLowerCase();
  return CLIENT_NAME.test(label) ? label : undefined;
}

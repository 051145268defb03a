/** A client name: one DNS label's worth of letters, digits and hyphens (kitchen-tablet). */
const CLIENT_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The first label of the SNI a DoT client sent (`kitchen-tablet.dot.example.net` → `kitchen-tablet`),
 * as Android's Private DNS and similar clients let a user name themselves, when the certificate
 * covers that name through a wildcard (`*.dot.example.net`); the server's own name
 * (`dot.example.net`, or any name the certificate lists exactly) names no client. Not proof of
 * anything: only a label for logs and (later) groups.
 */
export function clientNameFromSni(
  servername: string | false | null | undefined,
  certificateNames: { readonly exact: ReadonlySet<string>; readonly wildcardParents: ReadonlySet<string> },
): string | undefined {
  if (typeof servername !== 'string') return undefined;
  const name = servername.toLowerCase().replace(/\.$/, '');
  const dot = name.indexOf('.');
  if (dot <= 0 || certificateNames.exact.has(name) || !certificateNames.wildcardParents.has(name.slice(dot + 1))) return undefined;
  const label = name.slice(0, dot);
  return CLIENT_NAME.test(label) ? label : undefined;
}

/** The DNS names of a certificate's subjectAltName (`DNS:a.example, DNS:*.b.example, IP Address:…`), split by kind. */
export function certificateNames(subjectAltName: string | undefined): { exact: Set<string>; wildcardParents: Set<string> } {
  const exact = new Set<string>();
  const wildcardParents = new Set<string>();
  for (const entry of (subjectAltName ?? '').split(',')) {
    const trimmed = entry.trim();
    if (!trimmed.startsWith('DNS:')) continue;
    const name = trimmed.slice(4).toLowerCase();
    if (name.startsWith('*.')) wildcardParents.add(name.slice(2));
    else exact.add(name);
  }
  return { exact, wildcardParents };
}

/** The DoH path suffix as a client name (`/dns-query/kitchen-tablet` → `kitchen-tablet`), when it is a valid one. */
export function clientNameFromPath(suffix: string): string | undefined {
  const label = suffix.toLowerCase();
  return CLIENT_NAME.test(label) ? label : undefined;
}

// The anti-fraud hotline (`--hotline`): a contact URI, because the same value is a link on the
// warning page and a contact in Structured DNS Errors (whose "c" field is a list of URIs).

/** URI schemes a person can act on; the SDE draft names tel, sips and https. */
const CONTACT_PATTERNS: readonly RegExp[] = [
  /^tel:\+?[0-9][0-9().-]{0,31}$/,
  /^sips?:[A-Za-z0-9._~+-]{1,64}@[A-Za-z0-9.-]{1,253}$/,
  /^mailto:[A-Za-z0-9._~+-]{1,64}@[A-Za-z0-9.-]{1,253}$/,
];

/** Why `uri` is not usable as the hotline, or undefined when it is. */
export function hotlineProblem(uri: string): string | undefined {
  if (CONTACT_PATTERNS.some((pattern) => pattern.test(uri))) return undefined;
  if (uri.startsWith('https://')) {
    try {
      const url = new URL(uri);
      // Printable ASCII only: it is shown as a link and put into JSON and DNS text.
      if (url.protocol === 'https:' && url.href.length <= 200 && /^[\x21-\x7e]+$/.test(uri)) return undefined;
    } catch {
      // fall through to the explanation
    }
  }
  return `"${uri}" is not a contact URI: write it as tel:96110 (digits, an optional leading +, - . ( )), mailto:team@example.org, sips:user@example.org or https://…`;
}

/** What a person reads: the number of a tel: URI, the address of mailto:, otherwise the URI itself. */
export function hotlineDisplay(uri: string): string {
  if (uri.startsWith('tel:')) return uri.slice(4);
  if (uri.startsWith('mailto:')) return uri.slice(7);
  return uri;
}

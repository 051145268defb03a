import { listRecords, TYPE_OPT, TYPE_SOA } from './message-records.js';
import { Rcode } from './wire.js';

/**
 * How long an HTTP cache may keep a DoH answer (RFC 8484 §5.1): the smallest TTL of its records;
 * for an answer without answer records (NXDOMAIN, NODATA), at most the MINIMUM of the SOA in the
 * authority section (RFC 2308 negative caching). Returns undefined for answers nobody should keep
 * (SERVFAIL, a message that cannot be read): the caller sends `no-store`.
 */
export function cacheLifetimeSeconds(message: Buffer): number | undefined {
  if (message.length < 4 || (message[3]! & 0xf) === Rcode.SERVFAIL) return undefined;
  const records = listRecords(message);
  if (records === undefined) return undefined;
  let smallest = Number.POSITIVE_INFINITY;
  let hasAnswer = false;
  for (const record of records) {
    if (record.type === TYPE_OPT) continue; // its "TTL" field holds flags, not a lifetime
    if (record.section === 0) hasAnswer = true;
    smallest = Math.min(smallest, record.ttl);
    if (!hasAnswer && record.section === 1 && record.type === TYPE_SOA && record.rdlength >= 20) {
      smallest = Math.min(smallest, message.readUInt32BE(record.rdataOffset + record.rdlength - 4));
    }
  }
  return Number.isFinite(smallest) ? smallest : 0;
}

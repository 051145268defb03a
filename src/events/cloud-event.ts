import { randomUUID } from 'node:crypto';
import type { Config } from '../config/options.js';
import { anonymizeAddress } from '../querylog/anonymize.js';
import type { BlockedLookup } from './blocked-lookup.js';

export const EVENT_TYPE = 'org.fraudwall.blocked';

/** The `data` of one org.fraudwall.blocked event (README "Events" documents each field). */
export interface BlockedEventData {
  readonly time: string;
  /** As --events-client says: the /24 or /48, the full address, or null. */
  readonly client: string | null;
  readonly name: string;
  readonly domain: string;
  readonly qtype: string;
  readonly list: string;
  readonly category: string;
  readonly rule: string;
  readonly reason: string;
  readonly transport: string;
  readonly instance: string;
  /** The client's policy group whose lists decided (present only when groups are configured). */
  readonly group?: string;
  /** reason cname: the CNAME/DNAME/SVCB target that is listed; reason ip: the listed answer address. */
  readonly target?: string;
  /** The DoT SNI / DoH path name of the client; only with --events-client full (it names a device as surely as its address). */
  readonly clientName?: string;
}

export interface CloudEventOptions extends Pick<Config, 'eventsClient'> {
  readonly instance: string;
  /** qtype number → mnemonic (the metrics' label table). */
  readonly qtypeName: (qtype: number) => string;
}

function clientField(address: string, mode: Config['eventsClient']): string | null {
  if (mode === 'none') return null;
  return mode === 'full' ? address : anonymizeAddress(address);
}

/** One CloudEvents 1.0 event in structured JSON mode, serialized. */
export function blockedCloudEvent(lookup: BlockedLookup, domain: string, options: CloudEventOptions): string {
  const time = new Date(lookup.at).toISOString();
  const data: BlockedEventData = {
    time,
    client: clientField(lookup.clientAddress, options.eventsClient),
    name: lookup.name,
    domain,
    qtype: options.qtypeName(lookup.qtype),
    list: lookup.list,
    category: lookup.category,
    rule: lookup.rule,
    reason: lookup.reason,
    transport: lookup.transport,
    instance: options.instance,
    ...(lookup.group === undefined ? {} : { group: lookup.group }),
    ...(lookup.target === undefined ? {} : { target: lookup.target }),
    ...(lookup.clientName === undefined || options.eventsClient !== 'full' ? {} : { clientName: lookup.clientName }),
  };
  return JSON.stringify({
    specversion: '1.0',
    id: randomUUID(),
    source: `/fraudwall/${encodeURIComponent(options.instance)}`,
    type: EVENT_TYPE,
    subject: domain,
    time,
    datacontenttype: 'application/json',
    data,
  });
}

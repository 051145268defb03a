// Resource records in dns2's shape, for building upstream answers in tests.
import dns2 from 'dns2';

const { Packet } = dns2;

export const aRecord = (name: string, ttl: number, address = '192.0.2.1'): object => ({ name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address });

/** The SOA of example.com with the given TTL and MINIMUM (what a negative answer is cached for, RFC 2308). */
export const soaRecord = (ttl: number, minimum: number): object => ({
  name: 'example.com',
  type: Packet.TYPE.SOA,
  class: Packet.CLASS.IN,
  ttl,
  primary: 'ns1.example.com',
  admin: 'hostmaster.example.com',
  serial: 2024010101,
  refresh: 7200,
  retry: 900,
  expiration: 1209600,
  minimum,
});

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { parseUpstream } from '../../src/config/upstream-spec.js';

describe('parseUpstream', () => {
  it('reads plain addresses as before, with port 53 by default', () => {
    expect(parseUpstream('192.0.2.1')).toEqual({ protocol: 'dns', host: '192.0.2.1', port: 53, family: 4, label: '192.0.2.1:53' });
    expect(parseUpstream('[2001:db8::1]:5353')).toMatchObject({ protocol: 'dns', host: '2001:db8::1', port: 5353, family: 6 });
  });

  it('reads tls:// with port 853 by default and the certificate name after #', () => {
    expect(parseUpstream('tls://192.0.2.1')).toEqual({ protocol: 'tls', host: '192.0.2.1', port: 853, serverName: '192.0.2.1', path: '', label: 'tls://192.0.2.1:853' });
    expect(parseUpstream('tls://[2001:db8::1]:8853#dns.quad9.net')).toEqual({
      protocol: 'tls',
      host: '2001:db8::1',
      port: 8853,
      serverName: 'dns.quad9.net',
      path: '',
      label: 'tls://[2001:db8::1]:8853#dns.quad9.net',
    });
    expect(parseUpstream('tls://dns.quad9.net')).toMatchObject({ host: 'dns.quad9.net', serverName: 'dns.quad9.net', port: 853 });
  });

  it('reads https:// with port 443 and /dns-query by default', () => {
    expect(parseUpstream('https://dns.example.net')).toEqual({
      protocol: 'https',
      host: 'dns.example.net',
      port: 443,
      serverName: 'dns.example.net',
      path: '/dns-query',
      label: 'https://dns.example.net:443/dns-query',
    });
    expect(parseUpstream('https://127.0.0.1:8443/resolve')).toMatchObject({ host: '127.0.0.1', port: 8443, path: '/resolve' });
  });

  it('says what is wrong with a bad one', () => {
    expect(parseUpstream('quic://192.0.2.1')).toEqual({ error: expect.stringContaining('unknown scheme') });
    expect(parseUpstream('tls://192.0.2.1/path')).toEqual({ error: expect.stringContaining('takes no path') });
    expect(parseUpstream('https://u:p@x.example/dns-query')).toEqual({ error: expect.stringContaining('credentials') });
    expect(parseUpstream('https://bad_host!/q')).toHaveProperty('error');
    expect(parseUpstream('example.net')).toEqual({ error: expect.stringContaining('not an IP address') });
  });

  it('loads mixed upstreams and the encrypted-DNS settings from flags', () => {
    const config = loadConfig({
      flags: { upstream: ['192.0.2.1', 'tls://192.0.2.2#dns.test'], dot: ['127.0.0.1:853'], 'bootstrap-dns': ['127.0.0.1'] },
      env: {},
    });
    expect(config.upstream.map((u) => u.label)).toEqual(['192.0.2.1:53', 'tls://192.0.2.2:853#dns.test']);
    expect(config.dot).toEqual([{ host: '127.0.0.1', port: 853, family: 4 }]);
    expect(config.doh).toEqual([]);
    expect(config.bootstrapDns).toEqual([{ host: '127.0.0.1', port: 53, family: 4 }]);
    expect(config.dohPath).toBe('/dns-query');
  });
});

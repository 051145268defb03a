import { describe, expect, it } from 'vitest';
import { formatHostPort, parseHostPort } from '../../src/config/host-port.js';

describe('parseHostPort', () => {
  it.each([
    { text: '127.0.0.1:5300', defaultPort: undefined, host: '127.0.0.1', port: 5300, family: 4 },
    { text: '  10.0.0.1:53  ', defaultPort: undefined, host: '10.0.0.1', port: 53, family: 4 },
    { text: '0.0.0.0:0', defaultPort: undefined, host: '0.0.0.0', port: 0, family: 4 },
    { text: '1.2.3.4:65535', defaultPort: undefined, host: '1.2.3.4', port: 65535, family: 4 },
    { text: '[::1]:53', defaultPort: undefined, host: '::1', port: 53, family: 6 },
    { text: '[2001:db8::1]:5353', defaultPort: 53, host: '2001:db8::1', port: 5353, family: 6 },
    { text: '9.9.9.9', defaultPort: 53, host: '9.9.9.9', port: 53, family: 4 },
    { text: '[2620:fe::fe]', defaultPort: 53, host: '2620:fe::fe', port: 53, family: 6 },
    { text: '2620:fe::fe', defaultPort: 53, host: '2620:fe::fe', port: 53, family: 6 },
    { text: '::', defaultPort: 53, host: '::', port: 53, family: 6 },
  ])('"$text" (default port $defaultPort)', ({ text, defaultPort, host, port, family }) => {
    expect(parseHostPort(text, defaultPort)).toEqual({ host, port, family });
  });

  it.each([
    { text: '127.0.0.1', defaultPort: undefined, error: /a port is required, e\.g\. 127\.0\.0\.1:5300/ },
    { text: '::1', defaultPort: undefined, error: /a port is required, e\.g\. \[::1\]:5300/ },
    { text: '[::1]', defaultPort: undefined, error: /a port is required/ },
    { text: '1.2.3.4:', defaultPort: 53, error: /port must be a number from 0 to 65535/ },
    { text: '1.2.3.4:65536', defaultPort: 53, error: /port must be a number/ },
    { text: '1.2.3.4:-1', defaultPort: 53, error: /port must be a number/ },
    { text: '1.2.3.4:53x', defaultPort: 53, error: /port must be a number/ },
    { text: '1.2.3.4: 53', defaultPort: 53, error: /port must be a number/ },
    { text: '1.2.3.4:123456', defaultPort: 53, error: /port must be a number/ },
    { text: '[::1', defaultPort: 53, error: /missing "\]"/ },
    { text: '[::1]53', defaultPort: 53, error: /expected ":PORT" after "\]"/ },
    { text: '[::1]:', defaultPort: 53, error: /port must be a number/ },
    { text: 'localhost:53', defaultPort: 53, error: /"localhost" is not an IP address/ },
    { text: 'dns.quad9.net', defaultPort: 53, error: /is not an IP address/ },
    { text: '1.2.3:53', defaultPort: 53, error: /is not an IP address/ },
    { text: '::1:53:', defaultPort: 53, error: /port must be a number/ },
    { text: '', defaultPort: 53, error: /is not an IP address/ },
    { text: '[]:53', defaultPort: 53, error: /is not an IP address/ },
  ])('"$text" is an error', ({ text, defaultPort, error }) => {
    const result = parseHostPort(text, defaultPort);
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error).toMatch(error);
    expect((result as { error: string }).error).toContain(`"${text}"`);
  });
});

describe('formatHostPort', () => {
  it.each([
    { address: { host: '127.0.0.1', port: 53 }, text: '127.0.0.1:53' },
    { address: { host: '::1', port: 5300, family: 6 }, text: '[::1]:5300' },
    { address: { host: '2001:db8::1', port: 0 }, text: '[2001:db8::1]:0' },
  ])('$text', ({ address, text }) => {
    expect(formatHostPort(address)).toBe(text);
  });

  it('round-trips with parseHostPort', () => {
    for (const text of ['192.0.2.1:53', '[2001:db8::53]:853']) {
      const parsed = parseHostPort(text);
      expect('error' in parsed).toBe(false);
      if (!('error' in parsed)) expect(formatHostPort(parsed)).toBe(text);
    }
  });
});

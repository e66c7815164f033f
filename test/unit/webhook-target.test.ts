import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors/catalogue.ts';
import { checkTargetUrl, hostAllowed } from '../../src/kinds/webhooks/target-url.ts';

describe('the webhook allow-list', () => {
  const allowed = [
    'hooks.example.com',
    'api.example.org:8443',
    '*.internal.example',
    '10.1.2.3',
    '[fd00::1]',
  ];
  const cases: [string, boolean][] = [
    ['https://hooks.example.com/x', true],
    ['http://HOOKS.Example.COM:9000/x', true], // a bare host allows any port
    ['https://hooks.example.com.evil.test/x', false],
    ['https://evilhooks.example.com/x', false],
    ['https://api.example.org:8443/x', true],
    ['https://api.example.org/x', false], // 443 is not 8443
    ['https://a.internal.example/x', true],
    ['https://a.b.internal.example/x', true],
    ['https://internal.example/x', false], // a wildcard covers subdomains only
    ['https://evil-internal.example/x', false],
    ['http://10.1.2.3/x', true],
    ['http://10.1.2.4/x', false],
    ['http://[fd00::1]:8080/x', true],
    ['http://[fd00::2]/x', false],
  ];
  for (const [url, expected] of cases) {
    it(`${url}: ${expected ? 'allowed' : 'refused'}`, () => {
      expect(hostAllowed(new URL(url), allowed)).toBe(expected);
    });
  }

  it('compares the host as it will be connected to, whatever the spelling', () => {
    for (const spelling of [
      'http://127.1/',
      'http://0x7f000001/',
      'http://2130706433/',
      'http://127.0.0.1./',
    ]) {
      const url = new URL(spelling);
      expect(hostAllowed(url, ['127.0.0.1'])).toBe(url.hostname === '127.0.0.1');
      expect(hostAllowed(url, ['localhost'])).toBe(false);
    }
  });

  it('allows nothing when the list is empty', () => {
    expect(hostAllowed(new URL('http://127.0.0.1/'), [])).toBe(false);
  });

  it('checks the scheme, credentials and allow-list before any lookup, and then that the name resolves', async () => {
    const reason = async (url: string, hosts: string[]): Promise<string> => {
      const error = await checkTargetUrl(url, hosts).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).entry.code).toBe(8);
      return (error as ApiError).message;
    };
    expect(await reason('gopher://127.0.0.1/', ['127.0.0.1'])).toBe(
      "url must use http or https, not 'gopher'",
    );
    expect(await reason('http://a@127.0.0.1/', ['127.0.0.1'])).toBe('url must not contain credentials');
    expect(await reason('http://no-such-host.invalid/', ['*.invalid'])).toBe(
      "url host 'no-such-host.invalid' cannot be resolved",
    );
    expect((await checkTargetUrl('http://127.0.0.1:1234/x', ['127.0.0.1'])).port).toBe('1234');
  });
});

import KSUID from 'ksuid';
import { describe, expect, it } from 'vitest';
import { newKsuid } from '../../src/values/ksuid.ts';

describe('new KSUIDs', () => {
  it('are valid KSUIDs of the current second, all different across many blocks of randomness', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const ids = Array.from({ length: 2000 }, newKsuid);
    const after = Date.now();
    expect(new Set(ids).size).toBe(ids.length);
    const payloads = new Set<string>();
    for (const id of ids) {
      expect(id).toMatch(/^[0-9A-Za-z]{27}$/);
      const parsed = KSUID.parse(id);
      expect(parsed.date.getTime()).toBeGreaterThanOrEqual(before);
      expect(parsed.date.getTime()).toBeLessThanOrEqual(after);
      payloads.add(parsed.payload.toString('hex'));
    }
    // The random part never repeats, even when two ids share a timestamp.
    expect(payloads.size).toBe(ids.length);
  });
});

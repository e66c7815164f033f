import { randomBytes } from 'node:crypto';
import KSUID from 'ksuid';
import { describe, expect, it } from 'vitest';
import { ksuidText, newKsuid } from '../../src/values/ksuid.ts';

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

  it('are the text the ksuid package writes for the same time and payload', () => {
    const times = [14e11, 14e11 + 999, Date.now(), 1e3 * (2 ** 32 - 1) + 14e11];
    const payloads = [
      Buffer.alloc(16, 0),
      Buffer.alloc(16, 0xff),
      ...Array.from({ length: 2000 }, () => randomBytes(16)),
    ];
    for (const time of times)
      for (const payload of payloads)
        expect(ksuidText(time, payload)).toBe(KSUID.fromParts(time, payload).string);
    // Read from within a larger buffer, as ids are drawn from a block of randomness.
    const block = randomBytes(64);
    const now = Date.now();
    expect(ksuidText(now, block, 32)).toBe(KSUID.fromParts(now, block.subarray(32, 48)).string);
  });
});

import { randomFillSync } from 'node:crypto';
import KSUID from 'ksuid';

const payloadBytes = 16;
const random = Buffer.alloc(payloadBytes * 256);
let used = random.length;
const epochSeconds = 14e8; // KSUIDs count seconds from 2014-05-13T16:53:20Z
const alphabet = Buffer.from('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 'latin1');
const encodedLength = 27;
// The 160-bit id as five 32-bit words, most significant first, divided in place; and its text.
const words = new Uint32Array(5);
const text = Buffer.alloc(encodedLength);

/**
 * A new KSUID (a timestamp and 16 random bytes). The randomness is drawn 4 KB at a time: one system call
 * per id cost 4% of a GET's time, and every request gets an id (its operation id).
 */
export function newKsuid(): string {
  if (used === random.length) {
    randomFillSync(random);
    used = 0;
  }
  const id = ksuidText(Date.now(), random, used);
  used += payloadBytes;
  return id;
}

/**
 * The KSUID of a time (milliseconds, counted to the second) and the 16 bytes of `payload` from
 * `offset`, as the `ksuid` package writes it: base62 by long division in place, where the package's
 * encoder allocated 20 KB per id, a third of all a GET allocated.
 */
export function ksuidText(timeMs: number, payload: Buffer, offset = 0): string {
  words[0] = Math.floor(timeMs / 1000) - epochSeconds;
  for (let word = 1; word < 5; word++) words[word] = payload.readUInt32BE(offset + (word - 1) * 4);
  for (let digit = encodedLength - 1; digit >= 0; digit--) {
    let remainder = 0;
    for (let word = 0; word < 5; word++) {
      // At most 61 · 2^32 + 2^32 - 1 < 2^38: exact in a double.
      const value = remainder * 0x1_0000_0000 + (words[word] as number);
      words[word] = Math.floor(value / 62);
      remainder = value % 62;
    }
    text[digit] = alphabet[remainder] as number;
  }
  return text.toString('latin1');
}

/** When a KSUID was made (to the second), or undefined for text that is not one. */
export function ksuidTime(id: string): Date | undefined {
  if (!/^[0-9A-Za-z]{27}$/.test(id)) return undefined;
  try {
    return KSUID.parse(id).date;
  } catch {
    return undefined;
  }
}

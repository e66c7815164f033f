import { randomFillSync } from 'node:crypto';
import KSUID from 'ksuid';

const payloadBytes = 16;
const random = Buffer.alloc(payloadBytes * 256);
let used = random.length;

// A new KSUID (a timestamp and 16 random bytes). The randomness is drawn 4 KB at a time: one system call
// per id (KSUID.randomSync) cost 4% of a GET's time, and every request gets an id (its operation id).
export function newKsuid(): string {
  if (used === random.length) {
    randomFillSync(random);
    used = 0;
  }
  const payload = random.subarray(used, used + payloadBytes);
  used += payloadBytes;
  return KSUID.fromParts(Date.now(), payload).string;
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

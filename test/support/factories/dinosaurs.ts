import { randomBytes } from 'node:crypto';

// A valid body for creating a Dinosaur: every field set, the species unique per call.
export function validDinosaur(): { species: string } {
  return { species: `Dinosaur ${randomBytes(6).toString('hex')}` };
}

// Creates paced evenly at `perSecond` for `seconds` (autocannon's rate limit sends each second's
// requests in one burst at its start), for the latency from a create to its controller's handler.
// Requests go through node:http with a keep-alive agent: fetch costs this process more CPU per request,
// and at 1,000/s on two cores that CPU is taken from the server under test.
import { Agent, request } from 'node:http';
import type { Target } from './workloads.ts';

export interface PacedCreates {
  readonly sent: number;
  readonly failed: number; // errors and answers other than 201
  // Creates answered 201 per second, from the first send to the last answer.
  readonly achievedPerSecond: number;
  readonly maxSendLagMs: number; // how far behind its due time the latest send went
}

/** What the creates are: their species, and who hears of each one made (its id, when it was sent). */
export interface CreateOptions {
  readonly species?: (n: number) => string;
  readonly onCreated?: (id: string, sentAt: number) => void;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
let paced = 0;

export async function paceCreates(
  target: Target,
  perSecond: number,
  seconds: number,
  options: CreateOptions = {},
): Promise<PacedCreates> {
  const total = Math.round(perSecond * seconds);
  const started = performance.now();
  const answers: Promise<boolean>[] = [];
  let maxSendLagMs = 0;
  let lastAnswerAt = started;
  while (answers.length < total) {
    // Everything already due goes now, so a late timer never lowers the rate.
    const now = performance.now();
    while (answers.length < total && started + (answers.length * 1000) / perSecond <= now) {
      maxSendLagMs = Math.max(maxSendLagMs, now - (started + (answers.length * 1000) / perSecond));
      answers.push(
        createOne(target, options).then((created) => {
          lastAnswerAt = performance.now();
          return created;
        }),
      );
    }
    const nextDue = started + (answers.length * 1000) / perSecond;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextDue - performance.now())));
  }
  const created = (await Promise.all(answers)).filter(Boolean).length;
  return {
    sent: total,
    failed: total - created,
    achievedPerSecond: Math.round(created / ((lastAnswerAt - started) / 1000)),
    maxSendLagMs: Math.round(maxSendLagMs),
  };
}

function createOne(target: Target, { species, onCreated }: CreateOptions): Promise<boolean> {
  paced++;
  const body = JSON.stringify({ species: species ? species(paced) : `bench paced ${paced}` });
  const sentAt = performance.now();
  return new Promise((resolve) => {
    const outgoing = request(
      `${target.url}${target.prefix}/dinosaurs`,
      {
        method: 'POST',
        agent,
        headers: {
          ...target.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          if (onCreated) chunks.push(chunk);
        });
        response.once('end', () => {
          const created = response.statusCode === 201;
          if (created && onCreated) onCreated(JSON.parse(Buffer.concat(chunks).toString()).id, sentAt);
          resolve(created);
        });
        response.once('error', () => resolve(false));
      },
    );
    outgoing.once('error', () => resolve(false));
    outgoing.end(body);
  });
}

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

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
let paced = 0;

export async function paceCreates(target: Target, perSecond: number, seconds: number): Promise<PacedCreates> {
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
        createOne(target).then((created) => {
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

function createOne(target: Target): Promise<boolean> {
  const body = JSON.stringify({ species: `bench paced ${++paced}` });
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
        response.resume();
        response.once('end', () => resolve(response.statusCode === 201));
        response.once('error', () => resolve(false));
      },
    );
    outgoing.once('error', () => resolve(false));
    outgoing.end(body);
  });
}

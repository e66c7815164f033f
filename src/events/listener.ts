import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';

export interface ListenerEvents {
  connected: [];
  disconnected: [error: Error | undefined];
  notification: [payload: string];
}

// A dedicated connection LISTENing on one channel that reconnects by itself, with jittered backoff.
// Every transition is an event, so the controller manager (and tests) can react to it: a `connected`
// after a `disconnected` means notifications may have been missed and a rescan is due.
export class Listener extends EventEmitter<ListenerEvents> {
  private client: pg.Client | undefined;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    super();
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  // The backend pid of the live connection, for tests that terminate it.
  get backendPid(): number | undefined {
    return (this.client as (pg.Client & { processID?: number }) | undefined)?.processID;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'trex-listener' });
    let lost = false;
    // A dropped connection reports 'error', 'end' or both: react once.
    const onLost = (error: Error | undefined): void => {
      if (lost) return;
      lost = true;
      this.reconnectLater(client, error);
    };
    client.on('notification', (message) => this.emit('notification', message.payload ?? ''));
    client.on('error', onLost);
    client.on('end', () => onLost(undefined));
    try {
      await client.connect();
      await client.query(`listen ${pg.escapeIdentifier(this.channel)}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.failures = 0;
    this.logger.debug({ channel: this.channel }, 'listening');
    this.emit('connected');
  }

  private reconnectLater(client: pg.Client, error: Error | undefined): void {
    if (this.client === client) this.client = undefined;
    client.end().catch(() => {});
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(30_000, 100 * 2 ** Math.min(this.failures, 9)) * (0.5 + Math.random());
    this.logger.warn({ err: error, retryInMs: Math.round(delay) }, 'event listener connection lost');
    this.emit('disconnected', error);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}

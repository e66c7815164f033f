// A search, orderBy or fields value the service cannot use. `position` is where the problem starts.
export class SearchError extends Error {
  constructor(
    message: string,
    readonly position: number | undefined = undefined,
    readonly kind: 'syntax' | 'meaning' = 'meaning',
  ) {
    super(message);
    this.name = 'SearchError';
  }
}

/** A request the client got wrong (bad cursor, unknown customer): mapped to a 4xx by the server. */
export class RequestError extends Error {
  constructor(
    readonly statusCode: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Redis did not answer a data request in time, or cannot be reached: mapped to 503, so that a client (or a proxy) knows at once. */
export class StoreUnavailableError extends Error {
  readonly statusCode = 503;

  constructor(why: string) {
    super(`${why}: try again later`);
    this.name = 'StoreUnavailableError';
  }
}

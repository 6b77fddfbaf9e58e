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

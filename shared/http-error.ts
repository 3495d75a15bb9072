/** An expected refusal: a status code and a message safe to show the caller (STYLE §2.8). */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HttpError";
    this.status = status;
  }
}

/** True for errors that carry a status meant for the caller. */
export function isHttpError(error: unknown): error is HttpError {
  return error instanceof HttpError;
}

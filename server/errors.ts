/** Domain errors with stable codes; `app.ts` maps them to `{error: {code, message, details}}`. */
export class AppError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(404, 'not_found', `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details);
  }
}

export class InvalidInputError extends AppError {
  constructor(message: string, details?: unknown) {
    super(400, 'invalid_input', message, details);
  }
}

export class ValidationError extends AppError {
  constructor(issues: Array<{ path: string; message: string }>) {
    super(400, 'validation_failed', 'The request is not valid', issues);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Sign in first') {
    super(401, 'unauthenticated', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, code = 'forbidden') {
    super(403, code, message);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'rate_limited', `Too many requests; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}

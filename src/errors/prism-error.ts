import { ERROR_CODES, type ErrorCode } from './codes.js';

/** A typed error with a stable code from the registry. Lower layers throw these; cli renders them. */
export class PrismError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PrismError';
    this.code = code;
    this.details = details;
  }

  get id(): string {
    return ERROR_CODES[this.code].id;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }

  get fix(): string {
    return ERROR_CODES[this.code].fix;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.id, name: this.code, message: this.message, fix: this.fix, ...this.details };
  }
}

export function isPrismError(e: unknown): e is PrismError {
  return e instanceof PrismError;
}

/** Maps a Node.js system error to the registry; anything unknown stays as it is. */
export function fromSystemError(e: unknown, context: string): unknown {
  if (isPrismError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new PrismError('DISK_SPACE_INSUFFICIENT', `${ERROR_CODES.DISK_SPACE_INSUFFICIENT.title} while ${context}: ${err.message}`, {}, { cause: e });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new PrismError('PERMISSION_DENIED', `${ERROR_CODES.PERMISSION_DENIED.title} while ${context}: ${err.message}`, { path: err.path }, { cause: e });
    default:
      return e;
  }
}

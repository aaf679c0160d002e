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

/** True for OBJECT_RETAINED: a delete the store refused because the object is under retention (object lock). */
export function isRetained(e: unknown): e is PrismError {
  return e instanceof PrismError && e.code === 'OBJECT_RETAINED';
}

/** The retain-until date of an OBJECT_RETAINED error (undefined for a legal hold, or another error). */
export function retainedUntil(e: unknown): Date | undefined {
  if (!isRetained(e)) return undefined;
  const raw = e.details.retain_until;
  return typeof raw === 'string' ? new Date(raw) : undefined;
}

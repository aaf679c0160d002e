export { ERROR_CODES, type ErrorCode, type ErrorSpec } from './codes.js';
export { PrismError, isPrismError, fromSystemError } from './prism-error.js';

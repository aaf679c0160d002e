export { ERROR_CODES, type ErrorCode, type ErrorSpec } from './codes.js';
export { PrismError, isPrismError, isRetained, retainedUntil } from './prism-error.js';
export { asPrismError, describeSystemError, fromSystemError, type SystemErrorMeaning } from './system-error.js';

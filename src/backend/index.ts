export { ObjectNotFoundError, type Backend } from './backend.js';
export { LocalBackend } from './local-backend.js';

export { ObjectNotFoundError, type Backend, type ReadBuffer } from './backend.js';
export { LocalBackend } from './local-backend.js';
export { ForwardingBackend } from './forwarding-backend.js';

export { namesOf, spaceOf, type Backend, type CallOptions, type ObjectInfo, type ReadBuffer, type ReadOptions, type Space } from './backend.js';
export { ObjectNotFoundError, StoreError, isStoreError, type StoreErrorKind } from './store-error.js';
export { LocalBackend } from './local-backend.js';
export { ForwardingBackend } from './forwarding-backend.js';

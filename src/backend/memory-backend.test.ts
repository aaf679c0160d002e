import { backendConformance } from '../testing/backend-conformance.js';
import { MemoryBackend } from './memory-backend.js';

backendConformance('memory', { make: async () => new MemoryBackend() });

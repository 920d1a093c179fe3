/**
 * The HTTP service (`tsvision serve`), for embedding: `import { startServer } from 'tsvision/serve'`.
 * A subpath of its own, so that importing tsvision does not load fastify.
 */
export { createServer, startServer, ServeError, type ServeOptions, type Server, type ListeningServer, type ClassifyResult } from './server.js';
export { DynamicBatcher, type BatcherOptions } from './batcher.js';
export type { ModelInfo } from './protocol.js';

export * from './elementwise.js';
export * from './matmul.js';
export * from './movement.js';
export * from './reduce.js';
export { sumTo } from './util.js';
export * from './conv.js';
export * from './pool.js';
export * from './norm.js';

export { SerialQueue } from './serial-queue.js';
export type { SerialQueueOptions, RunOptions, SerialQueueMetrics, QueueLogger } from './serial-queue.js';
export { LockReentryError } from './errors.js';

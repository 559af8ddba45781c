/**
 * Records a cleanup failure on the error that caused the cleanup, so the
 * original error (and its `code`) is what the caller sees. The cleanup errors
 * land on a non-enumerable `cleanupErrors` array.
 */
export function attachCleanupError(error: unknown, cleanupError: unknown): void {
  if (typeof error !== 'object' || error === null || !Object.isExtensible(error)) return;
  const existing = (error as { cleanupErrors?: unknown }).cleanupErrors;
  if (Array.isArray(existing)) existing.push(cleanupError);
  else Object.defineProperty(error, 'cleanupErrors', { value: [cleanupError], configurable: true, writable: true });
}

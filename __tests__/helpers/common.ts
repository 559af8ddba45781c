/**
 * The small tools every suite needs, in one place: a fresh temp directory
 * per test, deferred promises for hand-offs, a microtask drain that fake
 * timers cannot intercept, a promise-state probe, and Node-shaped errors for
 * faults injected through the FileSystem seam.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under the OS temp dir; remove it with {@link removeTempDir}. */
export function makeTempDir(prefix = 'ssm-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes `dir` and the `<dir>-keys` directory a sibling key file may have made. */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(`${dir}-keys`, { recursive: true, force: true });
}

export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// Captured at import, before any test installs fake timers, so it stays the real one.
const realSetImmediate = setImmediate;

/**
 * Lets every promise reaction that can run without a timer run: one real
 * macrotask turn drains the whole microtask queue, however deep the chain.
 */
export function drain(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/** Observes a promise's state without awaiting it. */
export function track<T>(promise: Promise<T>): { readonly isSettled: boolean; readonly outcome: 'pending' | 'fulfilled' | 'rejected' } {
  let outcome: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => (outcome = 'fulfilled'),
    () => (outcome = 'rejected'),
  );
  return {
    get isSettled() {
      return outcome !== 'pending';
    },
    get outcome() {
      return outcome;
    },
  };
}

/** An error shaped like Node's system errors, with `code` and `syscall`. */
export function fsError(code: string, syscall = 'write'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${syscall}`), { code, syscall });
}

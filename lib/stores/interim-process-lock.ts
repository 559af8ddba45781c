/**
 * INTERIM stand-in for lib/files/process-lock.ts (built on the `lock`
 * branch), with the same API shape, so the switch is one import in
 * store-lock.ts. An exclusively linked `<file>.lock` holding a random owner
 * token, an mtime heartbeat while held, stale after `staleMs` by mtime only.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { errorCode } from '../files/fs-seam.js';
import { tempPathFor } from '../files/temp-name.js';

export interface ProcessLockOptions {
  staleMs?: number;
  heartbeatMs?: number;
  retryMs?: number;
  signal?: AbortSignal;
}

export interface HeldLock {
  assertHeld(): Promise<void>;
  readonly isCompromised: boolean;
  release(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function acquireProcessLock(targetPath: string, options: ProcessLockOptions = {}): Promise<HeldLock> {
  const staleMs = options.staleMs ?? 10_000;
  const heartbeatMs = options.heartbeatMs ?? staleMs / 3;
  const retryMs = options.retryMs ?? 10;
  const lockPath = `${targetPath}.lock`;
  const token = randomBytes(16).toString('hex');
  const temp = tempPathFor(lockPath);
  await fsp.writeFile(temp, JSON.stringify({ pid: process.pid, token, createdAt: Date.now() }), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt += 1) {
      options.signal?.throwIfAborted();
      try {
        await fsp.link(temp, lockPath);
        break;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      const stats = await fsp.stat(lockPath).catch(() => undefined);
      if (stats !== undefined && Date.now() - stats.mtimeMs > staleMs) {
        const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
        await fsp.rename(lockPath, aside).then(() => fsp.unlink(aside)).catch(() => undefined);
        continue;
      }
      await sleep(Math.min(retryMs * (1 + Math.min(attempt, 10) / 5), 50) * (0.5 + Math.random()));
    }
  } finally {
    await fsp.unlink(temp).catch(() => undefined);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    fsp.utimes(lockPath, now, now).catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  let released = false;
  const isOurs = async (): Promise<boolean> => {
    const text = await fsp.readFile(lockPath, 'utf8').catch(() => '');
    return text.includes(token);
  };
  return {
    isCompromised: false,
    assertHeld: async () => {
      if (!(await isOurs())) throw Object.assign(new Error('the lock was lost'), { code: 'ERR_LOCK_COMPROMISED' });
    },
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if (await isOurs()) await fsp.unlink(lockPath).catch(() => undefined);
    },
  };
}

export async function withProcessLock<T>(targetPath: string, fn: (lock: HeldLock) => Promise<T>, options?: ProcessLockOptions): Promise<T> {
  const lock = await acquireProcessLock(targetPath, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

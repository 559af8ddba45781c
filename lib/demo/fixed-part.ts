import path from 'node:path';
import { CountingEncryptionService } from './counting-service.js';
import { snapshot } from './legacy-part.js';
import { countFailures, summariseWaits, type PartResult } from './part-result.js';
import type { Progress } from './progress.js';
import { WaitRecorder } from './wait-recorder.js';

/** Part 2: the same saves through EncryptionService.encryptToFile. None may fail. */
export async function runFixedPart(dir: string, secret: string, ops: number, progress: Progress): Promise<PartResult> {
  const recorder = new WaitRecorder();
  const service = new CountingEncryptionService({
    encryptionKey: secret,
    keyStoragePath: path.join(dir, 'fixed', 'oauth_encryption_key'),
    queue: { slowWaitMs: 0, logger: recorder },
  });
  await service.initialize();
  const filePath = path.join(dir, 'fixed', 'oauth_sessions.enc');
  const started = performance.now();
  let done = 0;
  const outcomes = await Promise.allSettled(
    Array.from({ length: ops }, (_, index) =>
      service.encryptToFile(snapshot(index), filePath).finally(() => progress.update('library saves', ++done, ops)),
    ),
  );
  const wallMs = performance.now() - started;
  const failures = countFailures(outcomes);
  const lastSave = snapshot(ops - 1);
  const isLastOnDisk = (await service.decryptFromFile(filePath)) === lastSave;
  const isOk = Object.keys(failures).length === 0 && isLastOnDisk;
  return {
    name: 'this library (encryptToFile)',
    operations: ops,
    failures,
    writes: service.writes,
    lockWait: summariseWaits(recorder.waits(ops)),
    wallMs,
    isOk,
    detail: isOk
      ? `all ${ops} saves succeeded; the file decrypts to the last save` +
        (recorder.warnings > 0 ? ` (the queue warned ${recorder.warnings}× about depth, as it should with ${ops} saves queued)` : '')
      : isLastOnDisk
        ? 'some saves failed'
        : 'the file does not hold the last save',
  };
}

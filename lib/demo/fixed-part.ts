import path from 'node:path';
import { CountingEncryptionService } from './counting-service.js';
import { snapshot } from './legacy-part.js';
import { countFailures, formatMs as ms, summariseWaits, totalOf, type PartResult } from './part-result.js';
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
  const lockWait = summariseWaits(recorder.waits(ops));
  const warned = recorder.warnings === 1 ? 'once' : `${recorder.warnings} times`;
  return {
    id: 'library',
    name: 'library',
    operations: ops,
    failed: totalOf(failures),
    failures,
    writes: service.writes,
    lockWait,
    wallMs,
    isOk,
    isExpectedToHold: true,
    detail: [
      `the same ${ops} saves through EncryptionService.encryptToFile.`,
      isOk
        ? 'All succeeded and the file decrypts to the last one.'
        : isLastOnDisk
          ? `${totalOf(failures)} of ${ops} saves failed.`
          : 'The file does not hold the last save.',
      lockWait === null || ops < 2
        ? ''
        : `They queue on one file and each is fsynced (about ${ms(wallMs / ops)} ms a save), ` +
          `so the last waits for the ${ops - 1} before it: ${ms(lockWait.max)} ms.`,
      recorder.warnings > 0 ? `The queue warned ${warned} about its depth, as it should with ${ops} saves queued.` : '',
    ]
      .filter((sentence) => sentence !== '')
      .join(' '),
  };
}

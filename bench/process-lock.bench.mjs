// The cross-process lock (lib/files/process-lock.ts), uncontended: one
// acquire + release per iteration on a file in a temp dir, beside the
// cheapest exclusive lock file there is (open wx, write the pid, close,
// unlink: no owner check, no heartbeat, no safe release) and beside the
// write it guards (a durable atomic write of 20 KB), all in the same run.
// Progress on stderr; one JSON report as the last stdout line.
import { mkdtempSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../dist/files/atomic-write.js';
import { nodeFileSystem } from '../dist/files/fs-seam.js';
import { acquireProcessLock } from '../dist/files/process-lock.js';

const ROUNDS = 5;
const PER_ROUND = 400;

async function naiveLock(lockPath) {
  const handle = await open(lockPath, 'wx', 0o600);
  await handle.writeFile(String(process.pid));
  await handle.close();
  await unlink(lockPath);
}

async function processLock(target) {
  const lock = await acquireProcessLock(target);
  await lock.release();
}

/** Per-iteration latencies in µs of `run`, over interleaved rounds. */
async function measure(run, samples) {
  for (let i = 0; i < PER_ROUND; i += 1) {
    const start = performance.now();
    await run();
    samples.push((performance.now() - start) * 1000);
  }
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ssm-bench-lock-'));
try {
  const target = path.join(dir, 'sessions.enc');
  const ours = [];
  const naive = [];
  const writes = [];
  const payload = randomBytes(20 * 1024);
  // Warm-up, then interleaved rounds so load drift hits both alike.
  await measure(() => processLock(target), []);
  await measure(() => naiveLock(`${target}.naive`), []);
  for (let round = 0; round < ROUNDS; round += 1) {
    process.stderr.write(`process-lock: round ${round + 1}/${ROUNDS}\n`);
    await measure(() => processLock(target), ours);
    await measure(() => naiveLock(`${target}.naive`), naive);
    if (round < 2) await measure(() => writeFileAtomic(nodeFileSystem, target, payload), writes);
  }
  writes.sort((a, b) => a - b);
  ours.sort((a, b) => a - b);
  naive.sort((a, b) => a - b);
  const ratio = quantile(ours, 0.5) / quantile(naive, 0.5);
  const share = quantile(ours, 0.5) / quantile(writes, 0.5);
  const round2 = (value) => Math.round(value * 100) / 100;
  process.stdout.write(
    `${JSON.stringify({
      section: 'Cross-process lock: uncontended acquire + release',
      rows: [
        { name: 'acquire + release p50', impl: 'process-lock', value: round2(quantile(ours, 0.5)), unit: 'µs/op' },
        { name: 'acquire + release p99', impl: 'process-lock', value: round2(quantile(ours, 0.99)), unit: 'µs/op' },
        { name: 'acquire + release p50', impl: 'naive wx lock file', value: round2(quantile(naive, 0.5)), unit: 'µs/op' },
        { name: 'acquire + release p99', impl: 'naive wx lock file', value: round2(quantile(naive, 0.99)), unit: 'µs/op' },
        { name: 'durable atomic write 20 KB p50', impl: 'writeFileAtomic', value: round2(quantile(writes, 0.5)), unit: 'µs/op' },
      ],
      checks: [
        { name: 'uncontended p50: process-lock / durable 20 KB atomic write', ratio: round2(share), target: '<= 0.25', met: share <= 0.25 },
        { name: 'uncontended p50: process-lock / naive wx lock file', ratio: round2(ratio), target: '<= 6', met: ratio <= 6 },
      ],
      notes: [
        `${ROUNDS} x ${PER_ROUND} iterations each, interleaved, on ${os.tmpdir()}.`,
        'process-lock: realpath, temp open/chmod/write/close, link, unlink temp, utimes; release: read, unlink (the sub-lock only for a holder that was late); one heartbeat timer armed and cleared.',
        'The naive lock has no owner record check, no heartbeat and no safe release; it is the floor, not an alternative.',
      ],
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

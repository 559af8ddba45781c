/** Spawns redis-worker.mjs children ("hosts"), starts them together and collects their reports. */
import { spawn } from 'node:child_process';
import path from 'node:path';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'redis-worker.mjs');

export interface WorkerReport {
  worker: number;
  sessionsCreated: string[];
  sessionsDeleted: string[];
  tokensIssued: string[];
  tokensRevoked: string[];
  rotations: [string, string][];
  rotationMisses: number;
  clientsRegistered: string[];
  clientsDeleted: string[];
  foundOthers: number;
  missedOthers: string[];
  failures: { op: string; code: string }[];
  sessionsUncertain: string[];
  tokensUncertain: string[];
  clientsUncertain: string[];
}

export interface WorkerConfig {
  url: string;
  prefix: string;
  key: string;
  dir: string;
  ops: number;
  sharedTokens: string[];
  commandTimeoutMs?: number;
}

interface Running {
  ready: Promise<void>;
  done: Promise<WorkerReport>;
  go(): void;
}

function startWorker(config: WorkerConfig & { worker: number }, timeoutMs: number): Running {
  const child = spawn(process.execPath, [FIXTURE, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<WorkerReport>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker ${config.worker} did not finish within ${timeoutMs} ms: ${stderr.slice(-500)}`));
    }, timeoutMs);
    // 'close', not 'exit': only 'close' comes after the worker's stdout has been read to the end.
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`worker ${config.worker} exited ${code}: ${stderr.slice(-800)}`));
      else resolve(JSON.parse(last) as WorkerReport);
    });
  });
  // A worker that dies before "ready" must not leave the caller waiting for it.
  done.catch(() => markReady());
  return { ready, done, go: () => child.stdin.end('go\n') };
}

/** Runs `count` workers started at the same moment; resolves with every report. */
export async function runWorkers(count: number, config: WorkerConfig, timeoutMs = 60_000, onStarted?: () => Promise<void>): Promise<WorkerReport[]> {
  const workers = Array.from({ length: count }, (_, worker) => startWorker({ ...config, worker }, timeoutMs));
  await Promise.all(workers.map((worker) => worker.ready));
  for (const worker of workers) worker.go();
  const started = onStarted?.();
  const reports = await Promise.all(workers.map((worker) => worker.done));
  await started;
  return reports;
}

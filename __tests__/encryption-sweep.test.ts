/**
 * Issue 3, behaviour 6: the first write to a directory removes temp files of
 * writers that no longer exist, and never a live process's temp file nor a
 * file of any other naming. Real child processes supply the pids.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionService } from '../lib/encryption/encryption-service.js';
import { capturingLogger, exited, faultySeam, fsError, makeTempDir, removeTempDir, spawnNode, siblingKeyFile } from './fixtures/encryption/helpers.js';

let dir: string;
beforeEach(() => (dir = makeTempDir()));
afterEach(() => removeTempDir(dir));

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawnNode('');
  await exited(child);
  return child.pid!;
}

function touch(...names: string[]): void {
  for (const name of names) fs.writeFileSync(path.join(dir, name), 'leftover');
}

async function createService(seam = faultySeam()) {
  const { logger, lines } = capturingLogger();
  const service = new EncryptionService({ encryptionKey: 'k', keyStoragePath: siblingKeyFile(dir, 'k'), logger }, { fileSystem: seam.fileSystem });
  await service.initialize();
  return { service, lines, seam };
}

describe('behaviour 6: temp files of crashed writers are swept on the first write', () => {
  test('only files of the library naming whose pid is dead are removed', async () => {
    const dead = await deadPid();
    const live = spawnNode('setInterval(() => {}, 1000)');
    try {
      const removable = [`sessions.enc.${dead}.1.0123456789ab.tmp`, `clients.enc.${dead}.42.ba9876543210.tmp`];
      const kept = [
        `sessions.enc.${live.pid}.1.0123456789ab.tmp`,
        `sessions.enc.${process.pid}.7.0123456789ab.tmp`,
        'sessions.enc.tmp',
        `sessions.enc.${dead}.1.xyz.tmp`,
        `sessions.enc.${dead}.1.0123456789AB.tmp`,
        `sessions.enc.${dead}.1.0123456789ab.tmp.bak`,
        `sessions.enc.0.1.0123456789ab.tmp`,
        'notes.txt',
      ];
      touch(...removable, ...kept);
      const { service, lines } = await createService();
      await service.encryptToFile('data', path.join(dir, 'sessions.enc'));
      expect(fs.readdirSync(dir).sort()).toEqual([...kept, 'sessions.enc'].sort());
      const swept = lines.filter((line) => line.message.startsWith('swept'));
      expect(swept).toHaveLength(1);
      expect(swept[0]!.fields).toEqual({ directory: fs.realpathSync(dir), removed: expect.arrayContaining(removable), failed: [] });
    } finally {
      live.kill();
      await exited(live);
    }
  });

  test('a directory is swept once per service: a leftover appearing later stays', async () => {
    const dead = await deadPid();
    const { service, seam } = await createService();
    await service.encryptToFile('1', path.join(dir, 'a.enc'));
    touch(`a.enc.${dead}.1.0123456789ab.tmp`);
    await service.encryptToFile('2', path.join(dir, 'a.enc'));
    await service.encryptToFile('3', path.join(dir, 'b.enc'));
    expect(fs.readdirSync(dir)).toContain(`a.enc.${dead}.1.0123456789ab.tmp`);
    expect(seam.calls.get('readdir')).toBe(1);
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, `c.enc.${dead}.1.0123456789ab.tmp`), '');
    await service.encryptToFile('4', path.join(sub, 'c.enc'));
    expect(fs.readdirSync(sub)).toEqual(['c.enc']);
    expect(seam.calls.get('readdir')).toBe(2);
  });

  test('concurrent first writes to one directory share one sweep', async () => {
    const { service, seam } = await createService();
    await Promise.all(['a', 'b', 'c'].map((name) => service.encryptToFile(name, path.join(dir, `${name}.enc`))));
    expect(seam.calls.get('readdir')).toBe(1);
  });

  test('a sweep that cannot read the directory is logged with its code and never fails the save', async () => {
    const seam = faultySeam();
    seam.arm('readdir', fsError('EACCES', 'scandir'));
    const { service, lines } = await createService(seam);
    await service.encryptToFile('data', path.join(dir, 'a.enc'));
    expect(await service.decryptFromFile(path.join(dir, 'a.enc'))).toBe('data');
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.fields)).toEqual([{ directory: fs.realpathSync(dir), code: 'EACCES' }]);
  });

  test('a leftover that cannot be removed is reported with its code and the save succeeds', async () => {
    const dead = await deadPid();
    const name = `a.enc.${dead}.1.0123456789ab.tmp`;
    touch(name);
    const seam = faultySeam();
    seam.arm('unlink', fsError('EPERM', 'unlink'));
    const { service, lines } = await createService(seam);
    await service.encryptToFile('data', path.join(dir, 'a.enc'));
    expect(fs.readdirSync(dir).sort()).toEqual(['a.enc', name]);
    expect(lines.find((line) => line.message.startsWith('swept'))!.fields).toMatchObject({ removed: [], failed: [{ name, code: 'EPERM' }] });
  });

  test('the first write to a directory that does not exist yet sweeps nothing and creates it', async () => {
    const { service, lines } = await createService();
    await service.encryptToFile('data', path.join(dir, 'new', 'a.enc'));
    expect(fs.readdirSync(path.join(dir, 'new'))).toEqual(['a.enc']);
    expect(lines.filter((line) => line.level !== 'info' || line.message.startsWith('swept'))).toEqual([]);
  });
});

/**
 * A store engine driven directly, for the engine suites: one padded record
 * type, so a snapshot past the journal threshold costs one record, not
 * hundreds, and readers of the files as they are on disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EncryptionService } from '../../lib/encryption/encryption-service.js';
import { nodeFileSystem } from '../../lib/files/fs-seam.js';
import { StoreEngine, type EngineSpec } from '../../lib/stores/store-engine.js';
import { isObject, isString } from '../../lib/stores/store-file.js';
import { createService, recordingStoreLogger } from './store-harness.js';

export interface Rec {
  readonly id: string;
  readonly pad: string;
}

export const SPEC: EngineSpec<Rec> = {
  name: 'recs',
  field: 'sessions',
  isRecord: (value): value is Rec => isObject(value) && isString(value.id) && isString(value.pad),
  idOf: (record) => record.id,
};

/** Sets a record and marks it pending (counting as unsaved), as a store does. */
export function change(engine: StoreEngine<Rec>, id: string, pad: string): void {
  engine.sync.records.set(id, { id, pad });
  engine.sync.pending.set(id, true);
}

/** Saves what is pending, under both locks. */
export const save = (engine: StoreEngine<Rec>): Promise<void> => engine.locked(() => undefined);

/** What a catch-up of `engine` finds: 'current', 'tail' (new journal lines read from its cursor) or 'reload'. */
export const catchUpKind = (engine: StoreEngine<Rec>): Promise<string> => engine.withKeys((codecOf) => engine.sync.catchUp(codecOf, true).kind);

/** The store file `recs.enc` in `dir()` (a fresh temp dir per test), and what is on disk there. */
export function engineFiles(dir: () => string) {
  const file = (): string => path.join(dir(), 'recs.enc');
  const journal = (): string => `${file()}.journal`;
  const engineOn = (service: EncryptionService, logger = recordingStoreLogger()): StoreEngine<Rec> => new StoreEngine(service, file(), SPEC, new Map(), logger);
  return {
    file,
    journal,
    /** An engine on the file with its own record map. */
    engineOn,
    /**
     * An engine whose file holds a snapshot past the 64 KiB journal threshold (`base`, 70,000
     * characters) and a journal of one line (`in-journal`): ready for a checkpoint.
     */
    engineWithJournal: async (service: EncryptionService, logger = recordingStoreLogger()): Promise<StoreEngine<Rec>> => {
      const engine = engineOn(service, logger);
      change(engine, 'base', 'b'.repeat(70_000));
      await save(engine);
      change(engine, 'in-journal', 'j');
      await save(engine);
      return engine;
    },
    /** The records a fresh engine on a fresh service (a restart) loads, as id -> pad length. */
    reloaded: async (): Promise<Record<string, number>> => {
      const engine = engineOn(await createService(dir()));
      await save(engine);
      return Object.fromEntries([...engine.sync.records].map(([id, record]) => [id, record.pad.length]));
    },
    journalLines: (): string[] => fs.readFileSync(journal(), 'latin1').split('\n'),
    snapshotIdOnDisk: (): string => /^([0-9a-f]{32}):([0-9a-f]{32}):/.exec(fs.readFileSync(file(), 'latin1'))![2]!,
    tempsLeft: (): string[] => fs.readdirSync(dir()).filter((name) => name.endsWith('.tmp')),
    /** A service whose renames onto the journal path are undone at once while `lose.journal` is true. */
    serviceLosingJournal: async (): Promise<{ service: EncryptionService; lose: { journal: boolean } }> => {
      const lose = { journal: false };
      const service = await createService(dir(), {
        fileSystem: {
          rename: async (from, to) => {
            await nodeFileSystem.rename(from, to);
            if (lose.journal && to === journal()) fs.rmSync(to);
          },
        },
      });
      return { service, lose };
    },
  };
}

/**
 * Hand-built store files for the engine's read-side suites: a snapshot and a
 * journal written with a codec made from a random key (no key derivation), a
 * record spec of small items, and a codec provider that records the salts it
 * is asked for (a salt it does not know is a key still to derive).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeyedCodec } from '../../lib/encryption/keyed-codec.js';
import { encodeEntry, formatHeader, type JournalEntry } from '../../lib/stores/journal-format.js';
import type { RecordSpec } from '../../lib/stores/record-rules-spec.js';
import { isObject, serializeSnapshot } from '../../lib/stores/store-file.js';
import { MissingKeyError, readSnapshotId, type CodecProvider } from '../../lib/stores/snapshot-reader.js';
import { makeTempDir, removeTempDir } from './common.js';

export interface Item {
  readonly id: string;
  readonly v: number;
}

export const spec: RecordSpec<Item> = {
  field: 'sessions',
  isRecord: (value): value is Item => isObject(value) && typeof value.id === 'string' && typeof value.v === 'number',
  idOf: (item) => item.id,
};

export const codec = new KeyedCodec(randomBytes(16), randomBytes(32));

/** A snapshot id no file here has. */
export const OTHER_ID = 'f'.repeat(32);

export const put = (...items: Item[]): JournalEntry => ({ put: items, del: [] });
export const del = (...ids: string[]): JournalEntry => ({ put: [], del: ids });

/** The records as id → v, for short assertions. */
export const ids = (records: ReadonlyMap<string, Item>): Record<string, number> => Object.fromEntries([...records].map(([id, item]) => [id, item.v]));

export interface EngineFiles {
  /** `<temp dir>/items.enc`, fresh per test. */
  file(): string;
  journal(): string;
  /** The salts asked of `codecOf` in this test. */
  readonly asked: string[];
  readonly codecOf: CodecProvider;
  /** Writes the snapshot (records, or any plaintext) and returns its id. */
  writeSnapshot(content: readonly Item[] | string): string;
  /** Writes a journal continuing `base` and returns the end offset of each entry line. */
  writeJournal(base: string, entries: readonly JournalEntry[]): number[];
  appendEntries(entries: readonly JournalEntry[]): number[];
}

/** A fresh temp dir per test (registers beforeEach/afterEach; restores jest spies after each test). */
export function useEngineFiles(): EngineFiles {
  let dir = '';
  const asked: string[] = [];
  beforeEach(() => {
    dir = makeTempDir();
    asked.length = 0;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    removeTempDir(dir);
  });
  const file = (): string => path.join(dir, 'items.enc');
  const journal = (): string => `${file()}.journal`;
  const appendEntries = (entries: readonly JournalEntry[]): number[] =>
    entries.map((entry) => {
      fs.appendFileSync(journal(), encodeEntry(codec, entry), 'latin1');
      return fs.statSync(journal()).size;
    });
  return {
    file,
    journal,
    asked,
    codecOf: (saltHex) => {
      asked.push(saltHex);
      if (saltHex !== codec.saltHex) throw new MissingKeyError(saltHex);
      return codec;
    },
    writeSnapshot: (content) => {
      fs.writeFileSync(file(), codec.sealPayload(typeof content === 'string' ? content : serializeSnapshot('sessions', content)));
      return readSnapshotId(file())!;
    },
    writeJournal: (base, entries) => {
      fs.writeFileSync(journal(), formatHeader({ saltHex: codec.saltHex, base }), 'latin1');
      return appendEntries(entries);
    },
    appendEntries,
  };
}

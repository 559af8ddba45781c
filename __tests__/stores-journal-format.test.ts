/**
 * The journal's text format (issue 15), function by function: the header
 * line a reader accepts, how complete lines are cut from bytes, what an
 * entry line may hold, and the snapshot id read from a payload's prefix.
 * A header or id this library did not write must never be taken for one.
 */
import { completeLines, decodeEntry, encodeEntry, formatHeader, isCheckpoint, journalPathOf, parseHeader, snapshotIdOf } from '../lib/stores/journal-format.js';
import { internalsOf } from '../lib/encryption/service-internals.js';
import { createService, makeTempDir, removeTempDir } from './helpers/store-harness.js';

const SALT = '0123456789abcdef0123456789abcdef';
const BASE = 'fedcba9876543210fedcba9876543210';

describe('the journal header (FR-1.1)', () => {
  test('is "ssm-journal 1 <salt> <base>" and a newline, and reads back', () => {
    const line = formatHeader({ saltHex: SALT, base: BASE });
    expect(line).toBe(`ssm-journal 1 ${SALT} ${BASE}\n`);
    expect(parseHeader(line.slice(0, -1))).toEqual({ saltHex: SALT, base: BASE });
  });

  test.each<[string, string]>([
    ['another magic word', `ssm-journaI 1 ${SALT} ${BASE}`],
    ['another format version', `ssm-journal 2 ${SALT} ${BASE}`],
    ['a field too many', `ssm-journal 1 ${SALT} ${BASE} extra`],
    ['no base', `ssm-journal 1 ${SALT}`],
    ['no salt and no base', 'ssm-journal 1'],
    ['a salt of 31 hex digits', `ssm-journal 1 ${SALT.slice(1)} ${BASE}`],
    ['a salt of 33 hex digits', `ssm-journal 1 0${SALT} ${BASE}`],
    ['a salt with one more character after it', `ssm-journal 1 ${SALT}0 ${BASE}`],
    ['a salt in capitals', `ssm-journal 1 ${SALT.toUpperCase()} ${BASE}`],
    ['a salt that is not hex', `ssm-journal 1 ${'g'.repeat(32)} ${BASE}`],
    ['a base of 33 hex digits', `ssm-journal 1 ${SALT} ${BASE}f`],
    ['a base with a character before it', `ssm-journal 1 ${SALT} x${BASE}`],
    ['a base that is not hex', `ssm-journal 1 ${SALT} ${'z'.repeat(32)}`],
  ])('a header with %s is not one this library wrote', (_, line) => {
    expect(parseHeader(line)).toBeUndefined();
  });

  test('the journal of a store file is <file>.journal', () => {
    expect(journalPathOf('/data/oauth_sessions.enc')).toBe('/data/oauth_sessions.enc.journal');
  });
});

describe('complete lines (NFR-6: a torn tail is never data)', () => {
  test('each complete line with the file offset just past its newline; bytes after the last newline are left out', () => {
    expect(completeLines(Buffer.from('\nab\ncde\ntorn'), 100)).toEqual([
      { text: '', end: 101 },
      { text: 'ab', end: 104 },
      { text: 'cde', end: 108 },
    ]);
    expect(completeLines(Buffer.from('no newline yet'), 0)).toEqual([]);
    expect(completeLines(Buffer.alloc(0), 0)).toEqual([]);
  });
});

describe('entry lines (FR-1.1)', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeTempDir(dir));

  test('a change and a checkpoint marker read back as written; only the marker is a checkpoint', async () => {
    const codec = internalsOf(await createService(dir)).activeCodec();
    const change = { put: [{ id: 1 }], del: ['gone'] };
    const marker = { checkpoint: { snapshot: BASE, covers: 1234 } };
    const changeLine = encodeEntry(codec, change);
    expect(changeLine.endsWith('\n')).toBe(true);
    expect(changeLine.slice(0, -1)).not.toContain('\n');
    const readChange = decodeEntry(codec, changeLine.slice(0, -1));
    const readMarker = decodeEntry(codec, encodeEntry(codec, marker).slice(0, -1));
    expect(readChange).toEqual(change);
    expect(readMarker).toEqual(marker);
    expect(isCheckpoint(readChange as never)).toBe(false);
    expect(isCheckpoint(readMarker as never)).toBe(true);
  });

  test.each<[string, string, string]>([
    ['text that is not JSON', '{"put": [', 'not JSON'],
    ['JSON null', 'null', 'not an object'],
    ['a JSON string', '"put"', 'not an object'],
    ['a marker with a numeric snapshot', '{"checkpoint": {"snapshot": 7, "covers": 1}}', 'bad checkpoint'],
    ['a marker with a fractional offset', `{"checkpoint": {"snapshot": "${BASE}", "covers": 0.5}}`, 'bad checkpoint'],
    ['a marker without an offset', `{"checkpoint": {"snapshot": "${BASE}"}}`, 'bad checkpoint'],
    ['a change without del', '{"put": []}', 'bad change entry'],
    ['a change without put', '{"del": []}', 'bad change entry'],
    ['a change deleting a number', '{"put": [], "del": ["a", 7]}', 'bad change entry'],
  ])('an authentic line holding %s says what is wrong', async (_, plaintext, problem) => {
    const codec = internalsOf(await createService(dir)).activeCodec();
    expect(decodeEntry(codec, codec.sealLine(plaintext))).toBe(problem);
  });

  test('a line that fails authentication throws ERR_DECRYPT (a torn tail or corruption, the reader decides)', async () => {
    const codec = internalsOf(await createService(dir)).activeCodec();
    const line = codec.sealLine('{"put": [], "del": []}');
    expect(() => decodeEntry(codec, `${line.slice(0, -2)}AA`)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPT' }));
  });
});

describe('snapshot ids (FR-1.1: which snapshot a journal continues)', () => {
  test('the payload IV, read from the "salt:iv:" prefix, leading whitespace allowed', () => {
    expect(snapshotIdOf(`${SALT}:${BASE}:rest`)).toBe(BASE);
    expect(snapshotIdOf(` \n${SALT}:${BASE}:rest`)).toBe(BASE);
  });

  test.each<[string, string]>([
    ['another character first', `x${SALT}:${BASE}:rest`],
    ['a salt of 31 digits', `${SALT.slice(1)}:${BASE}:rest`],
    ['an IV of 31 digits', `${SALT}:${BASE.slice(1)}:rest`],
    ['an IV in capitals', `${SALT}:${BASE.toUpperCase()}:rest`],
    ['no colon after the IV', `${SALT}:${BASE}`],
  ])('a prefix with %s has no id', (_, prefix) => {
    expect(snapshotIdOf(prefix)).toBeUndefined();
  });
});

import { formatMs as ms, type PartResult } from './part-result.js';
import { storeBurstShape } from './store-part.js';
import { wrap } from './wrap.js';

/** What the screen is rendered from: the parts, the --ops asked for, and the terminal's width. */
export interface RenderInput {
  parts: readonly PartResult[];
  ops: number;
  width: number;
}

const HEADER = ['part', 'ops', 'failed', 'written', 'wait ms', 'wall ms', 'result'] as const;
const RIGHT_ALIGNED = new Set([1, 2, 3, 5]);

function resultOf(part: PartResult): string {
  if (!part.isExpectedToHold) return part.isOk ? 'no race' : 'bug shown';
  return part.isOk ? 'ok' : 'FAILED';
}

function cellsOf(part: PartResult): string[] {
  const wait = part.lockWait === null ? 'no lock' : `${ms(part.lockWait.p50)}/${ms(part.lockWait.p99)}/${ms(part.lockWait.max)}`;
  return [part.name, String(part.operations), String(part.failed), String(part.writes), wait, ms(part.wallMs), resultOf(part)];
}

/** One line per column, saying what it counts, with this run's numbers where they explain a row. */
function legendOf({ parts, ops }: RenderInput): [string, string][] {
  const shape = storeBurstShape(ops);
  const old = parts.find((part) => part.id === 'old-recipe');
  const stores = parts.find((part) => part.id === 'stores');
  return [
    ['part', 'the three runs, each described below'],
    ['ops', `saves at once (--ops); 3 stores: ${shape.sessions} sessions + ${shape.tokens} tokens + ${shape.clients} clients`],
    ['failed', 'operations that rejected; their error codes are named below'],
    [
      'written',
      'files renamed into place' +
        (old === undefined ? '' : `: old recipe ${old.writes} of ${old.operations}`) +
        (stores === undefined ? '' : `; stores ${stores.writes} for ${stores.operations} changes`),
    ],
    ['wait ms', "p50/p99/max from a save's call until it holds the file's lock"],
    ['wall ms', 'time the whole part took, start to finish'],
    ['result', 'ok: nothing lost; bug shown: the old recipe lost saves, as expected'],
  ];
}

function table(parts: readonly PartResult[]): string[] {
  const rows = parts.map(cellsOf);
  const widths = HEADER.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (RIGHT_ALIGNED.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(HEADER), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
}

/** A terminal too narrow for the table gets one wrapped line per part instead. */
function stacked(parts: readonly PartResult[], width: number): string[] {
  return parts.flatMap((part) => {
    const cells = cellsOf(part);
    const fields = HEADER.slice(1).map((title, column) => `${title} ${cells[column + 1] ?? ''}`);
    return wrap(`${fields.join(', ')}`, width, `${part.name}: `, '  ');
  });
}

/**
 * The screen printed at the end of a run: the table (or, below its width, one
 * line per part), a legend line per column, then what each part showed.
 * No line is wider than `width`.
 */
export function renderReport(input: RenderInput): string {
  const { parts, width } = input;
  const rows = table(parts);
  const isFitting = rows.every((row) => row.length <= width);
  // Labels in a column of their own, text wrapped beside them (hanging indent).
  const labelled = (entries: readonly (readonly [string, string])[]): string[] => {
    const labelWidth = Math.max(...entries.map(([label]) => label.length)) + 2;
    return entries.flatMap(([label, text]) => wrap(text, width, label.padEnd(labelWidth), ' '.repeat(labelWidth)));
  };
  return [
    ...(isFitting ? rows : stacked(parts, width)),
    '',
    ...labelled(legendOf(input)),
    '',
    ...labelled(parts.map((part) => [part.name, part.detail] as const)),
    '',
  ].join('\n');
}

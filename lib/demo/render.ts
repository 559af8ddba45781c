import type { PartResult } from './part-result.js';

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1));

/** The compact table printed at the end of a run. */
export function renderTable(parts: readonly PartResult[]): string {
  const header = ['part', 'ops', 'failures', 'writes', 'lock wait p50/p99/max (ms)', 'wall (ms)', 'result'];
  const rows = parts.map((part) => [
    part.name,
    String(part.operations),
    Object.keys(part.failures).length === 0
      ? '0'
      : Object.entries(part.failures)
          .map(([code, count]) => `${code} ×${count}`)
          .join(', '),
    String(part.writes),
    part.lockWait === undefined ? 'n/a (no lock)' : `${ms(part.lockWait.p50)} / ${ms(part.lockWait.p99)} / ${ms(part.lockWait.max)}`,
    ms(part.wallMs),
    part.isOk === undefined ? 'shows the bug' : part.isOk ? 'ok' : 'FAILED',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  const details = parts.map((part) => `- ${part.name}: ${part.detail}`);
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line), '', ...details, ''].join('\n');
}

/**
 * Word-wraps `text` to `width` columns: the first line starts with `first`,
 * the others with `rest` (a hanging indent). A word longer than a line (a long
 * path) is cut, so no line is ever wider than `width`.
 */
export function wrap(text: string, width: number, first = '', rest = first): string[] {
  const lines: string[] = [];
  let prefix = first;
  let line = '';
  const room = (): number => Math.max(1, width - prefix.length);
  const flush = (): void => {
    lines.push(`${prefix}${line}`.trimEnd());
    prefix = rest;
    line = '';
  };
  for (const word of text.split(/\s+/).filter((part) => part !== '')) {
    let remaining = word;
    if (line !== '' && line.length + 1 + remaining.length > room()) flush();
    // Here `line` is empty or has room for the word; only an empty one can be too narrow.
    while (line === '' && remaining.length > room()) {
      lines.push(`${prefix}${remaining.slice(0, room())}`);
      prefix = rest;
      remaining = remaining.slice(room());
    }
    if (remaining !== '') line = line === '' ? remaining : `${line} ${remaining}`;
  }
  if (line !== '' || lines.length === 0) flush();
  return lines;
}

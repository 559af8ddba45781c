// Renders the gathered benchmark report as Markdown and as an SVG bar chart
// of the checked ratios. Pure functions: bench/run.mjs does the I/O.

const escapeXml = (text) =>
  String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

const formatNumber = (value) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
};

/** One Markdown document: machine line, then per section its rows and checks. */
export function renderMarkdown({ machine, sections }) {
  const lines = [
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}; Node ${machine.node}; ${machine.date}.`,
    '',
  ];
  for (const section of sections) {
    lines.push(`### ${section.section}`, '');
    if (section.rows.length > 0) {
      lines.push('| measurement | implementation | value | unit |', '| --- | --- | ---: | --- |');
      for (const row of section.rows) {
        lines.push(`| ${row.name} | ${row.impl ?? ''} | ${formatNumber(row.value)} | ${row.unit ?? ''} |`);
      }
      lines.push('');
    }
    if (section.checks.length > 0) {
      lines.push('| check | measured | target | met |', '| --- | ---: | --- | --- |');
      for (const check of section.checks) {
        lines.push(`| ${check.name} | ${formatNumber(check.ratio)}× | ${check.target} | ${check.met ? 'yes' : '**no**'} |`);
      }
      lines.push('');
    }
    for (const note of section.notes ?? []) lines.push(`- ${note}`);
    if ((section.notes ?? []).length > 0) lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** A horizontal bar per checked ratio, on a log scale, green when met. */
export function renderSvg({ machine, sections }) {
  const checks = sections.flatMap((section) => section.checks.map((check) => ({ ...check, section: section.section })));
  const rowHeight = 26;
  // Roughly 6.6 px per character of 12 px sans-serif: wide enough for the longest label.
  const charWidth = 6.6;
  const labelOf = (check) => `${check.section.split(', ')[0]}: ${check.name}`;
  const labelWidth = Math.ceil(Math.max(200, ...checks.map((check) => labelOf(check).length * charWidth)) + 20);
  const barWidth = 360;
  const top = 46;
  const height = top + checks.length * rowHeight + 30;
  const width = labelWidth + barWidth + 200;
  const maxLog = Math.max(1, ...checks.map((check) => Math.log10(Math.max(1, check.ratio))));
  const bars = checks.map((check, index) => {
    const y = top + index * rowHeight;
    const length = Math.max(2, (Math.log10(Math.max(1, check.ratio)) / maxLog) * barWidth);
    const colour = check.met ? '#2e7d32' : '#c62828';
    return [
      `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${escapeXml(labelOf(check))}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${length.toFixed(1)}" height="16" fill="${colour}"/>`,
      `<text x="${labelWidth + length + 6}" y="${y + 16}">${escapeXml(`${formatNumber(check.ratio)}× (target ${check.target})`)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">session-store-mutex: measured ratios (log scale; green = target met)</text>`,
    `<text x="10" y="36" fill="#555">${escapeXml(`${machine.cpu}, ${machine.cores} cores; Node ${machine.node}; ${machine.date}`)}</text>`,
    ...bars,
    '</svg>',
    '',
  ].join('\n');
}

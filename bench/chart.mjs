// The benchmark chart: one SVG, one panel per direction ("higher is better",
// "lower is better" with its axis reversed), so in both panels right is better.
// Each bar grows from the 1x line to its ratio: rightwards for a gain,
// leftwards for a loss. Each panel has a log axis with ticks, a dashed 1x
// line and a mark at each check's target; bars are coloured by the verdict of
// bench/verdict.mjs (met, missed, unsure on a noisy run). Labels are short;
// the full name of each check is in the numbered key under the chart and in
// each row's <title> tooltip. Pure: bench/run.mjs writes the file.
import { judge } from './verdict.mjs';

export const WIDTH = 800;
const LABEL_CHARS = 28;
const PLOT_LEFT = 222;
const PLOT_RIGHT = 600;
const ROW = 24;
const ONE_COLOUR = '#1565c0';
const COLOURS = { met: '#2e7d32', missed: '#c62828', unsure: '#9e9e9e' };
const STATUS_TEXT = { met: 'met', missed: 'missed', unsure: 'unsure' };
const KEY_TEXT = { met: 'target met', missed: 'target missed', unsure: 'unsure: within the noise' };

const escapeXml = (text) => String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** A ratio as people write it: 3.42×, 21.4×, 500×. */
export const formatRatio = (value) => `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`;

/** A check's short label: its own `label`, or its name cut to LABEL_CHARS. */
export const shortLabel = (check) => {
  const text = check.label ?? check.name;
  return text.length <= LABEL_CHARS ? text : `${text.slice(0, LABEL_CHARS - 1)}…`;
};

/** Ticks at 1, 2 and 5 times each power of ten inside [min, max]; only the powers of ten when that gives too many. */
export function logTicks(min, max) {
  const ticks = [];
  for (let decade = Math.floor(Math.log10(min)); decade <= Math.ceil(Math.log10(max)); decade += 1) {
    for (const step of [1, 2, 5]) {
      const value = step * 10 ** decade;
      if (value >= min * 0.999 && value <= max * 1.001) ticks.push(Number(value.toPrecision(3)));
    }
  }
  return ticks.length > 9 ? ticks.filter((value) => Number.isInteger(Math.log10(value))) : ticks;
}

/** Splits text into lines of at most `chars` characters, at spaces. */
function lines(text, chars) {
  const out = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > chars) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}

function panel(title, rows, higherIsBetter, top) {
  const values = rows.flatMap(({ check, verdict }) => [check.ratio, verdict.low, verdict.high, verdict.target?.value ?? 1]).filter((v) => v > 0);
  const min = Math.min(1, ...values) / 1.25;
  const max = Math.max(1, ...values) * 1.25;
  const span = Math.log10(max) - Math.log10(min);
  const clamp = (value) => Math.min(max, Math.max(min, value));
  // Reversed for "lower is better": small ratios sit on the right.
  const x = (value) => {
    const share = (Math.log10(clamp(value)) - Math.log10(min)) / span;
    return PLOT_LEFT + (higherIsBetter ? share : 1 - share) * (PLOT_RIGHT - PLOT_LEFT);
  };
  const plotTop = top + 22;
  const plotBottom = plotTop + rows.length * ROW;
  const parts = [
    `<g class="panel" data-direction="${higherIsBetter ? 'higher' : 'lower'}">`,
    `<text x="10" y="${top + 12}" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (const tick of logTicks(min, max)) {
    const tx = x(tick).toFixed(1);
    parts.push(
      `<line class="tick" x1="${tx}" y1="${plotTop}" x2="${tx}" y2="${plotBottom + 4}" stroke="#e0e0e0"/>`,
      `<text x="${tx}" y="${plotBottom + 16}" text-anchor="middle" fill="#555" font-size="11">${Number(tick.toPrecision(3))}×</text>`,
    );
  }
  const one = x(1);
  rows.forEach(({ check, verdict, number, section }, index) => {
    const y = plotTop + index * ROW;
    const end = x(check.ratio);
    const targetText = verdict.target === undefined ? `target ${check.target ?? 'none'}` : `${verdict.target.higherIsBetter ? '≥' : '≤'} ${verdict.target.value}×`;
    parts.push(
      `<g class="row" data-status="${verdict.status}">`,
      `<title>${escapeXml(`${number}. ${check.name} (${section}): ${formatRatio(check.ratio)}, target ${targetText}, ${STATUS_TEXT[verdict.status]}`)}</title>`,
      `<text x="${PLOT_LEFT - 8}" y="${y + 16}" text-anchor="end" font-size="11">${escapeXml(`${number}. ${shortLabel(check)}`)}</text>`,
      // From the 1x line to the value: rightwards when better than 1x, leftwards when worse,
      // so a bar's direction alone says gain or loss (the target mark says met or missed).
      `<rect class="bar" x="${Math.min(one, end).toFixed(1)}" y="${y + 5}" width="${Math.max(1, Math.abs(end - one)).toFixed(1)}" height="14" fill="${COLOURS[verdict.status]}"/>`,
    );
    if (verdict.high / verdict.low > 1.001) {
      parts.push(`<line class="band" x1="${x(verdict.low).toFixed(1)}" y1="${y + 12}" x2="${x(verdict.high).toFixed(1)}" y2="${y + 12}" stroke="#212121" stroke-width="1.5"/>`);
    }
    if (verdict.target !== undefined) {
      const tx = x(verdict.target.value).toFixed(1);
      parts.push(`<line class="target" x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + 23}" stroke="#000" stroke-width="2.5"/>`);
    }
    parts.push(`<text x="${PLOT_RIGHT + 10}" y="${y + 16}">${escapeXml(`${formatRatio(check.ratio)} (${targetText}) ${STATUS_TEXT[verdict.status]}`)}</text>`, '</g>');
  });
  // After the rows and in its own colour: a target mark at 1x (black, wider) would otherwise hide it.
  parts.push(
    `<line class="one" x1="${one.toFixed(1)}" y1="${plotTop - 4}" x2="${one.toFixed(1)}" y2="${plotBottom + 4}" stroke="${ONE_COLOUR}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    `<line class="axis" x1="${PLOT_LEFT}" y1="${plotBottom + 4}" x2="${PLOT_RIGHT}" y2="${plotBottom + 4}" stroke="#000"/>`,
    `<text x="${PLOT_RIGHT}" y="${plotBottom + 30}" text-anchor="end" fill="#555" font-size="11">${higherIsBetter ? 'ratio, log scale →' : '← ratio, log scale (reversed)'}</text>`,
    '</g>',
  );
  return { svg: parts.join('\n'), height: plotBottom + 40 - top };
}

/**
 * The chart as an SVG document. `report` is what bench/run.mjs gathers:
 * { machine, sections: [{ section, checks, noise? }] }.
 */
export function renderChart({ machine, sections }) {
  const judged = sections.flatMap((section) =>
    (section.checks ?? []).map((check) => ({ check, section: section.section, verdict: judge(check, section.noise?.factor ?? 1) })),
  );
  const higherFirst = (row) => row.verdict.target?.higherIsBetter ?? row.check.ratio >= 1;
  // Numbered in display order (upper panel, then lower), so the key under the chart reads top to bottom.
  const rows = [...judged.filter(higherFirst), ...judged.filter((row) => !higherFirst(row))].map((row, index) => ({ ...row, number: index + 1 }));
  const noisy = sections.filter((section) => section.noise?.noisy);
  const isMeasured = sections.every((section) => section.noise !== undefined);
  const header = [
    `<text x="10" y="22" font-size="15" font-weight="bold">session-store-mutex: measured ratios (one run; right is better)</text>`,
    `<text x="10" y="40" fill="#555">${escapeXml(`${machine.cpu}, ${machine.cores} cores; Node ${machine.node}; ${machine.date}`)}</text>`,
    !isMeasured
      ? `<text x="10" y="58" fill="#555">Machine noise was not measured for this run: verdicts assume a quiet machine.</text>`
      : noisy.length === 0
      ? `<text x="10" y="58" fill="#2e7d32">Quiet machine: every verdict stands on this run's numbers.</text>`
      : `<text x="10" y="58" fill="#c62828">${escapeXml(`Noisy machine during ${noisy.length} of ${sections.length} sections: grey bars are too close to their target to judge.`)}</text>`,
    `<g class="key" font-size="11">`,
    ...['met', 'missed', 'unsure'].map((status, index) =>
      `<rect x="${10 + index * 120}" y="68" width="12" height="12" fill="${COLOURS[status]}"/><text x="${26 + index * 120}" y="78">${KEY_TEXT[status]}</text>`,
    ),
    `<line x1="420" y1="66" x2="420" y2="82" stroke="#000" stroke-width="2.5"/><text x="428" y="78">target</text>`,
    `<line x1="490" y1="66" x2="490" y2="82" stroke="${ONE_COLOUR}" stroke-width="1.5" stroke-dasharray="4 3"/><text x="498" y="78">1× (no difference)</text>`,
    `<line x1="630" y1="74" x2="650" y2="74" stroke="#212121" stroke-width="1.5"/><text x="656" y="78">noise band</text>`,
    '</g>',
  ];
  let top = 96;
  const panels = [];
  for (const [title, higher] of [
    ['Higher is better (× faster, × fewer writes)', true],
    ['Lower is better (× overhead, × growth); axis reversed', false],
  ]) {
    const panelRows = rows.filter((row) => higherFirst(row) === higher);
    if (panelRows.length === 0) continue;
    const built = panel(title, panelRows, higher, top);
    panels.push(built.svg);
    top += built.height;
  }
  const key = rows.flatMap((row) => lines(`${row.number}. ${row.check.name} (${row.section})`, 118));
  const keySvg = key.map((line, index) => `<text x="10" y="${top + 14 + index * 14}" font-size="11" fill="#333">${escapeXml(line)}</text>`);
  const height = top + 14 * key.length + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...header,
    ...panels,
    `<g class="names">`,
    ...keySvg,
    '</g>',
    '</svg>',
    '',
  ].join('\n');
}

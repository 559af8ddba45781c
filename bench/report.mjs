// Renders the gathered benchmark report as Markdown. Pure: bench/run.mjs does
// the I/O, bench/chart.mjs draws the chart, bench/verdict.mjs judges checks.
// Verdicts are computed from the run's own numbers and noise; the report adds
// no prose conclusions of its own.
import { formatRatio } from './chart.mjs';
import { judge } from './verdict.mjs';

const formatNumber = (value) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
};

const VERDICT_TEXT = { met: 'yes', missed: '**no**', unsure: 'unsure' };

/** One line on the machine's noise over the whole run. */
export function noiseSummary(sections) {
  const measured = sections.filter((section) => section.noise !== undefined);
  if (measured.length === 0) return 'Noise: not measured for this run; verdicts assume a quiet machine.';
  const noisy = measured.filter((section) => section.noise.noisy);
  const loadMax = Math.max(...measured.map((section) => section.noise.loadMax));
  const spread = Math.max(...measured.map((section) => section.noise.spread));
  const facts = `1-minute load average up to ${loadMax.toFixed(1)} on ${measured[0].noise.cores} cores; a fixed CPU probe varied up to ${spread.toFixed(2)}× between runs`;
  if (noisy.length === 0) return `Noise: quiet (${facts}); every verdict stands on this run's numbers.`;
  return (
    `**Noisy machine** during ${noisy.length} of ${measured.length} sections (${facts}): ` +
    "each ratio's band is widened by the noise, and a check is called met or missed only when its whole band is on one side of the target; otherwise it says unsure. Rerun on a quiet machine for verdicts."
  );
}

/** One Markdown document: machine and noise lines, then per section its rows, checks and notes. */
export function renderMarkdown({ machine, run, sections }) {
  const lines = [
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}; Node ${machine.node}; ${machine.date}.`,
    '',
    noiseSummary(sections),
    '',
  ];
  if (run !== undefined) lines.push(`Run: ${run.repeat} repetition${run.repeat === 1 ? '' : 's'} of each bench file, ${run.seconds} s in all.`, '');
  for (const section of sections) {
    lines.push(`### ${section.section}`, '');
    const isRepeated = section.rows.some((row) => (row.samples?.length ?? 0) > 1);
    if (section.rows.length > 0) {
      lines.push(
        `| measurement | implementation | value | unit |${isRepeated ? ' range |' : ''}`,
        `| --- | --- | ---: | --- |${isRepeated ? ' --- |' : ''}`,
      );
      for (const row of section.rows) {
        const range = isRepeated ? ` ${formatNumber(Math.min(...(row.samples ?? [row.value])))}–${formatNumber(Math.max(...(row.samples ?? [row.value])))} |` : '';
        lines.push(`| ${row.name} | ${row.impl ?? ''} | ${formatNumber(row.value)} | ${row.unit ?? ''} |${range}`);
      }
      lines.push('');
    }
    if (section.checks.length > 0) {
      lines.push('| check | measured | band (noise) | target | met |', '| --- | ---: | --- | --- | --- |');
      for (const check of section.checks) {
        const verdict = judge(check, section.noise?.factor ?? 1);
        const band = verdict.high / verdict.low > 1.001 ? `${formatRatio(verdict.low)}–${formatRatio(verdict.high)}` : '';
        lines.push(`| ${check.name} | ${formatRatio(check.ratio)} | ${band} | ${check.target} | ${VERDICT_TEXT[verdict.status]} |`);
      }
      lines.push('');
    }
    const notes = [...(section.notes ?? [])];
    if (section.noise?.noisy) notes.push(`noisy while this ran: ${section.noise.reasons.join('; ')}`);
    for (const note of notes) lines.push(`- ${note}`);
    if (notes.length > 0) lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** Adds each check's verdict to a copy of the report, for the saved JSON. */
export function withVerdicts(report) {
  return {
    ...report,
    sections: report.sections.map((section) => ({
      ...section,
      checks: section.checks.map((check) => {
        const { status, low, high } = judge(check, section.noise?.factor ?? 1);
        return { ...check, verdict: status, band: [low, high] };
      }),
    })),
  };
}

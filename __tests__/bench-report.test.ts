/**
 * The benchmark report (issue 14): verdicts that account for noise, the
 * Markdown report, and the chart's structure, rendered to PNG. The bench
 * modules are plain ESM (.mjs), which jest's CommonJS transform cannot
 * import, so each test runs them in a child `node` and reads back JSON.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { Resvg } from '@resvg/resvg-js';

const BENCH = path.join(__dirname, '..', 'bench');
const moduleUrl = (name: string): string => pathToFileURL(path.join(BENCH, name)).href;

/** Runs `body` as an ES module that has `input` (parsed stdin) in scope and prints its JSON result. */
function inChild<T>(imports: string, body: string, input: unknown = null): T {
  const script = `${imports}\nconst input = JSON.parse(await new Promise((resolve) => { let text = ''; process.stdin.on('data', (c) => (text += c)).on('end', () => resolve(text)); }));\nconst result = await (async () => { ${body} })();\nprocess.stdout.write(JSON.stringify(result));`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(input), encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(stdout) as T;
}

interface Check {
  name: string;
  ratio: number;
  target: string;
  met: boolean;
  ratios?: number[];
  isCount?: boolean;
  label?: string;
}

const machine = { cpu: 'Test CPU', cores: 2, memoryGiB: 8, platform: 'Linux test x64', node: 'v20.0.0', date: '2026-11-30' };
interface Noise {
  noisy: boolean;
  reasons: string[];
  spread: number;
  loadMax: number;
  cores: number;
  factor: number;
}
const quiet: Noise = { noisy: false, reasons: [], spread: 1.03, loadMax: 0.4, cores: 2, factor: 1 };
const noisy: Noise = { noisy: true, reasons: ['the load average reached 4.0 on 2 cores'], spread: 1.4, loadMax: 4, cores: 2, factor: 2 };

function report(noise: Noise | undefined): { machine: typeof machine; sections: { section: string; rows: unknown[]; checks: Check[]; notes: string[]; noise?: Noise }[] } {
  return {
    machine,
    sections: [
      {
        section: 'Speed',
        rows: [{ name: 'save', impl: 'ours', value: 1.2, unit: 'ms/save' }],
        checks: [
          { name: 'old recipe ms/save ÷ ours (durable), a deliberately long name', ratio: 32, target: '>= 30', met: true },
          { name: 'async-lock / serial-queue', ratio: 3, target: '>= 10', met: false },
          { name: 'writes: naive / store', ratio: 500, target: '>= 500', met: true, isCount: true },
        ],
        notes: ['a note from the bench file'],
        ...(noise === undefined ? {} : { noise }),
      },
      {
        section: 'Overhead',
        rows: [],
        checks: [
          { name: 'serial-queue / bare await', ratio: 1.5, target: '<= 4', met: true },
          { name: 'growth 100,000 / 1,000 queued', ratio: 3.6, target: '<= 2', met: false },
        ],
        notes: [],
        ...(noise === undefined ? {} : { noise }),
      },
    ],
  };
}

describe('verdicts stand on the run\'s own numbers and noise', () => {
  const judgeAll = (checks: Check[], factor: number): string[] =>
    inChild<string[]>(`import { judge } from '${moduleUrl('verdict.mjs')}';`, `return input.checks.map((check) => judge(check, input.factor).status);`, { checks, factor });

  test('targets parse in both directions; anything else is not a target', () => {
    const parsed = inChild<unknown[]>(`import { parseTarget } from '${moduleUrl('verdict.mjs')}';`, `return input.map((text) => parseTarget(text) ?? null);`, [
      '>= 30',
      '<= 4',
      '≥ 1,000×',
      'fast',
    ]);
    expect(parsed).toEqual([{ higherIsBetter: true, value: 30 }, { higherIsBetter: false, value: 4 }, { higherIsBetter: true, value: 1000 }, null]);
  });

  test('on a quiet machine a check is met or missed by its ratio alone', () => {
    expect(judgeAll(report(quiet).sections.flatMap((section) => section.checks), 1)).toEqual(['met', 'missed', 'met', 'met', 'missed']);
  });

  test('on a noisy machine a ratio within the noise of its target is unsure; far ones and counts are still judged', () => {
    // factor 2: 32 could be 16 (unsure), 3 could be 6 (still under 10: missed), 1.5 could be 3 (still <= 4: met), 3.6 could be 1.8 (unsure).
    expect(judgeAll(report(noisy).sections.flatMap((section) => section.checks), 2)).toEqual(['unsure', 'missed', 'met', 'met', 'unsure']);
  });

  test('repetitions on both sides of the target make it unsure; a bench file\'s own "not met" is never overruled', () => {
    expect(
      judgeAll(
        [
          { name: 'a', ratio: 31, target: '>= 30', met: true, ratios: [28, 31, 33] },
          { name: 'b', ratio: 600, target: '>= 500', met: false },
        ],
        1,
      ),
    ).toEqual(['unsure', 'missed']);
  });
});

describe('the Markdown report', () => {
  const markdownOf = (input: unknown): string => inChild<string>(`import { renderMarkdown } from '${moduleUrl('report.mjs')}';`, `return renderMarkdown(input);`, input);

  test('a noisy run says so up front and prints "unsure" instead of a verdict it cannot stand behind', () => {
    const text = markdownOf(report(noisy));
    expect(text).toMatch(/^Machine: Test CPU, 2 cores/);
    expect(text).toContain('**Noisy machine** during 2 of 2 sections (1-minute load average up to 4.0 on 2 cores');
    expect(text).toMatch(/\| old recipe ms\/save ÷ ours \(durable\), a deliberately long name \| 32\.0× \| 16\.0×–64\.0× \| >= 30 \| unsure \|/);
    expect(text).toContain('- noisy while this ran: the load average reached 4.0 on 2 cores');
  });

  test('a quiet run judges every check and adds no prose of its own', () => {
    const text = markdownOf(report(quiet));
    expect(text).toContain("Noise: quiet (1-minute load average up to 0.4 on 2 cores; a fixed CPU probe varied up to 1.03× between runs)");
    expect(text).toMatch(/\| async-lock \/ serial-queue \| 3\.00× \| {2}\| >= 10 \| \*\*no\*\* \|/);
    expect(text).not.toContain('unsure');
    const prose = text.split('\n').filter((line) => line.startsWith('- '));
    expect(prose).toEqual(['- a note from the bench file']);
  });

  test('repetitions fold into medians with their spread kept', () => {
    const merged = inChild<{ rows: { value: number; samples: number[] }[]; checks: { ratio: number; ratios: number[]; met: boolean }[] }>(
      `import { mergeRepetitions } from '${moduleUrl('merge.mjs')}';`,
      `return mergeRepetitions(input);`,
      [3, 1, 2].map((value) => ({ section: 's', rows: [{ name: 'r', value }], checks: [{ name: 'c', ratio: value * 10, target: '>= 15', met: value * 10 >= 15 }], notes: [] })),
    );
    expect(merged.rows).toEqual([expect.objectContaining({ value: 2, samples: [3, 1, 2] })]);
    expect(merged.checks).toEqual([expect.objectContaining({ ratio: 20, ratios: [30, 10, 20], met: false })]);
  });
});

const chartOf = (input: unknown): string => inChild<string>(`import { renderChart } from '${moduleUrl('chart.mjs')}';`, `return renderChart(input);`, input);

/** One panel's part of the SVG. */
const panelOf = (svg: string, direction: 'higher' | 'lower'): string =>
  svg.split('<g class="panel"').find((part) => part.startsWith(` data-direction="${direction}"`)) ?? '';

/** Each row's bar in one panel, keyed by the row's number: its left and right edges and the panel's 1× line. */
function barsOf(svg: string, direction: 'higher' | 'lower'): Map<number, { left: number; right: number; one: number }> {
  const panel = panelOf(svg, direction);
  const one = Number(/class="one" x1="([\d.]+)"/.exec(panel)?.[1]);
  const bars = new Map<number, { left: number; right: number; one: number }>();
  for (const row of panel.split('<g class="row"').slice(1)) {
    const label = Number(/text-anchor="end" font-size="11">(\d+)\. /.exec(row)?.[1]);
    const bar = /class="bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(row);
    bars.set(label, { left: Number(bar?.[1]), right: Number(bar?.[1]) + Number(bar?.[2]), one });
  }
  return bars;
}

/** The x a bar reaches: its edge away from the 1× line. */
function barEnds(svg: string, direction: 'higher' | 'lower'): Map<number, number> {
  const ends = new Map<number, number>();
  for (const [number, bar] of barsOf(svg, direction)) ends.set(number, Math.abs(bar.left - bar.one) < 0.2 ? bar.right : bar.left);
  return ends;
}

/** Checks on both sides of 1× in both panels, with the two directions interleaved across sections. */
function mixedReport(): unknown {
  return {
    machine,
    sections: [
      {
        section: 'A',
        checks: [
          { name: 'overhead 1.5', ratio: 1.5, target: '<= 4', met: true },
          { name: 'speed 0.99', ratio: 0.99, target: '>= 1', met: false },
        ],
      },
      {
        section: 'B',
        checks: [
          { name: 'speed 32', ratio: 32, target: '>= 30', met: true },
          { name: 'overhead 0.8', ratio: 0.8, target: '<= 1', met: true },
        ],
      },
    ],
  };
}

describe('the chart', () => {
  test('one panel per direction, each with an axis, ticks, the 1× line and a mark at every target', () => {
    const svg = chartOf(report(quiet));
    for (const direction of ['higher', 'lower'] as const) {
      const panel = panelOf(svg, direction);
      expect(panel.match(/class="axis"/g)).toHaveLength(1);
      expect(panel.match(/class="one"/g)).toHaveLength(1);
      expect((panel.match(/class="tick"/g) ?? []).length).toBeGreaterThanOrEqual(3);
      expect((panel.match(/class="target"/g) ?? []).length).toBe((panel.match(/class="row"/g) ?? []).length);
    }
    expect((svg.match(/class="row"/g) ?? []).length).toBe(5);
  });

  test('right is better in both panels: a bar further right is the better ratio', () => {
    const svg = chartOf(report(quiet));
    const higher = barEnds(svg, 'higher');
    // Row 3 (500×) beats row 2 (3×).
    expect(higher.get(3)).toBeGreaterThan(higher.get(2)!);
    const lower = barEnds(svg, 'lower');
    // 1.5× overhead is better than 3.6× growth, so it reaches further right.
    expect(lower.get(4)).toBeGreaterThan(lower.get(5)!);
    expect([...lower.keys()]).toEqual([4, 5]);
  });

  test('each bar starts at the 1× line: rightwards for a gain, leftwards for a loss, in both panels', () => {
    const svg = chartOf(mixedReport());
    const higher = barsOf(svg, 'higher');
    const lower = barsOf(svg, 'lower');
    // Upper panel: 1 = speed 0.99 (a loss), 2 = speed 32 (a gain). Lower (reversed): 3 = overhead 1.5 (a loss), 4 = overhead 0.8 (a gain).
    for (const loss of [higher.get(1)!, lower.get(3)!]) {
      expect(loss.right).toBeCloseTo(loss.one, 0);
      expect(loss.left).toBeLessThan(loss.one);
    }
    for (const gain of [higher.get(2)!, lower.get(4)!]) {
      expect(gain.left).toBeCloseTo(gain.one, 0);
      expect(gain.right).toBeGreaterThan(gain.one + 10);
    }
    // The lower panel's loss (1.5×) is a visible bar, not a sliver at the axis minimum.
    expect(lower.get(3)!.one - lower.get(3)!.left).toBeGreaterThan(20);
  });

  test('the 1× line is drawn after every bar and target mark, in a colour no mark uses, so a target at 1× cannot hide it', () => {
    const svg = chartOf(mixedReport());
    for (const direction of ['higher', 'lower'] as const) {
      const panel = panelOf(svg, direction);
      expect(panel.indexOf('class="one"')).toBeGreaterThan(panel.lastIndexOf('class="target"'));
      expect(panel.indexOf('class="one"')).toBeGreaterThan(panel.lastIndexOf('class="bar"'));
      const oneStroke = /class="one"[^>]* stroke="([^"]+)"/.exec(panel)?.[1];
      const markStrokes = [...panel.matchAll(/class="target"[^>]* stroke="([^"]+)"/g)].map((match) => match[1]);
      expect(markStrokes.length).toBe(2);
      expect(markStrokes).not.toContain(oneStroke);
    }
  });

  test('rows are numbered in display order, so the labels and the key both read 1, 2, 3, … top to bottom', () => {
    const svg = chartOf(mixedReport());
    const labels = [...svg.matchAll(/text-anchor="end" font-size="11">(\d+)\. ([^<]+)</g)].map((match) => `${match[1]}. ${match[2]}`);
    expect(labels).toEqual(['1. speed 0.99', '2. speed 32', '3. overhead 1.5', '4. overhead 0.8']);
    const names = svg.slice(svg.indexOf('<g class="names">'));
    const key = [...names.matchAll(/>(\d+\. [^<]+)</g)].map((match) => match[1]);
    expect(key).toEqual(['1. speed 0.99 (A)', '2. speed 32 (B)', '3. overhead 1.5 (A)', '4. overhead 0.8 (B)']);
  });

  test('labels are short; each full name is in a <title> tooltip and in the numbered key', () => {
    const svg = chartOf(report(quiet));
    expect(svg).toContain('1. old recipe ms/save ÷ ours (…</text>');
    expect(svg).toContain('<title>1. old recipe ms/save ÷ ours (durable), a deliberately long name (Speed): 32.0×, target ≥ 30×, met</title>');
    expect(svg).toContain('>1. old recipe ms/save ÷ ours (durable), a deliberately long name (Speed)</text>');
  });

  test('colours follow the verdicts, and a noisy run is announced with grey "unsure" bars', () => {
    const quietSvg = chartOf(report(quiet));
    expect(quietSvg.match(/data-status="(\w+)"/g)).toEqual(['met', 'missed', 'met', 'met', 'missed'].map((status) => `data-status="${status}"`));
    expect(quietSvg).toContain('Quiet machine');
    const noisySvg = chartOf(report(noisy));
    expect(noisySvg).toContain('Noisy machine during 2 of 2 sections');
    expect((noisySvg.match(/data-status="unsure"/g) ?? []).length).toBe(2);
    expect(noisySvg).toMatch(/class="band"/);
    expect(chartOf(report(undefined))).toContain('noise was not measured');
  });

  test('it renders to a PNG of the SVG\'s size that parses, with green and red bars in it', () => {
    const svg = chartOf(report(quiet));
    const height = Number(/height="(\d+)"/.exec(svg)?.[1]);
    const rendered = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render();
    const png = rendered.asPng();
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // Walk the chunks: IHDR first with the SVG's size, the IDAT stream inflates to one filtered RGBA row per line, IEND last.
    let offset = 8;
    const chunks: { type: string; data: Buffer }[] = [];
    while (offset < png.length) {
      const length = png.readUInt32BE(offset);
      chunks.push({ type: png.toString('latin1', offset + 4, offset + 8), data: png.subarray(offset + 8, offset + 8 + length) });
      offset += 12 + length;
    }
    expect(offset).toBe(png.length);
    expect(chunks[0]!.type).toBe('IHDR');
    expect(chunks.at(-1)!.type).toBe('IEND');
    const width = chunks[0]!.data.readUInt32BE(0);
    expect([width, chunks[0]!.data.readUInt32BE(4)]).toEqual([800, height]);
    const bytesPerPixel = chunks[0]!.data[9] === 6 ? 4 : 3;
    const pixels = inflateSync(Buffer.concat(chunks.filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data)));
    expect(pixels.length).toBe(height * (1 + width * bytesPerPixel));
    expect(png.length).toBeGreaterThan(10_000);
    expect(png.length).toBeLessThan(500_000);
    // `pixels` is a getter that copies the whole image: read it once.
    const raw = rendered.pixels;
    const count = (r: number, g: number, b: number): number => {
      let found = 0;
      for (let index = 0; index < raw.length; index += 4) {
        if (raw[index] === r && raw[index + 1] === g && raw[index + 2] === b) found += 1;
      }
      return found;
    };
    expect(count(0x2e, 0x7d, 0x32)).toBeGreaterThan(1000);
    expect(count(0xc6, 0x28, 0x28)).toBeGreaterThan(200);
  });
});

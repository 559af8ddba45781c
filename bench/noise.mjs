// How quiet the machine was while a bench file ran: the 1-minute load
// average (sampled before, during and after) and the spread of a fixed CPU
// probe timed before and after it. A noisy machine moves ratios (a 32x ratio
// was seen at 19x under another process's load), so bench/verdict.mjs widens
// every check by the noise before it calls a target met or missed.
import os from 'node:os';

/** A probe spread (slowest / fastest run) above this means the machine's speed was not steady. */
export const NOISY_SPREAD = 1.15;
const PROBE_RUNS = 7;
// About 20 ms a run: long enough that one scheduler tick does not decide the spread.
const PROBE_ITERATIONS = 8_000_000;

let sink = 0;

/** One probe run: a fixed mix of arithmetic and short-lived objects, in ms. */
function probeOnce() {
  const started = performance.now();
  let total = 0;
  for (let index = 0; index < PROBE_ITERATIONS; index += 1) {
    const item = { index, value: Math.sqrt(index) };
    total += item.value;
  }
  sink += total;
  return performance.now() - started;
}

/** Times the probe PROBE_RUNS times (after one warm-up run) and returns the times in ms. */
export function probe() {
  probeOnce();
  return Array.from({ length: PROBE_RUNS }, probeOnce);
}

/** The 1-minute load average now. */
export const loadNow = () => os.loadavg()[0];

/**
 * Sums up the samples of one section: `probeMs` from before and after it,
 * `loads` sampled before, during and after. `noisy` when the probe's spread
 * passed NOISY_SPREAD or more processes wanted a CPU than there are cores.
 * `factor` (>= 1) is how far one measurement may have been skewed.
 */
export function summariseNoise({ probeMs, loads, cores }) {
  const spread = probeMs.length === 0 ? 1 : Math.max(...probeMs) / Math.min(...probeMs);
  const loadMax = loads.length === 0 ? 0 : Math.max(...loads);
  const reasons = [];
  if (spread > NOISY_SPREAD) reasons.push(`a fixed CPU probe varied ${spread.toFixed(2)}x between runs (quiet: under ${NOISY_SPREAD}x)`);
  if (loadMax > cores) reasons.push(`the load average reached ${loadMax.toFixed(1)} on ${cores} cores`);
  const noisy = reasons.length > 0;
  return {
    noisy,
    reasons,
    spread: round(spread, 3),
    loadMax: round(loadMax, 2),
    cores,
    factor: noisy ? round(Math.max(spread, loadMax / cores, 1), 3) : 1,
  };
}

const round = (value, digits) => Math.round(value * 10 ** digits) / 10 ** digits;

// Keeps the probe's work observable so it is not optimised away.
export const probeSink = () => sink;

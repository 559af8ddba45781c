// Judges each check against its target with the run's own uncertainty: the
// spread between repetitions (when the run repeated) widened by the
// machine's noise factor. A target is called met or missed only when the
// whole band lies on one side of it; otherwise the check is "unsure".

/** Parses a target such as '>= 30' or '<= 4' into { higherIsBetter, value }; undefined when it is not one. */
export function parseTarget(target) {
  const match = /^\s*(<=|>=|<|>|≤|≥)\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*[x×]?\s*$/.exec(String(target ?? ''));
  if (match === null) return undefined;
  return { higherIsBetter: ['>=', '>', '≥'].includes(match[1]), value: Number(match[2].replaceAll(',', '')) };
}

/**
 * Returns { status: 'met' | 'missed' | 'unsure', low, high, direction } for one
 * check. `ratios` are the check's values across repetitions (at least its
 * own `ratio`); `factor` is the noise factor (1 on a quiet machine): when
 * the machine's speed varied by up to `factor` during the run, a ratio of two
 * timings taken at different moments may be off by as much. A check marked
 * `isCount` (a ratio of counts, such as file writes) is not widened: noise
 * cannot move it. The bench file's own `met` can only make a verdict stricter
 * (its target may hold conditions the target text does not show).
 */
export function judge(check, factor = 1) {
  const ratios = check.ratios?.length > 0 ? check.ratios : [check.ratio];
  const widen = check.isCount === true ? 1 : factor;
  const low = Math.min(...ratios) / widen;
  const high = Math.max(...ratios) * widen;
  const target = parseTarget(check.target);
  if (target === undefined) {
    return { status: widen > 1 || ratios.length > 1 ? 'unsure' : check.met ? 'met' : 'missed', low, high, target };
  }
  const passes = (value) => (target.higherIsBetter ? value >= target.value : value <= target.value);
  const worst = target.higherIsBetter ? low : high;
  const best = target.higherIsBetter ? high : low;
  let status = passes(worst) ? 'met' : passes(best) ? 'unsure' : 'missed';
  if (status === 'met' && check.met === false) status = 'missed';
  return { status, low, high, target };
}

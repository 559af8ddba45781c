// Folds the JSON reports of one bench file's repetitions into one section:
// each row's value and each check's ratio become the median over the
// repetitions, with every repetition's value kept (`samples`, `ratios`) so
// the report can show the spread. Notes come from the first repetition (their
// numbers are that repetition's own).

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

function mergeBy(items, keyOf, fold) {
  const groups = new Map();
  for (const item of items) {
    const key = keyOf(item);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(item);
  }
  return [...groups.values()].map(fold);
}

/** `reports`: the parsed last stdout lines of one file's repetitions, in order. */
export function mergeRepetitions(reports) {
  const [first] = reports;
  const rows = mergeBy(
    reports.flatMap((report) => report.rows ?? []),
    (row) => `${row.name}\u0000${row.impl ?? ''}`,
    (group) => {
      const samples = group.flatMap((row) => row.samples ?? [row.value]);
      return { ...group[0], value: group.length === 1 ? group[0].value : median(group.map((row) => row.value)), samples };
    },
  );
  const checks = mergeBy(
    reports.flatMap((report) => report.checks ?? []),
    (check) => check.name,
    (group) => ({
      ...group[0],
      ratio: group.length === 1 ? group[0].ratio : median(group.map((check) => check.ratio)),
      ratios: group.flatMap((check) => check.ratios ?? [check.ratio]),
      met: group.every((check) => check.met !== false),
    }),
  );
  const notes = [...(first.notes ?? [])];
  if (reports.length > 1) notes.push(`values are medians of ${reports.length} repetitions; the notes above are from the first`);
  return { section: first.section, rows, checks, notes };
}

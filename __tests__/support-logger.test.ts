/**
 * The default debug line (NFR-2): written through util.debuglog, so it is
 * off unless NODE_DEBUG names the package, and then its fields are not
 * rendered at all (the child-process suites cover the lines when shown).
 */
import { createDebugLine } from '../lib/support/logger.js';

test('NFR-2: with NODE_DEBUG unset, a debug line renders none of its fields', () => {
  expect(process.env.NODE_DEBUG ?? '').not.toMatch(/session-store-mutex/i);
  let rendered = 0;
  const key = {
    toJSON: () => {
      rendered += 1;
      return 'key';
    },
  };
  const debugLine = createDebugLine();
  debugLine({ key, waitedMs: 150 }, 'task started after a slow wait');
  debugLine({ key, waitedMs: 151 }, 'task started after a slow wait');
  expect(rendered).toBe(0);
});

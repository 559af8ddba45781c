// dist/cjs holds the CommonJS build inside a "type": "module" package: this
// nested package.json tells Node (and jest) to load its .js files as CommonJS.
import { mkdirSync, writeFileSync } from 'node:fs';

mkdirSync('dist/cjs', { recursive: true });
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

/** Every allowed difference points at a section of docs/compat.md that exists. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ALLOWED_DIFFERENCES } from './allowed-differences.js';

const doc = readFileSync(new URL('../../docs/compat.md', import.meta.url), 'utf8');
const ids = new Set([...doc.matchAll(/\{#([a-z0-9-]+)\}/g)].map((m) => m[1]));

t.ok(ids.size > 0, 'docs/compat.md has section ids');
for (const d of ALLOWED_DIFFERENCES) t.ok(ids.has(d.compat), `${d.golden}: section #${d.compat} exists`);

/**
 * makeDirs: `mkdir -p` that ends, with the file system's error, where Node's recursive mkdir
 * loops forever (a directory under /proc).
 */
import t from 'tap';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirs } from '../src/make-dirs.js';

t.test('makes missing parents; an existing directory is fine', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'make-dirs-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const deep = join(base, 'a', 'b', 'c');
  makeDirs(deep);
  t.ok(statSync(deep).isDirectory());
  t.doesNotThrow(() => makeDirs(deep), 'again: nothing to do');
  writeFileSync(join(base, 'file'), '');
  t.throws(() => makeDirs(join(base, 'file')), /exists and is not a directory/);
  t.throws(() => makeDirs(join(base, 'file', 'sub')), { code: 'ENOTDIR' });
});

t.test('under /proc: an error at once, not a loop', { skip: process.platform !== 'linux' && 'Linux /proc only' }, async (t) => {
  t.throws(() => makeDirs('/proc/skydive-test/spill'), { code: 'ENOENT' });
});

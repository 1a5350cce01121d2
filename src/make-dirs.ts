/**
 * `mkdir -p` that always ends. Node's `mkdirSync(dir, { recursive: true })` loops forever where
 * mkdir answers ENOENT under a directory that exists (/proc, /sys): a `spill_dir` there hung the
 * analyzer's start-up instead of failing.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes `path` and its missing parents; throws the file system's error when one cannot be made. */
export function makeDirs(path: string): void {
  const full = resolve(path);
  try {
    mkdirSync(full);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!statSync(full).isDirectory()) throw new Error(`${full} exists and is not a directory`);
      return;
    }
    if (code !== 'ENOENT' || dirname(full) === full) throw err;
  }
  // A parent is missing (or the file system refuses this name): make the parents, then try once more.
  makeDirs(dirname(full));
  mkdirSync(full);
}

/**
 * Where the package's own files are, whether its code runs compiled (dist/src/...) or from the
 * TypeScript sources (src/..., as the tests run it).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding package.json beside assembly/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'assembly'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('skydive-ts: cannot find the project root (package.json beside assembly/)');
}

/**
 * The compiled JavaScript of `src/<path>` (a worker thread's script: threads run compiled code,
 * also when their parent runs from the sources).
 */
export function compiledScript(path: string): string {
  const file = join(projectRoot(), 'dist', 'src', path);
  if (!existsSync(file)) throw new Error(`skydive-ts: ${join('dist', 'src', path)} is missing; run "npm run build" first`);
  return file;
}

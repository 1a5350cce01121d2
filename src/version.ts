/** skydive-ts' version: the one of package.json (found above this file, in src/ or dist/src/). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let version: string | undefined;

export function packageVersion(): string {
  if (version === undefined) {
    version = '0.0.0';
    let dir = path.dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 5; i++) {
      const file = path.join(dir, 'package.json');
      if (existsSync(file)) {
        version = String((JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? version);
        break;
      }
      dir = path.dirname(dir);
    }
  }
  return version;
}

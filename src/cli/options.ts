/**
 * A small command-line option reader shared by the analyzer, allinone and client commands:
 * `--name value`, `--name=value`, `-c FILE`, flags, and positional arguments. Unknown options
 * and missing values are UsageErrors carrying the command's usage text.
 */
import { existsSync } from 'node:fs';
import { UsageError } from './errors.js';

export interface OptionSpec {
  /** Options that take a value, with their aliases (e.g. ['-c', '--conf']). */
  values: Record<string, readonly string[]>;
  /** Options without a value. */
  flags?: Record<string, readonly string[]>;
  /** Options that may be given several times (collected in order). */
  repeatable?: readonly string[];
}

export interface ParsedOptions {
  values: Record<string, string[]>;
  flags: Set<string>;
  positional: string[];
}

export function parseOptions(argv: readonly string[], spec: OptionSpec, usage: string): ParsedOptions {
  const byAlias = new Map<string, { name: string; takesValue: boolean }>();
  for (const [name, aliases] of Object.entries(spec.values)) for (const a of aliases) byAlias.set(a, { name, takesValue: true });
  for (const [name, aliases] of Object.entries(spec.flags ?? {})) for (const a of aliases) byAlias.set(a, { name, takesValue: false });
  const out: ParsedOptions = { values: {}, flags: new Set(), positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { out.positional.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith('-') || arg === '-') { out.positional.push(arg); continue; }
    const eq = arg.indexOf('=');
    const opt = eq > 0 ? arg.slice(0, eq) : arg;
    const found = byAlias.get(opt);
    if (!found) throw new UsageError(`unknown option ${opt}\n${usage}`);
    if (!found.takesValue) {
      if (eq > 0) throw new UsageError(`${opt} takes no value\n${usage}`);
      out.flags.add(found.name);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${opt} needs a value\n${usage}`);
    const list = (out.values[found.name] ??= []);
    if (list.length > 0 && !spec.repeatable?.includes(found.name)) throw new UsageError(`${opt} given twice\n${usage}`);
    list.push(value);
  }
  return out;
}

/** The configuration files: those given with -c, else /etc/skydive/skydive.yml when it exists. */
export function configFiles(given: readonly string[] | undefined): string[] {
  if (given && given.length > 0) return [...given];
  return existsSync('/etc/skydive/skydive.yml') ? ['/etc/skydive/skydive.yml'] : [];
}

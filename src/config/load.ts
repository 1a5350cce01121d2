/**
 * Configuration as Skydive reads it: YAML files given with -c (merged in
 * order, later ones win; `-` is stdin), then SKYDIVE_* environment
 * variables (`SKYDIVE_` + the key upper-cased, `.` and `-` as `_`), over the
 * defaults of keys.ts. Every value is checked against its type: a wrong type,
 * a value out of range or an unknown key is a ConfigError naming the key and
 * where it came from; keys of Skydive features skydive-ts does not implement
 * (keys.ts, UNUSED_SKYDIVE_KEYS) are reported as warnings and ignored. A null
 * value, or a section left empty, is unset, as in Skydive (Viper).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { KEYS, UNUSED_SKYDIVE_KEYS, type KeyType } from './keys.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface Config {
  /** Value of a key of keys.ts (its default when unset). */
  get<T = unknown>(key: string): T;
  /** Keys that were ignored, with why (print them at start-up). */
  readonly warnings: string[];
}

type Tree = Record<string, unknown>;

const isObject = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Flattens a YAML tree into dotted keys. A key of KEYS takes its value whole,
 * whatever its shape (check() says when the shape is wrong); a mapping under
 * any other name is walked, and an empty one is kept as it is, for its name to
 * be checked.
 */
function flatten(tree: Tree, prefix: string, out: Map<string, unknown>): void {
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (!KEYS[key] && isObject(v) && Object.keys(v).length > 0) flatten(v, key, out);
    else out.set(key, v);
  }
}

/** Every section (proper dotted prefix) of `keys`. */
function sectionsOf(keys: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const key of keys) for (let i = key.indexOf('.'); i > 0; i = key.indexOf('.', i + 1)) out.add(key.slice(0, i));
  return out;
}

/** Sections holding keys skydive-ts reads. */
const READ_SECTIONS = sectionsOf(Object.keys(KEYS));
const UNUSED_NAMES = UNUSED_SKYDIVE_KEYS.filter((e) => !e.endsWith('.*'));
/** Every name a file may use: keys, their sections, unused Skydive keys and theirs (for "did you mean"). */
const KNOWN_NAMES = [...Object.keys(KEYS), ...READ_SECTIONS, ...UNUSED_NAMES, ...sectionsOf(UNUSED_NAMES)];
const KNOWN_SECTIONS = new Set([...READ_SECTIONS, ...sectionsOf(UNUSED_NAMES)]);

/**
 * How UNUSED_SKYDIVE_KEYS covers `key`: 'listed' (by a key or section), 'any' (by a
 * `P.*` entry: a section under P that skydive-ts does not read), or undefined.
 */
function unused(key: string): 'listed' | 'any' | undefined {
  for (const e of UNUSED_SKYDIVE_KEYS) {
    if (e.endsWith('.*')) {
      const parent = e.slice(0, -1);
      if (!key.startsWith(parent)) continue;
      const section = parent + key.slice(parent.length).split('.')[0];
      if (!KEYS[section] && !READ_SECTIONS.has(section)) return 'any';
    } else if (key === e || key.startsWith(e + '.')) {
      return 'listed';
    }
  }
  return undefined;
}

/** The env variable name of a key. */
export function envName(key: string): string {
  return 'SKYDIVE_' + key.toUpperCase().replace(/[.-]/g, '_');
}

function typeName(t: KeyType): string {
  switch (t.kind) {
    case 'string': return t.choices ? `one of ${t.choices.join(', ')}` : 'a string';
    case 'number': return `${t.integer ? 'an integer' : 'a number'}${t.min !== undefined ? ` >= ${t.min}` : ''}${t.max !== undefined ? ` and <= ${t.max}` : ''}`;
    case 'boolean': return 'true or false';
    case 'string[]': return 'a list of strings';
    case 'map': return `a mapping of ${t.values}s`;
    case 'list': return 'a list of mappings';
  }
}

/**
 * Checks (and, for values from the environment, converts) `value` for a key
 * of type `t`. Returns the value to keep or throws a ConfigError.
 */
function check(where: string, key: string, t: KeyType, value: unknown, fromEnv: boolean): unknown {
  const bad = (why = `must be ${typeName(t)}`): never => {
    throw new ConfigError(`${where}: ${key} ${why}, got ${JSON.stringify(value)}`);
  };
  switch (t.kind) {
    case 'string': {
      const v = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
      if (typeof v !== 'string') bad();
      if (t.choices && !t.choices.includes(v as string)) bad();
      return v;
    }
    case 'number': {
      const v = fromEnv && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof v !== 'number' || !Number.isFinite(v)) bad();
      const n = v as number;
      if ((t.integer && !Number.isInteger(n)) || (t.min !== undefined && n < t.min) || (t.max !== undefined && n > t.max)) bad();
      return n;
    }
    case 'boolean': {
      if (fromEnv && typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      if (typeof value !== 'boolean') bad();
      return value;
    }
    case 'string[]': {
      // Like Viper: an environment value is split on spaces (and commas).
      const v = fromEnv && typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : typeof value === 'string' ? [value] : value;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' || typeof x === 'number')) bad();
      return (v as unknown[]).map(String);
    }
    case 'map': {
      if (fromEnv) bad('cannot be set from the environment (use a file)');
      if (!isObject(value)) bad();
      for (const [k, v] of Object.entries(value as Tree)) check(where, `${key}.${k}`, t.values === 'string' ? { kind: 'string' } : { kind: 'number', min: 0 }, v, false);
      return value;
    }
    case 'list': {
      if (fromEnv) bad('cannot be set from the environment (use a file)');
      if (!Array.isArray(value)) bad();
      return (value as unknown[]).map((item, i) => {
        const at = `${key}[${i}]`;
        if (!isObject(item)) throw new ConfigError(`${where}: ${at} must be a mapping, got ${JSON.stringify(item)}`);
        // null is unset here too (`bpf:` left empty), as for any key.
        for (const r of t.required ?? []) if (item[r] === undefined || item[r] === null) throw new ConfigError(`${where}: ${at} needs "${r}"`);
        const out: Tree = {};
        for (const [k, v] of Object.entries(item)) {
          if (v === null) continue;
          const sub = t.item[k];
          if (!sub) throw new ConfigError(`${where}: ${at}: unknown key "${k}"${suggest(k, Object.keys(t.item))} (known: ${Object.keys(t.item).join(', ')})`);
          out[k] = check(where, `${at}.${k}`, sub, v, false);
        }
        return out;
      });
    }
  }
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

function suggest(key: string, known: string[]): string {
  let best = '', bestD = Infinity;
  for (const k of known) {
    const dd = distance(key, k);
    if (dd < bestD) { best = k; bestD = dd; }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

export interface LoadOptions {
  /** Files given with -c, in order; `-` reads stdin. */
  files: string[];
  env?: NodeJS.ProcessEnv;
  /** Reads a file (tests); default readFileSync, stdin for `-`. */
  read?: (file: string) => string;
}

export function loadConfig(opts: LoadOptions): Config {
  const values = new Map<string, unknown>();
  const warnings: string[] = [];
  const read = opts.read ?? ((f: string) => readFileSync(f === '-' ? 0 : f, 'utf8'));
  for (const file of opts.files) {
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      throw new ConfigError(`cannot read configuration ${file}: ${(err as Error).message}`);
    }
    const doc = parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) throw new ConfigError(`${file}: ${doc.errors[0].message}`);
    const tree = doc.toJS() as unknown;
    if (tree === null || tree === undefined) continue;
    if (!isObject(tree)) throw new ConfigError(`${file}: the configuration must be a YAML mapping`);
    const flat = new Map<string, unknown>();
    flatten(tree, '', flat);
    for (const [key, value] of flat) {
      // As Viper, null is unset: the default applies. That is what `analyzers:` with every
      // entry commented out (a standalone agent) or a section with only comments leaves.
      const unset = value === null || (isObject(value) && Object.keys(value).length === 0);
      const spec = KEYS[key];
      if (spec) {
        if (value !== null) values.set(key, check(file, key, spec.type, value, false));
        continue;
      }
      const how = unused(key);
      if (how) {
        // A section left empty sets nothing: nothing to report.
        if (!unset) warnings.push(`${file}: ${key} is a Skydive setting skydive-ts does not use${how === 'any' ? suggest(key, Object.keys(KEYS)) : ''}; ignored`);
        continue;
      }
      if (KNOWN_SECTIONS.has(key)) {
        if (unset) continue;
        const under = (names: string[]) => [...new Set(names.filter((n) => n.startsWith(key + '.')).map((n) => n.slice(key.length + 1).split('.')[0]))];
        const inside = under(Object.keys(KEYS)).length > 0 ? under(Object.keys(KEYS)) : under(KNOWN_NAMES);
        throw new ConfigError(`${file}: ${key} must be a mapping (the section of ${inside.join(', ')}), got ${JSON.stringify(value)}`);
      }
      throw new ConfigError(`${file}: unknown key ${key}${suggest(key, KNOWN_NAMES)}`);
    }
  }
  const env = opts.env ?? process.env;
  const byEnv = new Map(Object.keys(KEYS).map((k) => [envName(k), k]));
  for (const [name, value] of Object.entries(env)) {
    // SKYDIVE_DEBUG is the executable's own (stack traces, src/cli.ts), not a setting.
    if (!name.startsWith('SKYDIVE_') || value === undefined || name === 'SKYDIVE_DEBUG') continue;
    const key = byEnv.get(name);
    if (key) values.set(key, check(`environment ${name}`, key, KEYS[key].type, value, true));
    else warnings.push(`environment ${name} is not a setting skydive-ts knows; ignored`);
  }
  return {
    warnings,
    get<T>(key: string): T {
      const spec = KEYS[key];
      if (!spec) throw new Error(`config: ${key} is not declared in src/config/keys.ts`);
      return (values.has(key) ? values.get(key) : spec.default) as T;
    },
  };
}

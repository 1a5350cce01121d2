/**
 * Skydive's global flags (skydive-api.md §1.1). They are cobra persistent flags in Skydive,
 * accepted before the command and after it, so `--verbose` and `-b/--config-backend` are
 * taken wherever they stand (up to `--`). `-c/--conf` before the command is handed to the
 * command, which reads its configuration files itself.
 */
import { UsageError } from './errors.js';

export interface GlobalArgs {
  /** undefined when no command was given. */
  command?: string;
  /** The command's own arguments, without the global flags. */
  args: string[];
  /** --verbose: debug output (see the usage text in cli.ts). */
  verbose: boolean;
}

/** Where a flag's value is: after `=`, else the next argument. */
function valueOf(argv: readonly string[], i: number, flag: string): [string, number] {
  const arg = argv[i];
  if (arg.startsWith(flag + '=')) return [arg.slice(flag.length + 1), i];
  const v = argv[i + 1];
  if (v === undefined) throw new UsageError(`${flag} needs a value`);
  return [v, i + 1];
}

/**
 * Skydive reads its configuration from files or from etcd; skydive-ts from files only, so
 * `-b file` (the default) is accepted and `-b etcd` refused rather than silently reading
 * the files instead.
 */
function checkBackend(value: string): void {
  if (value === 'file') return;
  if (value === 'etcd') {
    throw new UsageError('--config-backend etcd is not supported: skydive-ts reads its configuration from files (-c FILE) and SKYDIVE_* variables only');
  }
  throw new UsageError(`--config-backend must be file or etcd, got ${JSON.stringify(value)}`);
}

export function parseGlobalArgs(argv: readonly string[]): GlobalArgs {
  let command: string | undefined;
  let verbose = false;
  const conf: string[] = [];
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const flag = arg.startsWith('--') ? arg.split('=')[0] : arg;
    if (flag === '--verbose') {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : 'true';
      if (v !== 'true' && v !== 'false') throw new UsageError(`--verbose takes true or false, got ${JSON.stringify(v)}`);
      verbose = v === 'true';
    } else if (flag === '-b' || flag === '--config-backend' || arg.startsWith('-b=')) {
      const [v, next] = valueOf(argv, i, arg.startsWith('-b') ? '-b' : '--config-backend');
      checkBackend(v);
      i = next;
    } else if (command !== undefined) {
      args.push(arg);
    } else if (flag === '-c' || flag === '--conf' || arg.startsWith('-c=')) {
      const [v, next] = valueOf(argv, i, arg.startsWith('-c') ? '-c' : '--conf');
      conf.push('-c', v);
      i = next;
    } else if (arg === '-h' || arg === '--help') {
      command = 'help';
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${flag} (before the command)`);
    } else {
      command = arg;
    }
  }
  return { command, args: [...conf, ...args], verbose };
}

/** A command's configuration: files then SKYDIVE_* variables; a bad file or value is a UsageError naming it. */
import { ConfigError, loadConfig, type Config } from '../config/load.js';
import { UsageError } from './errors.js';

export function loadCommandConfig(files: string[], env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig({ files, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

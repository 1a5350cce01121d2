/**
 * Measuring one process: wall time from here (spawn to exit), CPU time and peak RSS from
 * GNU time (`/usr/bin/time -f`), which reports them for the command and its children.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface ProcessSample {
  wallSeconds: number;
  /** user + sys, from GNU time (undefined without it). */
  cpuSeconds?: number;
  maxRssMB?: number;
  exitCode: number;
  /** stdout when captured, else ''. */
  stdout: string;
  stderr: string;
}

/** Whether `cmd` is on the PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * The environment of a timed process: this one's without NODE_EXTRA_CA_CERTS. Node reads and
 * parses every certificate that names at startup, before any code of the tool runs: 40 ms of
 * a 60 ms start where it named the system's 144 roots. No measured tool makes a TLS
 * connection, and a peer written in C pays nothing alike.
 */
function timedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * Runs `argv` under GNU time, in timedEnv(), and waits for it. stdout goes to /dev/null unless
 * `captureStdout`; stderr is kept (its end) for error notes.
 */
export async function timeProcess(argv: string[], opts: { captureStdout?: boolean; cwd?: string } = {}): Promise<ProcessSample> {
  const withTime = existsSync(GNU_TIME);
  const dir = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const timeFile = join(dir, 'time');
  const full = withTime ? [GNU_TIME, '-f', '%U %S %M', '-o', timeFile, '--', ...argv] : argv;
  const devNull = openSync('/dev/null', 'w');
  try {
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), { cwd: opts.cwd, env: timedEnv(), stdio: ['ignore', opts.captureStdout ? 'pipe' : devNull, 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4000); });
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const sample: ProcessSample = { wallSeconds, exitCode, stdout, stderr };
    if (withTime && existsSync(timeFile)) {
      // GNU time prefixes "Command exited with non-zero status N" when the command fails.
      const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
      const [user, sys, rssKB] = last.split(' ').map(Number);
      if ([user, sys, rssKB].every(Number.isFinite)) {
        sample.cpuSeconds = Math.round((user + sys) * 100) / 100;
        sample.maxRssMB = rssKB / 1024;
      }
    }
    return sample;
  } finally {
    closeSync(devNull);
    rmSync(dir, { recursive: true, force: true });
  }
}

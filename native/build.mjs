/**
 * Builds the pcapbatch addon (native/build/Release/pcapbatch.node: pcapbatch.c, live capture;
 * pcapread.c, pcap file chunks; pcapshard.c, pcap file records dealt out to flow tables;
 * udprecv.c, the analyzer's flow UDP socket) with node-gyp.
 *
 * node-gyp needs the headers of the Node that will load the addon. Debian's nodejs package
 * installs them beside the binary (/usr/include/node), so they are used from there when
 * present: nothing is downloaded. Otherwise node-gyp's own lookup applies (npm's nodedir setting,
 * or its download cache). libpcap's headers come from Debian's libpcap-dev.
 *
 * Nothing is done when the addon is newer than its sources (`--force` rebuilds anyway), so
 * `npm run build` stays quick and concurrent builds in one tree do not collide.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fail = (msg) => { console.error(`build:native: ${msg}`); process.exit(1); };

const addon = join(here, 'build', 'Release', 'pcapbatch.node');
const mtime = (f) => statSync(f).mtimeMs;
if (!process.argv.includes('--force') && existsSync(addon) &&
    ['pcapbatch.c', 'pcapread.c', 'pcapshard.c', 'udprecv.c', 'napi-helpers.h', 'binding.gyp', 'build.mjs'].every((f) => mtime(join(here, f)) < mtime(addon))) {
  process.exit(0);
}
if (!existsSync('/usr/include/pcap/pcap.h')) {
  fail('libpcap headers are missing: install them with `apt-get install libpcap-dev build-essential`');
}
let gyp;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  fail('node-gyp is not installed: run `npm install` first');
}
const args = [gyp, 'rebuild', '--directory', here];
const prefix = dirname(dirname(process.execPath));
// The headers beside the running node are the right ones by definition (this beats nodedir).
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) fail('node-gyp failed (see above); the addon needs libpcap-dev, build-essential and python3');

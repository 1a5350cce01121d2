/**
 * The interface of the IPv4 default route, read from /proc/net/route (Linux): the route with
 * destination and mask 0.0.0.0 that is up, the one of lowest metric when there are several.
 * What `skydive allinone` captures when the configuration lists no capture.
 */
import { readFileSync } from 'node:fs';

const RTF_UP = 0x1;

/** Parses the text of /proc/net/route; undefined when there is no default route. */
export function defaultRouteInterface(routeTable: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of routeTable.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const [iface, destination, , flags, , , metric, mask] = cols;
    if (destination !== '00000000' || mask !== '00000000' || (parseInt(flags, 16) & RTF_UP) === 0) continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface;
}

/** The default route's interface on this host, or undefined (none, or not Linux). */
export function hostDefaultInterface(file = '/proc/net/route'): string | undefined {
  try {
    return defaultRouteInterface(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

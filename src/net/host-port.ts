/**
 * `host:port` addresses as Skydive's configuration writes them (`analyzer.listen`, the
 * `analyzers` list, `--analyzer`): an IPv4 address or a name, or an IPv6 address in brackets
 * (`[::1]:8082`). A bare port (`:8082` or `8082`) means every address of the host, as in
 * Skydive's listen addresses.
 */

export interface HostPort {
  host: string;
  port: number;
}

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

/** Parses `text`; `defaultHost` fills a missing host. Throws AddressError with what is wrong. */
export function parseHostPort(text: string, defaultHost = '0.0.0.0'): HostPort {
  const t = text.trim();
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(t);
  if (v6) {
    host = v6[1];
    portText = v6[2] ?? '';
  } else if (/^\d+$/.test(t)) {
    host = '';
    portText = t;
  } else {
    const colon = t.lastIndexOf(':');
    if (colon < 0 || t.indexOf(':') !== colon) {
      throw new AddressError(`"${text}" is not host:port (an IPv6 address goes in brackets: [::1]:8082)`);
    }
    host = t.slice(0, colon);
    portText = t.slice(colon + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new AddressError(`"${text}": the port must be a number between 1 and 65535`);
  }
  return { host: host === '' ? defaultHost : host, port };
}

/** `host:port` back as text, IPv6 in brackets. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address a local client dials to reach a server listening on `listen` (0.0.0.0 -> 127.0.0.1). */
export function dialable(listen: HostPort): HostPort {
  if (listen.host === '0.0.0.0' || listen.host === '') return { host: '127.0.0.1', port: listen.port };
  if (listen.host === '::') return { host: '::1', port: listen.port };
  return listen;
}

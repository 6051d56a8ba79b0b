import dns from 'node:dns';
import net from 'node:net';

const loopback = (host: string) => host === 'localhost' || /^127\./.test(host) || host === '::1';

/**
 * Refuses every socket connect outside loopback (reporting it) and answers DNS from a table. For test
 * processes only: the vitest process calls it directly, host processes through the `network-guard` preload.
 */
export function installNetworkGuard(options: {
  answers: Record<string, string[]>;
  onViolation: (target: string) => void;
}): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the socket as `this`
  const connect = net.Socket.prototype.connect as (this: net.Socket, ...args: unknown[]) => net.Socket;
  net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: unknown[]) {
    const [first, second] = args;
    const target =
      typeof first === 'object' && first !== null && !Array.isArray(first)
        ? (first as { host?: string; path?: string })
        : {
            host: typeof second === 'string' ? second : undefined,
            path: typeof first === 'string' ? first : undefined,
          };
    const host = 'path' in target && target.path && !target.host ? undefined : (target.host ?? 'localhost');
    if (host !== undefined && !loopback(host)) {
      options.onViolation(host);
      throw new Error(`Test network guard: refused a connection to ${host}.`);
    }
    return connect.apply(this, args);
  };

  const table = (hostname: string) => {
    const found = options.answers[hostname];
    return found?.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
  };
  const lookup = dns.promises.lookup;
  dns.promises.lookup = (async (hostname: string, ...rest: unknown[]) => {
    const answer = table(hostname);
    if (!answer) return (lookup as (...a: unknown[]) => Promise<unknown>)(hostname, ...rest);
    const wantsAll = typeof rest[0] === 'object' && rest[0] !== null && (rest[0] as { all?: boolean }).all;
    return wantsAll ? answer : answer[0];
  }) as typeof dns.promises.lookup;
}

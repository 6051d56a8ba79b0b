import { AsyncLocalStorage } from 'node:async_hooks';
import { isIP } from 'node:net';
import type { Principal } from '../auth/principal';

/**
 * Who is calling and from where, for the duration of one HTTP invocation. The HTTP wrapper opens it; services
 * deep below (the audit trail) read it, so recording who did something never needs the request threaded
 * through every signature. Outside a request (activities, timers) there is none.
 */
export interface RequestContext {
  correlationId: string;
  /** The caller's address as the platform's front end saw it; undefined when it cannot be told. */
  sourceIp: string | undefined;
  /** Set once the caller is authenticated. */
  principal?: Principal;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runInRequestContext<T>(context: RequestContext, work: () => Promise<T>): Promise<T> {
  return storage.run(context, work);
}

export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * The client address from `x-forwarded-for`. Azure's front ends append the address they saw to whatever the
 * client sent, so the last entry is the one to trust (App Service adds `:port` to IPv4 addresses).
 */
export function sourceIpOf(forwardedFor: string | null | undefined): string | undefined {
  const last = forwardedFor?.split(',').at(-1)?.trim();
  if (!last) return undefined;
  const candidates = [last, last.replace(/^\[(.*)\](?::\d+)?$/, '$1'), last.replace(/:\d+$/, '')];
  return candidates.find((candidate) => isIP(candidate) !== 0);
}

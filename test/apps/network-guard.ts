/**
 * Preloaded into a test's host process (`NODE_OPTIONS=--require .../network-guard.js`): the suite must send
 * no traffic beyond loopback, so every socket connect to another address is refused and written to
 * `TEST_NETWORK_VIOLATIONS` (the test asserts the file stays empty); and DNS answers come from
 * `TEST_DNS_ANSWERS` (`{"name": ["address", ...]}`), so a test can make a name resolve to a private address
 * without any resolver being asked.
 */
import { appendFileSync } from 'node:fs';
import { installNetworkGuard } from './network-guard-core';

const answers = JSON.parse(process.env.TEST_DNS_ANSWERS ?? '{}') as Record<string, string[]>;
const violations = process.env.TEST_NETWORK_VIOLATIONS;

installNetworkGuard({
  answers,
  onViolation: (target) => {
    if (violations) appendFileSync(violations, `${target}\n`);
  },
});

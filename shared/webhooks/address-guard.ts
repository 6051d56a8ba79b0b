import ipaddr from 'ipaddr.js';

/**
 * Which addresses a webhook may reach. Only globally routable unicast addresses: loopback, private (RFC 1918),
 * link-local (169.254.0.0/16, with the cloud metadata address 169.254.169.254; fe80::/10), unique-local
 * (fc00::/7, with AWS's fd00:ec2::254), carrier-grade NAT (100.64.0.0/10), multicast, reserved and
 * unspecified ranges are refused, and so are IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:a.b.c.d
 * is judged as the IPv4 address it maps; NAT64, 6to4 and Teredo are refused outright) — `ipaddr.js` names
 * every range, and anything it does not call `unicast` is refused.
 */
export class AddressGuard {
  private readonly allowed: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  /** `allowedCidrs`: exceptions an operator trusts (an internal receiver; `127.0.0.1/32` for a local one). */
  constructor(allowedCidrs: readonly string[] = []) {
    this.allowed = allowedCidrs.map((cidr) => ipaddr.parseCIDR(cidr));
  }

  /** Parses `WEBHOOK_ALLOWED_CIDRS`; throws on an entry that is not a CIDR. */
  static fromSetting(setting: string): AddressGuard {
    return new AddressGuard(
      setting
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ''),
    );
  }

  /** Why `address` may not be reached, or undefined when it may. */
  refusal(address: string): string | undefined {
    if (!ipaddr.isValid(address)) return 'not an IP address';
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
      parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    }
    const exempt = this.allowed.some(
      ([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits),
    );
    if (exempt) return undefined;
    const range = parsed.range();
    if (range !== 'unicast') return `${range} address`;
    // `::a.b.c.d` (IPv4-compatible, deprecated) is not a range ipaddr.js names, but it is no public address.
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)) {
      return 'IPv4-compatible address';
    }
    return undefined;
  }
}

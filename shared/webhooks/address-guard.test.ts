import { describe, expect, it } from 'vitest';
import { AddressGuard } from './address-guard';

describe('webhook address guard', () => {
  const guard = new AddressGuard();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.7', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'linkLocal'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['fc00::5', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::127.0.0.1', 'address'],
    ['::7f00:1', 'IPv4-compatible'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:a00:1::1', '6to4'],
  ])('refuses %s (%s)', (address, range) => {
    expect(guard.refusal(address)).toContain(range);
  });

  it.each(['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:93.184.216.34'])(
    'allows the public address %s',
    (address) => {
      expect(guard.refusal(address)).toBeUndefined();
    },
  );

  it('refuses what is not an address at all', () => {
    expect(guard.refusal('hooks.example.com')).toBe('not an IP address');
  });

  it('allows exactly the ranges an operator exempts, and nothing next to them', () => {
    const exempting = AddressGuard.fromSetting(' 127.0.0.1/32, 10.20.0.0/16 ');
    expect(exempting.refusal('127.0.0.1')).toBeUndefined();
    expect(exempting.refusal('::ffff:127.0.0.1')).toBeUndefined();
    expect(exempting.refusal('10.20.3.4')).toBeUndefined();
    expect(exempting.refusal('127.0.0.2')).toContain('loopback');
    expect(exempting.refusal('10.21.0.1')).toContain('private');
    expect(exempting.refusal('169.254.169.254')).toContain('linkLocal');
  });
});

import { describe, expect, it } from 'vitest';
import { blockedAddressRange, ipv6Bytes } from '@/lib/x402/address-policy';

// Pure checks: no lookup, no socket. Every refused range, its edges, and public neighbours.
const refused: Array<[string, string]> = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['168.63.129.16', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['255.255.255.255', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.10', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456::1', 'unique-local'],
  ['fd00:ec2::254', 'metadata'],
  ['ff02::1', 'multicast'],
  ['ff05::2', 'multicast'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:100.64.1.1', 'cgnat'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::192.168.0.1', 'private'],
  ['2002:7f00:1::', 'loopback'],
  ['2002:a9fe:a9fe::1', 'metadata'],
  ['::127.0.0.1', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['2001:0:4136:e378::1', 'reserved'],
  ['fec0::1', 'reserved'],
  ['localhost', 'not-an-ip'],
  ['', 'not-an-ip'],
];

const allowed = [
  '8.8.8.8',
  '1.1.1.1',
  '9.255.255.255', // just below 10/8
  '11.0.0.0',
  '172.15.255.255', // just outside 172.16/12
  '172.32.0.0',
  '192.167.255.255',
  '192.169.0.0',
  '100.63.255.255', // just outside 100.64/10
  '100.128.0.0',
  '169.253.255.255',
  '223.255.255.255', // just below multicast
  '2606:4700:4700::1111',
  '2a00:1450:4001:82a::200e',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
  'fbff:ffff::1', // just below fc00::/7
  'fec0::1'.replace('fec0', 'fe7f'), // just below fe80::/10
];

describe('blockedAddressRange', () => {
  it.each(refused)('refuses %s (%s)', (address, range) => {
    expect(blockedAddressRange(address)).toBe(range);
  });

  it.each(allowed)('allows %s', (address) => {
    expect(blockedAddressRange(address)).toBeUndefined();
  });
});

describe('ipv6Bytes', () => {
  it('expands compressed forms and dotted tails', () => {
    expect(ipv6Bytes('::1')).toEqual([...new Array(15).fill(0), 1]);
    expect(ipv6Bytes('::ffff:1.2.3.4')).toEqual([...new Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4]);
    expect(ipv6Bytes('1:2:3:4:5:6:7:8')).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    expect(ipv6Bytes('fe80::')).toEqual([0xfe, 0x80, ...new Array(14).fill(0)]);
    expect(ipv6Bytes('1.2.3.4')).toBeUndefined();
  });
});

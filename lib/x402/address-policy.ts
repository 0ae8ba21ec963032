import { isIP } from 'node:net';

// Which IP addresses AgentMint's server may connect to when it fetches a URL a user gave it.
// Pure (no DNS, no sockets) so every range is unit-tested without opening a connection.

export type BlockedRange =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'unspecified'
  | 'metadata'
  | 'unique-local'
  | 'reserved'
  | 'not-an-ip';

function stripBrackets(address: string) {
  return address.replace(/^\[|\]$/g, '').split('%')[0] ?? '';
}

type Rule = { prefix: number[]; bits: number; range: BlockedRange };

const v4 = (cidr: string, range: BlockedRange): Rule => {
  const [ip = '', bits] = cidr.split('/');
  return { prefix: ip.split('.').map(Number), bits: Number(bits), range };
};
const v6 = (cidr: string, range: BlockedRange): Rule => {
  const [ip = '', bits] = cidr.split('/');
  return { prefix: ipv6Bytes(ip)!, bits: Number(bits), range };
};

// Most specific first: the first match names the reason.
const IPV4_RULES: Rule[] = [
  v4('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OCI instance metadata
  v4('168.63.129.16/32', 'metadata'), // Azure wire server (a public address)
  v4('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'), // IETF protocol assignments
  v4('192.0.2.0/24', 'reserved'), // documentation
  v4('192.88.99.0/24', 'reserved'), // 6to4 relay anycast
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'reserved'), // benchmarking
  v4('198.51.100.0/24', 'reserved'),
  v4('203.0.113.0/24', 'reserved'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'), // includes 255.255.255.255
];

const IPV6_RULES: Rule[] = [
  v6('fd00:ec2::254/128', 'metadata'), // AWS instance metadata over IPv6
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('::/96', 'reserved'), // deprecated IPv4-compatible addresses
  v6('64:ff9b:1::/48', 'reserved'), // local-use NAT64
  v6('100::/64', 'reserved'), // discard-only
  v6('2001::/32', 'reserved'), // Teredo: tunnels to an IPv4 address we cannot see
  v6('2001:db8::/32', 'reserved'), // documentation
  v6('fc00::/7', 'unique-local'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'reserved'), // deprecated site-local
  v6('ff00::/8', 'multicast'),
];

function matches(bytes: number[], rule: Rule): boolean {
  let bits = rule.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((rule.prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** 16 bytes of an IPv6 address (zone id ignored, dotted IPv4 tail allowed), or undefined. */
export function ipv6Bytes(address: string): number[] | undefined {
  const ip = stripBrackets(address);
  if (isIP(ip) !== 6) return undefined;
  let groups = ip;
  const tail: number[] = [];
  const dotted = ip.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted?.[1] && dotted[2]) {
    groups = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
    tail.push(...dotted[2].split('.').map(Number));
  }
  const [head, rest] = groups.split('::');
  const parse = (s: string | undefined) =>
    s
      ? s
          .split(':')
          .filter(Boolean)
          .flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])
      : [];
  const front = parse(head);
  const back = [...parse(rest), ...tail];
  const zeros = rest === undefined ? [] : new Array(16 - front.length - back.length).fill(0);
  const bytes = [...front, ...zeros, ...back];
  return bytes.length === 16 ? bytes : undefined;
}

function blockedIpv4(bytes: number[]): BlockedRange | undefined {
  return IPV4_RULES.find((rule) => matches(bytes, rule))?.range;
}

/**
 * Why a connection to `address` (an IP literal, v4 or v6) is refused, or undefined when it may
 * be reached. IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64
 * `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address they lead to.
 */
export function blockedAddressRange(address: string): BlockedRange | undefined {
  const ip = stripBrackets(address);
  const family = isIP(ip);
  if (family === 4) return blockedIpv4(ip.split('.').map(Number));
  if (family !== 6) return 'not-an-ip';
  const bytes = ipv6Bytes(ip)!;
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  const isNat64 = matches(bytes, v6('64:ff9b::/96', 'reserved'));
  if (isMapped || isNat64) return blockedIpv4(bytes.slice(12));
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return blockedIpv4(bytes.slice(2, 6));
  return IPV6_RULES.find((rule) => matches(bytes, rule))?.range;
}

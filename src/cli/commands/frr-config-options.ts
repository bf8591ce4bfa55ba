// frr-config's options and help, apart from the command: the dispatcher reads them for every command, and loading
// the renderer for that would slow every CLI start.
// Merged into the dispatcher's parseArgs options, so the option list lives with the command.
export const frrConfigOptions = {
  style: { type: 'string' },
  protocol: { type: 'string' },
  profile: { type: 'string' },
  out: { type: 'string' },
  hostname: { type: 'string' },
  'router-id': { type: 'string' },
  area: { type: 'string' },
  interface: { type: 'string', multiple: true },
  asn: { type: 'string' },
  neighbor: { type: 'string', multiple: true },
} as const;

export interface FrrConfigValues {
  style?: string;
  protocol?: string;
  profile?: string;
  out?: string;
  hostname?: string;
  'router-id'?: string;
  area?: string;
  interface?: string[];
  asn?: string;
  neighbor?: string[];
}

export const FRR_CONFIG_HELP = `  healthcast frr-config [--config FILE] [--style split|integrated] [--protocol ospf|bgp]
                       [--profile default|fast] [--out DIR] [--router-id ID] [--area AREA]
                       [--interface NAME[=point-to-point|broadcast]]... [--asn ASN] [--neighbor ADDRESS=ASN]...
                       [--hostname NAME]
                                                      print (or write to DIR) the FRR config that announces exactly
                                                      the service addresses; flags override the frr: section; files
                                                      in DIR are frr:frr 0640 when run as root and the frr user exists;
                                                      --profile fast adds BFD (bfdd.conf in split style; frr.bfd)`;

// The `frr:` section of the main config: how to reach FRR, and what `healthcast frr-config` renders.
import { z } from 'zod';

export const frrSchema = z.strictObject({
  vtysh: z.string().min(1).default('/usr/bin/vtysh'),
  vty_socket: z.string().min(1).optional(),
});

export type FrrSection = z.output<typeof frrSchema>;

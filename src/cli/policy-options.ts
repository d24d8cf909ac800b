/** Enforcement policy flags (placeholder until the enforcer lands). */
import { Command } from 'commander';

export interface PolicyFlags {
  config?: string;
}

export function addPolicyOptions(cmd: Command): Command {
  return cmd;
}

/**
 * Enforcement flags for analyze and replay: the same --config, --allow, --block-ttl, caps and
 * --route-type as live (src/enforce/config.ts defines them), so a replay judges a capture under
 * exactly the policy live would apply. The detection --threshold comes from
 * detection-options.ts; a config file's "threshold" applies when the flag is not given.
 */
import { Command } from 'commander';
import { addEnforceOptions, CliEnforceOptions } from '../enforce/config';

export type PolicyFlags = CliEnforceOptions;

export function addPolicyOptions(cmd: Command): Command {
  return addEnforceOptions(cmd);
}

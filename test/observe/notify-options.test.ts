/**
 * live's notification flags as a user meets them: a mistake is one line on stderr naming the
 * option, exit 2, before any capture is opened (the interface here need not even exist).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasStackTrace, runCli } from '../support/cli';

const LIVE = ['live', '-i', 'sw-no-such-if0', '--dry-run'];

describe('live notification options', () => {
  for (const [args, message] of [
    [['--on-block', '/nonexistent/ban.sh'], /^synwatch: --on-block: '\/nonexistent\/ban.sh' is not an executable file/],
    [['--on-block', 'no-such-command-sw'], /^synwatch: --on-block: 'no-such-command-sw' is not an executable found in PATH/],
    [['--on-block', '/bin/true --flag'], /^synwatch: --on-block: '\/bin\/true --flag' is not an executable file .*no arguments/],
    [['--on-block-timeout', '3'], /^synwatch: --on-block-timeout and --on-block-concurrency need --on-block CMD/],
    [['--on-block', '/bin/true', '--on-block-concurrency', '0'], /--on-block-concurrency takes a whole number from 1 to 256, got '0'/],
    [['--on-block', '/bin/true', '--on-block-timeout', '-1'], /--on-block-timeout takes a number of seconds > 0, got '-1'/],
    [['--webhook', 'ftp://192.0.2.1/x'], /^synwatch: --webhook: 'ftp:\/\/192.0.2.1\/x' is not an http:\/\/ or https:\/\/ URL/],
    [['--webhook', 'not a url'], /^synwatch: --webhook: 'not a url' is not a URL/],
    [['--webhook-format', 'json'], /^synwatch: --webhook-format, --webhook-timeout and --webhook-resend need --webhook URL/],
    [['--webhook', 'http://192.0.2.1:9093/api/v2/alerts', '--webhook-resend', '0.5'], /^synwatch: --webhook-resend is at least 1 second, got 0.5/],
    [['--webhook', 'http://192.0.2.1/hook', '--webhook-resend', '5'], /^synwatch: --webhook-resend applies to the alertmanager format only/],
    [['--webhook', 'http://192.0.2.1/hook', '--webhook-format', 'xml'], /--webhook-format.*xml.*choices/],
  ] as const) {
    it(`refuses ${args.join(' ')}`, () => {
      const r = runCli([...LIVE, ...args], { timeoutMs: 20_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!hasStackTrace(r.stderr));
    });
  }
});

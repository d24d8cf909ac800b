/**
 * src/live/privilege.ts on plain data: which user `live` becomes, the /proc status parser the
 * per-thread check reads, and the CAP_NET_ADMIN bracket (raised only around a change, lowered
 * when the change throws). A fake addon stands in for native/src/privilege.c; the real drop is
 * tested end to end in test/e2e/privilege.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatus, PrivilegeAddon, PrivilegeDrop, PrivilegeError, resolveRunUser } from '../../src/live/privilege';
import { RecordingBackend } from '../../src/enforce/recording';

function fakeAddon(users: Record<string, number>, calls: string[] = []): PrivilegeAddon {
  return {
    lookupUser: (name) => (name in users ? { uid: users[name], gid: users[name] } : null),
    dropTo: (name, keep) => {
      calls.push(`dropTo ${name} ${keep}`);
      return { uid: users[name], gid: users[name], bounding: true };
    },
    setEffective: (on) => { calls.push(on ? 'raise' : 'lower'); },
  };
}

test('the run user: --user root is no drop; a named user must exist; the default falls back to root with a warning', () => {
  const loaded = { addon: fakeAddon({ nobody: 65534, synwatch: 999, toor: 0 }), why: '' };
  assert.deepEqual(resolveRunUser('root', loaded, 0), { name: 'root' });
  assert.deepEqual(resolveRunUser('nobody', loaded, 0), { name: 'nobody' });
  assert.deepEqual(resolveRunUser('toor', loaded, 0), { name: 'root' }, 'a uid-0 user is no drop');
  assert.throws(() => resolveRunUser('sw-missing', loaded, 0), (e: unknown) => e instanceof PrivilegeError && /--user sw-missing: no such user/.test(e.message));
  assert.deepEqual(resolveRunUser(undefined, loaded, 0), { name: 'synwatch' });
  const noDefault = resolveRunUser(undefined, { addon: fakeAddon({}), why: '' }, 0);
  assert.equal(noDefault.name, 'root');
  assert.match(noDefault.warning ?? '', /user synwatch does not exist/);
});

test('the run user when not started as root: a named user is refused, the default keeps the current user with a warning', () => {
  const loaded = { addon: fakeAddon({ nobody: 65534, synwatch: 999 }), why: '' };
  assert.throws(() => resolveRunUser('nobody', loaded, 1000), /synwatch runs as uid 1000, and drops to a user only when started as root/);
  const r = resolveRunUser(undefined, loaded, 1000);
  assert.equal(r.name, 'root');
  assert.match(r.warning ?? '', /no privilege drop/);
  assert.deepEqual(resolveRunUser('root', loaded, 1000), { name: 'root' });
});

test('without the addon a named user is refused, naming why', () => {
  const loaded = { addon: null, why: 'cannot load synwatch_route.node: nope' };
  assert.throws(() => resolveRunUser('nobody', loaded, 0), /--user nobody: cannot load synwatch_route\.node: nope; or run with --user root/);
  assert.match(resolveRunUser(undefined, loaded, 0).warning ?? '', /cannot be switched to/);
});

test('parseStatus reads ids, groups and the four capability sets of a /proc status file', () => {
  const text = 'Name:\tnode\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\nGroups:\t65534 \n' +
    'CapInh:\t0000000000000000\nCapPrm:\t0000000000001000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000001000\nCapAmb:\t0000000000000000\n';
  assert.deepEqual(parseStatus(7, text), { tid: 7, uid: [65534, 65534, 65534, 65534], gid: [65534, 65534, 65534, 65534], groups: [65534],
    capInh: 0n, capPrm: 0x1000n, capEff: 0n, capAmb: 0n });
  assert.equal(parseStatus(7, 'Uid:\t0\n').capEff, -1n, 'a missing set never reads as empty');
});

test('route changes raise CAP_NET_ADMIN only after the drop, only around the change, and lower it when the change throws', () => {
  const calls: string[] = [];
  const drop = new PrivilegeDrop('nobody', fakeAddon({ nobody: 65534 }, calls), true);
  const inner = new RecordingBackend();
  const backend = drop.guardBackend(inner);
  backend.add('203.0.113.7', 4, 'unreachable');
  assert.deepEqual(calls, [], 'before the drop root has the capability: nothing to raise');
  // The per-thread check reads this process's /proc: only the fake's ids would not match it.
  assert.throws(() => drop.drop(), (e: unknown) => e instanceof PrivilegeError && /thread \d+ still has Uid/.test(e.message));
  calls.length = 0;
  backend.del('203.0.113.7', 4, 'unreachable');
  assert.deepEqual(calls, ['raise', 'lower']);
  const failing = drop.guardBackend({ name: 'x', add: () => { throw new Error('EPERM'); }, del: () => {}, list: () => [] });
  calls.length = 0;
  assert.throws(() => failing.add('203.0.113.8', 4, 'unreachable'), /EPERM/);
  assert.deepEqual(calls, ['raise', 'lower']);
  backend.list();
  assert.deepEqual(calls, ['raise', 'lower'], 'listing routes needs no capability');
  const nft = drop.guardBackend({ name: 'nftables', listNeedsNetAdmin: true, add: () => {}, del: () => {}, list: () => [] });
  calls.length = 0;
  nft.list();
  assert.deepEqual(calls, ['raise', 'lower'], 'listing an nftables set is checked by the kernel: raised around it');
});

/*
 * synwatch privilege drop: after `synwatch live` has opened everything that needs privilege
 * (capture handle, rtnetlink socket, state directory and ledger), become an unprivileged user.
 * Part of the always-built route addon (nothing beyond libc).
 *
 * Why one capability may stay (measured, test/e2e/privilege.test.ts): the issue assumed that
 * Linux checks a netlink request against the credentials of the socket's opener only. It checks
 * both: since Linux 3.15 (CVE-2014-0181), rtnetlink_rcv_msg -> netlink_net_capable ->
 * __netlink_ns_capable needs the opener's file credentials AND ns_capable() of the task sending
 * the message. A route change through the socket opened as root fails with EPERM once the
 * sender has no CAP_NET_ADMIN. So when synwatch enforces, the drop keeps CAP_NET_ADMIN in the
 * main thread's *permitted* set only: effective is empty at rest, and setEffective(true/false)
 * raises it around each route change (a capget+capset to raise, one to lower: 5-7 µs the
 * pair at load average 4.7 on 2 vCPUs, beside 12-14 µs for a route add+del; per block, never
 * per packet).
 *
 * Contract (the TypeScript face is src/live/privilege.ts):
 *   lookupUser(name: string): { uid, gid } | null
 *       getpwnam_r; null when no such user. Throws (code = errno name) when the lookup fails.
 *   dropTo(name: string, keepNetAdmin: boolean): { uid, gid, bounding: boolean }
 *       In this order, each step checked; the first failure throws and nothing after it runs:
 *         1. resolve the user (getpwnam_r) before anything changes; uid 0 is refused (EINVAL):
 *            that is no drop at all, the caller handles --user root;
 *         2. prctl(PR_SET_KEEPCAPS, keepNetAdmin): whether the uid change keeps the permitted set;
 *         3. clear the ambient set, and drop from the bounding set every capability but the kept
 *            one when CAP_SETPCAP allows it (`bounding` in the result says whether it did; a
 *            unit's CapabilityBoundingSet may have taken CAP_SETPCAP away already);
 *         4. setgroups(1, {gid}): the user's primary group only, no supplementary group;
 *         5. setresgid(gid, gid, gid), then setresuid(uid, uid, uid): groups before the user,
 *            because after setuid the process could no longer change its groups;
 *         6. capset: effective and inheritable empty, permitted {CAP_NET_ADMIN} or empty;
 *            PR_SET_KEEPCAPS back to 0;
 *         7. prctl(PR_SET_NO_NEW_PRIVS, 1): no execve can give anything back;
 *         8. verify: getresuid/getresgid all equal the target, getgroups is {gid}, capget gives
 *            exactly the sets of step 6, no ambient capability, and setresuid(0,0,0) fails.
 *       Errors carry `code` (errno name, ENOUSER, or EVERIFY for a failed check) and `step`.
 *       A throw from step 5 on leaves the process partly changed: the caller must exit, never
 *       run on (src/live/privilege.ts does).
 *   setEffective(on: boolean): undefined
 *       capset with effective = permitted (on) or empty (off). Throws on failure.
 *
 * Threads: Node runs other threads (V8 platform workers, the libuv pool). Credentials and
 * capabilities are per thread in Linux, but glibc's setgroups/setresgid/setresuid run the system
 * call in every thread of the process (nptl's SIGSETXID broadcast), and the kernel clears a
 * thread's permitted, effective and ambient sets when its uids leave 0 unless that thread set
 * PR_SET_KEEPCAPS, which only this thread does. So after step 5 every other thread has the new
 * ids and no capability at all; the inheritable set, the bounding set and no_new_privs (steps 3,
 * 6, 7) change only in this, the main thread: the one that forks every child process synwatch
 * starts, so the only one whose bounding set and no_new_privs an execve ever sees (and JavaScript,
 * the only code calling setEffective, runs here too). src/live/privilege.ts then reads
 * /proc/self/task/<tid>/status of every thread and refuses to run unless each shows the new ids
 * and the expected sets.
 *
 * Buffers: getpwnam_r's buffer is sysconf(_SC_GETPW_R_SIZE_MAX) (or 16 KiB when unknown),
 * doubled on ERANGE up to 1 MiB; names of 256 bytes or more are refused.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "errno-name.h"
#include "privilege.h"

#define MAX_NAME 256
#define PW_BUF_MAX (1024 * 1024)
/* Capabilities are numbered below 64 (two 32-bit words in _LINUX_CAPABILITY_VERSION_3). */
#define CAP_WORDS 2

typedef struct {
  uid_t uid;
  gid_t gid;
} user_ids;

static void throw_step(napi_env env, const char *code, const char *step, const char *user, int err) {
  char msg[512];
  if (err)
    snprintf(msg, sizeof msg, "dropping privileges to user %s: %s failed: %s (%s)", user, step, code, strerror(err));
  else
    snprintf(msg, sizeof msg, "dropping privileges to user %s: %s", user, step);
  napi_value c, text, error, s;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, c, text, &error);
  napi_create_string_utf8(env, step, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, error, "step", s);
  napi_throw(env, error);
}

/* Reads the one string argument; throws and returns 0 when it is not a string of < MAX_NAME bytes. */
static int read_name(napi_env env, napi_callback_info info, char *name) {
  size_t argc = 1, len = 0, n = 0;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok || len == 0 || len >= MAX_NAME ||
      napi_get_value_string_utf8(env, argv[0], name, MAX_NAME, &n) != napi_ok || n != len) {
    napi_throw_error(env, "EINVAL", "privilege: expected a user name of 1 to 255 bytes");
    return 0;
  }
  return 1;
}

/* Reads boolean argument `index`; throws `usage` and returns 0 when it is missing or not a boolean. */
static int read_bool(napi_env env, napi_callback_info info, size_t index, bool *out, const char *usage) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc <= index || napi_get_value_bool(env, argv[index], out) != napi_ok) {
    napi_throw_error(env, "EINVAL", usage);
    return 0;
  }
  return 1;
}

/* 1 found, 0 no such user, -errno on failure. */
static int lookup(const char *name, user_ids *out) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  size_t size = hint > 0 && hint <= PW_BUF_MAX ? (size_t)hint : 16384;
  for (;;) {
    char *buf = malloc(size);
    if (!buf) return -ENOMEM;
    struct passwd pw, *found = NULL;
    int e = getpwnam_r(name, &pw, buf, size, &found);
    if (e == 0 && found) {
      out->uid = pw.pw_uid;
      out->gid = pw.pw_gid;
    }
    free(buf);
    if (e == ERANGE && size < PW_BUF_MAX) {
      size *= 2;
      continue;
    }
    if (e != 0 && e != ENOENT && e != ESRCH && e != EBADF && e != EPERM) return -e;
    return found ? 1 : 0;
  }
}

static napi_value ids_object(napi_env env, const user_ids *ids) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_uint32(env, ids->uid, &v);
  napi_set_named_property(env, obj, "uid", v);
  napi_create_uint32(env, ids->gid, &v);
  napi_set_named_property(env, obj, "gid", v);
  return obj;
}

static napi_value lookup_user(napi_env env, napi_callback_info info) {
  char name[MAX_NAME];
  if (!read_name(env, info, name)) return NULL;
  user_ids ids;
  int r = lookup(name, &ids);
  if (r < 0) {
    throw_step(env, errno_name(-r), "getpwnam_r", name, -r);
    return NULL;
  }
  if (r == 0) {
    napi_value null;
    napi_get_null(env, &null);
    return null;
  }
  return ids_object(env, &ids);
}

static int capget_self(struct __user_cap_data_struct data[CAP_WORDS]) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  memset(data, 0, sizeof(struct __user_cap_data_struct) * CAP_WORDS);
  return (int)syscall(SYS_capget, &hdr, data);
}

/* Sets the three sets of this thread; permitted and effective as 64-bit masks, inheritable empty. */
static int capset_masks(uint64_t permitted, uint64_t effective) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[CAP_WORDS];
  memset(data, 0, sizeof data);
  for (int w = 0; w < CAP_WORDS; w++) {
    data[w].permitted = (uint32_t)(permitted >> (32 * w));
    data[w].effective = (uint32_t)(effective >> (32 * w));
  }
  return (int)syscall(SYS_capset, &hdr, data);
}

static uint64_t mask_of(const struct __user_cap_data_struct data[CAP_WORDS], int which) {
  uint64_t m = 0;
  for (int w = 0; w < CAP_WORDS; w++) {
    uint32_t v = which == 0 ? data[w].effective : which == 1 ? data[w].permitted : data[w].inheritable;
    m |= (uint64_t)v << (32 * w);
  }
  return m;
}

/* Highest capability number this kernel knows: PR_CAPBSET_READ answers EINVAL above it. */
static int last_cap(void) {
  int cap = 0;
  while (cap < 63 && prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0) cap++;
  return cap;
}

static napi_value drop_to(napi_env env, napi_callback_info info) {
  char name[MAX_NAME];
  if (!read_name(env, info, name)) return NULL;
  bool keep_net_admin = false;
  if (!read_bool(env, info, 1, &keep_net_admin, "privilege: dropTo(name, keepNetAdmin: boolean)")) return NULL;
  const uint64_t kept = keep_net_admin ? (uint64_t)1 << CAP_NET_ADMIN : 0;
  user_ids ids;
  int r = lookup(name, &ids);
  if (r < 0) return throw_step(env, errno_name(-r), "getpwnam_r", name, -r), NULL;
  if (r == 0) return throw_step(env, "ENOUSER", "no such user", name, 0), NULL;
  if (ids.uid == 0) return throw_step(env, "EINVAL", "the user has uid 0: that keeps root (use --user root to mean it)", name, 0), NULL;

  if (prctl(PR_SET_KEEPCAPS, keep_net_admin ? 1 : 0, 0, 0, 0) != 0) return throw_step(env, errno_name(errno), "prctl(PR_SET_KEEPCAPS)", name, errno), NULL;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return throw_step(env, errno_name(errno), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", name, errno), NULL;

  struct __user_cap_data_struct caps[CAP_WORDS];
  if (capget_self(caps) != 0) return throw_step(env, errno_name(errno), "capget", name, errno), NULL;
  int bounding = (caps[CAP_SETPCAP / 32].effective >> (CAP_SETPCAP % 32)) & 1;
  int top = last_cap();
  for (int cap = 0; bounding && cap <= top; cap++) {
    if ((kept >> cap) & 1) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      return throw_step(env, errno_name(errno), "prctl(PR_CAPBSET_DROP)", name, errno), NULL;
  }

  gid_t groups[1] = {ids.gid};
  if (setgroups(1, groups) != 0) return throw_step(env, errno_name(errno), "setgroups", name, errno), NULL;
  if (setresgid(ids.gid, ids.gid, ids.gid) != 0) return throw_step(env, errno_name(errno), "setresgid", name, errno), NULL;
  if (setresuid(ids.uid, ids.uid, ids.uid) != 0) return throw_step(env, errno_name(errno), "setresuid", name, errno), NULL;
  if (capset_masks(kept, 0) != 0) return throw_step(env, errno_name(errno), "capset", name, errno), NULL;
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return throw_step(env, errno_name(errno), "prctl(PR_SET_KEEPCAPS, 0)", name, errno), NULL;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return throw_step(env, errno_name(errno), "prctl(PR_SET_NO_NEW_PRIVS)", name, errno), NULL;

  /* ---- verify: trust what the kernel says now, not the return codes above ---- */
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) != 0 || ru != ids.uid || eu != ids.uid || su != ids.uid)
    return throw_step(env, "EVERIFY", "verify: getresuid does not show the new uid in all three ids", name, 0), NULL;
  if (getresgid(&rg, &eg, &sg) != 0 || rg != ids.gid || eg != ids.gid || sg != ids.gid)
    return throw_step(env, "EVERIFY", "verify: getresgid does not show the new gid in all three ids", name, 0), NULL;
  gid_t now[2];
  int ngroups = getgroups(2, now);
  if (ngroups != 1 || now[0] != ids.gid)
    return throw_step(env, "EVERIFY", "verify: supplementary groups other than the user's own remain", name, 0), NULL;
  if (capget_self(caps) != 0) return throw_step(env, errno_name(errno), "verify: capget", name, errno), NULL;
  if (mask_of(caps, 0) != 0 || mask_of(caps, 1) != kept || mask_of(caps, 2) != 0)
    return throw_step(env, "EVERIFY", "verify: capabilities other than the kept permitted CAP_NET_ADMIN remain", name, 0), NULL;
  if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
    return throw_step(env, "EVERIFY", "verify: PR_SET_KEEPCAPS is still set", name, 0), NULL;
  for (int cap = 0; cap <= top; cap++) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
      return throw_step(env, "EVERIFY", "verify: an ambient capability is still set", name, 0), NULL;
  }
  /* Raw syscall: glibc's wrapper would broadcast the attempt to every thread. */
  if (syscall(SYS_setresuid, 0, 0, 0) == 0)
    return throw_step(env, "EVERIFY", "verify: setresuid(0) still succeeds", name, 0), NULL;

  napi_value result = ids_object(env, &ids), v;
  napi_get_boolean(env, bounding, &v);
  napi_set_named_property(env, result, "bounding", v);
  return result;
}

static napi_value set_effective(napi_env env, napi_callback_info info) {
  bool on = false;
  if (!read_bool(env, info, 0, &on, "privilege: setEffective(on: boolean)")) return NULL;
  struct __user_cap_data_struct caps[CAP_WORDS];
  if (capget_self(caps) != 0 || capset_masks(mask_of(caps, 1), on ? mask_of(caps, 1) : 0) != 0) {
    int e = errno;
    char msg[160];
    snprintf(msg, sizeof msg, "capset (effective %s): %s (%s)", on ? "raise" : "lower", errno_name(e), strerror(e));
    napi_throw_error(env, errno_name(e), msg);
  }
  return NULL;
}

void privilege_register(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"lookupUser", NULL, lookup_user, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dropTo", NULL, drop_to, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setEffective", NULL, set_effective, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
}

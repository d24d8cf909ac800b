/*
 * synwatch_nftables: synwatch's own nftables table, driven through libnftables (Debian
 * libnftables-dev; built only where it is installed, see have-nftables.sh).
 *
 * Contract (the TypeScript face is src/enforce/nftables.ts):
 *   open(): undefined
 *       Creates the process's one nft context, and with it libnftables' netlink socket
 *       (nft_ctx_new(NFT_CTX_DEFAULT) opens it at once in libnftables 1.0.x). Idempotent. Every
 *       later call goes through that socket: none opens a socket or reads a file, so the calls
 *       keep working after the process gave up what it needed to open them (issue #15). A probe
 *       socket is opened first, because libnftables exit()s the whole process when it cannot
 *       open its own; the probe turns that into an error thrown here.
 *   owner(): null | string
 *       null when there is no `table inet synwatch`; else its comment ("" when it has none), from
 *       a terse listing (no set elements, so the cost does not grow with the blocks).
 *   create(): undefined
 *       One transaction: the table (comment MARKER), one set per family with `flags timeout`,
 *       the chain at inet prerouting priority raw (-300: before conntrack at -200 and before
 *       TCP), flushed, and its two drop rules. Idempotent: existing table, sets and elements stay.
 *   chainPresent(): boolean
 *       Whether our chain exists (false after `nft flush ruleset`): a small listing.
 *   add(family: 4|6, ip: string, timeoutMs: number): undefined
 *       Sets the element's kernel timeout to exactly timeoutMs, new or not: `add; delete; add
 *       timeout` in one transaction (the first add makes the delete valid when the element is
 *       new). Kernels before 6.x keep an existing element's timeout on a plain re-add, so a
 *       renewal must replace the element; the transaction makes the replacement atomic.
 *   del(family: 4|6, ip: string): undefined
 *       Deletes the element; ENOENT (no element, set or table) counts as success.
 *   list(family: 4|6): string
 *       The set as libnftables' JSON (`nft -j list set`); ENOENT (no table) gives "".
 *   close(): undefined
 *   table, chain, sets {4, 6}, marker: the names and the comment, constants.
 * Addresses are parsed here (inet_pton) and re-printed (inet_ntop) into the command text, so
 * no caller text ever reaches the nft parser; timeouts are integers in [1, MAX_TIMEOUT_MS].
 * Command text is built in a fixed buffer with the length checked. Failures throw an Error with
 * `code` = errno name (ENOENT, EPERM, ...; "UNKNOWN" when libnftables said none), `errno`, and
 * libnftables' first error line in the message.
 *
 * Why command text and not JSON input: the text is fixed apart from one address and one
 * integer, both produced here, and it is what `nft` users read in the README and the logs.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "errno-name.h"

#define TABLE "synwatch"
#define CHAIN "prerouting"
#define SET4 "blocked4"
#define SET6 "blocked6"
/* What marks the table as synwatch's: a table of this name without it is someone else's. */
#define MARKER "synwatch: sources blocked by synwatch live; managed by synwatch, do not edit"
/* ~31 years: beyond any sensible block TTL, far below where nft's time parsing overflows. */
#define MAX_TIMEOUT_MS 1000000000000.0
#define CMD_SIZE 512
#define ERR_SIZE 300

static struct nft_ctx *nft; /* the one context, for the process lifetime */

static void throw_code(napi_env env, int err, const char *msg) {
  napi_value code, text, error, errno_value;
  napi_create_string_utf8(env, err ? errno_name(err) : "UNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
}

/* The errno behind a failed command: libnftables prints strerror() text in its error line, and
 * errno itself may be left over from an unrelated call, so the text wins. */
static int error_errno(const char *text, int saved) {
  static const int known[] = {ENOENT, EPERM, EEXIST, EBUSY, ENOMEM, ENOSPC, EINVAL, EOPNOTSUPP, EACCES, ENOBUFS};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strstr(text, strerror(known[i]))) return known[i];
  return saved;
}

/* First line of libnftables' error buffer, bounded. */
static void first_line(char *out, size_t size, const char *text) {
  size_t n = strcspn(text, "\n");
  if (n >= size) n = size - 1;
  memcpy(out, text, n);
  out[n] = '\0';
}

/* What the last run() printed (both buffers are read, and so rewound, after every command). */
static const char *last_output = "";

/* Runs `cmd` with `flags` as output flags; returns 0, or the errno (and fills `why`). */
static int run(const char *cmd, unsigned int flags, char *why, size_t why_size) {
  nft_ctx_output_set_flags(nft, flags);
  errno = 0;
  int rc = nft_run_cmd_from_buffer(nft, cmd);
  int saved = errno;
  last_output = nft_ctx_get_output_buffer(nft);
  const char *err = nft_ctx_get_error_buffer(nft);
  if (rc == 0) return 0;
  first_line(why, why_size, err && *err ? err : "libnftables failed without a message");
  int e = error_errno(err ? err : "", saved);
  return e ? e : -1;
}

static int require_open(napi_env env) {
  if (nft) return 1;
  throw_code(env, EBADF, "nftables: open() was not called");
  return 0;
}

static void throw_run(napi_env env, int e, const char *what, const char *why) {
  char msg[CMD_SIZE + ERR_SIZE];
  snprintf(msg, sizeof msg, "nftables %s: %s (%s)", what, e > 0 ? errno_name(e) : "UNKNOWN", why);
  throw_code(env, e > 0 ? e : 0, msg);
}

static napi_value nf_open(napi_env env, napi_callback_info info) {
  (void)info;
  if (nft) return NULL;
  int probe = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (probe < 0) {
    int e = errno;
    char msg[200];
    snprintf(msg, sizeof msg, "nftables: cannot open a netfilter netlink socket: %s (%s)", errno_name(e), strerror(e));
    throw_code(env, e, msg);
    return NULL;
  }
  close(probe);
  nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!nft || nft_ctx_buffer_output(nft) != 0 || nft_ctx_buffer_error(nft) != 0) {
    if (nft) nft_ctx_free(nft);
    nft = NULL;
    throw_code(env, ENOMEM, "nftables: cannot create the libnftables context");
  }
  return NULL;
}

static napi_value nf_close(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  if (nft) nft_ctx_free(nft);
  nft = NULL;
  return NULL;
}

static napi_value nf_owner(napi_env env, napi_callback_info info) {
  (void)info;
  if (!require_open(env)) return NULL;
  char why[ERR_SIZE];
  int e = run("list table inet " TABLE, NFT_CTX_OUTPUT_TERSE, why, sizeof why);
  napi_value out;
  if (e == ENOENT) {
    napi_get_null(env, &out);
    return out;
  }
  if (e) {
    throw_run(env, e, "list table", why);
    return NULL;
  }
  /* `\tcomment "TEXT"` on its own line, right after the table line. */
  const char *c = strstr(last_output, "\n\tcomment \"");
  char comment[ERR_SIZE] = "";
  if (c) {
    c += strlen("\n\tcomment \"");
    size_t n = strcspn(c, "\"\n");
    if (n >= sizeof comment) n = sizeof comment - 1;
    memcpy(comment, c, n);
    comment[n] = '\0';
  }
  napi_create_string_utf8(env, comment, NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value nf_create(napi_env env, napi_callback_info info) {
  (void)info;
  if (!require_open(env)) return NULL;
  static const char cmd[] =
      "add table inet " TABLE " { comment \"" MARKER "\"; }\n"
      "add set inet " TABLE " " SET4 " { type ipv4_addr; flags timeout; }\n"
      "add set inet " TABLE " " SET6 " { type ipv6_addr; flags timeout; }\n"
      "add chain inet " TABLE " " CHAIN " { type filter hook prerouting priority raw; policy accept; }\n"
      "flush chain inet " TABLE " " CHAIN "\n"
      "add rule inet " TABLE " " CHAIN " ip saddr @" SET4 " counter drop\n"
      "add rule inet " TABLE " " CHAIN " ip6 saddr @" SET6 " counter drop\n";
  char why[ERR_SIZE];
  int e = run(cmd, 0, why, sizeof why);
  if (e) throw_run(env, e, "create table inet " TABLE, why);
  return NULL;
}

static napi_value nf_chain_present(napi_env env, napi_callback_info info) {
  (void)info;
  if (!require_open(env)) return NULL;
  char why[ERR_SIZE];
  int e = run("list chain inet " TABLE " " CHAIN, NFT_CTX_OUTPUT_TERSE, why, sizeof why);
  if (e && e != ENOENT) {
    throw_run(env, e, "list chain", why);
    return NULL;
  }
  napi_value out;
  napi_get_boolean(env, e == 0, &out);
  return out;
}

/* argv[0] = family (4|6), argv[1] = address text -> re-printed canonical text; 0 on error (thrown). */
static int address_arg(napi_env env, napi_value *argv, size_t argc, const char **set, char *text, size_t size) {
  int32_t family = 0;
  char in[INET6_ADDRSTRLEN + 1];
  size_t len = 0;
  unsigned char bin[16];
  if (argc < 2 || napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6) ||
      napi_get_value_string_utf8(env, argv[1], in, sizeof in, &len) != napi_ok || len >= sizeof in - 1) {
    throw_code(env, EINVAL, "nftables: expected (family 4|6, address)");
    return 0;
  }
  int af = family == 4 ? AF_INET : AF_INET6;
  if (inet_pton(af, in, bin) != 1 || !inet_ntop(af, bin, text, (socklen_t)size)) {
    char msg[120];
    snprintf(msg, sizeof msg, "nftables: \"%s\" is not an IPv%d address", in, family);
    throw_code(env, EINVAL, msg);
    return 0;
  }
  *set = family == 4 ? SET4 : SET6;
  return 1;
}

/* add (with_timeout) or delete one element: argv = (family, address[, timeoutMs]). */
static napi_value element_op(napi_env env, napi_callback_info info, int add) {
  if (!require_open(env)) return NULL;
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *set;
  char ip[INET6_ADDRSTRLEN];
  if (!address_arg(env, argv, argc, &set, ip, sizeof ip)) return NULL;
  double ms = 0;
  if (add && (argc < 3 || napi_get_value_double(env, argv[2], &ms) != napi_ok || !(ms >= 1 && ms <= MAX_TIMEOUT_MS) ||
              ms != (double)(uint64_t)ms)) {
    throw_code(env, EINVAL, "nftables add: timeoutMs must be an integer in [1, 1e12]");
    return NULL;
  }
  char cmd[CMD_SIZE];
  int n = add ? snprintf(cmd, sizeof cmd,
                         "add element inet " TABLE " %s { %s }\n"
                         "delete element inet " TABLE " %s { %s }\n"
                         "add element inet " TABLE " %s { %s timeout %llums }\n",
                         set, ip, set, ip, set, ip, (unsigned long long)ms)
              : snprintf(cmd, sizeof cmd, "delete element inet " TABLE " %s { %s }\n", set, ip);
  if (n < 0 || (size_t)n >= sizeof cmd) {
    throw_code(env, EOVERFLOW, "nftables: command too long");
    return NULL;
  }
  char why[ERR_SIZE], what[80];
  int e = run(cmd, 0, why, sizeof why);
  if (e && !(e == ENOENT && !add)) {
    snprintf(what, sizeof what, "%s %s", add ? "add" : "delete", ip);
    throw_run(env, e, what, why);
  }
  return NULL;
}

static napi_value nf_add(napi_env env, napi_callback_info info) { return element_op(env, info, 1); }
static napi_value nf_del(napi_env env, napi_callback_info info) { return element_op(env, info, 0); }

static napi_value nf_list(napi_env env, napi_callback_info info) {
  if (!require_open(env)) return NULL;
  size_t argc = 1;
  napi_value argv[1];
  int32_t family = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6)) {
    throw_code(env, EINVAL, "nftables list: expected family 4|6");
    return NULL;
  }
  char why[ERR_SIZE];
  int e = run(family == 4 ? "list set inet " TABLE " " SET4 : "list set inet " TABLE " " SET6,
              NFT_CTX_OUTPUT_JSON, why, sizeof why);
  napi_value out;
  if (e == ENOENT) {
    napi_create_string_utf8(env, "", 0, &out);
    return out;
  }
  if (e) {
    throw_run(env, e, "list set", why);
    return NULL;
  }
  napi_create_string_utf8(env, last_output, NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"open", NULL, nf_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, nf_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"owner", NULL, nf_owner, NULL, NULL, NULL, napi_enumerable, NULL},
      {"create", NULL, nf_create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"chainPresent", NULL, nf_chain_present, NULL, NULL, NULL, napi_enumerable, NULL},
      {"add", NULL, nf_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"del", NULL, nf_del, NULL, NULL, NULL, napi_enumerable, NULL},
      {"list", NULL, nf_list, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  napi_value v, sets;
  napi_create_string_utf8(env, TABLE, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "table", v);
  napi_create_string_utf8(env, CHAIN, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "chain", v);
  napi_create_string_utf8(env, MARKER, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "marker", v);
  napi_create_object(env, &sets);
  napi_create_string_utf8(env, SET4, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, sets, "4", v);
  napi_create_string_utf8(env, SET6, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, sets, "6", v);
  napi_set_named_property(env, exports, "sets", sets);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

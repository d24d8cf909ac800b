/*
 * synwatch_route: add, delete and list synwatch's host routes over rtnetlink.
 *
 * Contract (see src/enforce/contract.ts, RouteBackend; the TypeScript face is src/enforce/netlink.ts):
 *   add(family: 4|6, ip: string, rtnType: number): undefined
 *       RTM_NEWROUTE, NLM_F_CREATE|NLM_F_EXCL, IPv4 /32 or IPv6 /128, table main,
 *       rtm_protocol = SYNWATCH_RTPROT. EEXIST counts as success.
 *   del(family: 4|6, ip: string, rtnType: number): undefined
 *       RTM_DELROUTE for the same key *including rtm_protocol*, so the kernel itself refuses to
 *       delete a route synwatch did not add (it answers ESRCH, which counts as success: "no route
 *       of ours there"). ESRCH and ENOENT count as success.
 *   list(): Array<{ family: 4|6, ip: string, type: number }>
 *       RTM_GETROUTE dump of both families, keeping only host routes in table main whose
 *       rtm_protocol is SYNWATCH_RTPROT and whose type is unreachable/prohibit/blackhole.
 *   protocol: number (SYNWATCH_RTPROT), types: { unreachable, prohibit, blackhole } (RTN_*).
 *   open(): undefined
 *       Opens the module's one rtnetlink socket now (add/del/list open it on first use otherwise).
 *       `synwatch live` calls it during set-up, before the privilege drop (privilege.c): the kernel
 *       checks CAP_NET_ADMIN for a route change against the credentials of the socket's opener
 *       (rtnetlink_rcv_msg -> netlink_net_capable -> file_ns_capable on the socket's file), so the
 *       socket opened as root keeps working after the drop, where a new one would get EPERM.
 *       The socket is therefore kept for the life of the module: a timed-out or garbled reply is
 *       resynchronised by sequence number (stale replies are skipped), never by reopening.
 * Any other failure throws an Error with `code` = errno name (EPERM, EINVAL, ...), `errno` =
 * the positive errno value, `syscall` = "rtnetlink", and the kernel's extended-ack text in the
 * message when the kernel gave one.
 *
 * Why synchronous: a netlink round trip for one route is a few microseconds; an async hop through
 * the libuv thread pool would cost more than the work and would make replay nondeterministic.
 * Why one socket per module instance (reused): socket + setsockopt + bind + getsockname + close
 * measured 11 µs here, more than the 7 µs an add takes on a reused socket (2000 adds). The
 * socket is per N-API environment (instance data), so worker threads never share sequence numbers. Replies are matched on sequence number and port id; stale
 * replies (e.g. from a call that timed out) are skipped.
 *
 * SYNWATCH_RTPROT = 181 (0xb5): not in the kernel's RTPROT_* list (include/uapi/linux/rtnetlink.h)
 * nor in iproute2's /etc/iproute2/rt_protos; values >= RTPROT_STATIC are not interpreted by the
 * kernel, so it only serves as synwatch's marker. `ip route show proto 181` lists our routes.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include "privilege.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "errno-name.h"

#define SYNWATCH_RTPROT 181
/* A dump message is at most one page-ish skb per recv; 64 KiB covers any kernel's batching. */
#define RECV_BUF_SIZE (64 * 1024)
/* A kernel that never answers must not hang Node forever. */
#define RECV_TIMEOUT_SEC 5
/* A dump interrupted by concurrent route changes (NLM_F_DUMP_INTR) is retried this many times. */
#define DUMP_TRIES 5

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

typedef struct {
  int fd;
  uint32_t portid;
  uint32_t seq;
  unsigned char *buf;
} route_ctx;

/* ---------- errors ---------- */

/* Throw Error(message) with code/errno/syscall; `what` says which call and address. */
static void throw_errno(napi_env env, int err, const char *what, const char *extack) {
  char msg[512];
  if (extack && *extack)
    snprintf(msg, sizeof msg, "%s: %s (%s; kernel: %s)", what, errno_name(err), strerror(err), extack);
  else
    snprintf(msg, sizeof msg, "%s: %s (%s)", what, errno_name(err), strerror(err));
  napi_value code, text, error, errno_value, syscall;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, "rtnetlink", NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "syscall", syscall);
  napi_throw(env, error);
}

/* ---------- socket ---------- */

static void ctx_close(route_ctx *ctx) {
  if (ctx->fd >= 0) close(ctx->fd);
  ctx->fd = -1;
}

/* Returns 0 or a positive errno. */
static int ctx_open(route_ctx *ctx) {
  if (ctx->fd >= 0) return 0;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  struct timeval tv = {RECV_TIMEOUT_SEC, 0};
  int one = 1;
  /* Best effort: these only improve diagnostics (EXT_ACK, CAP_ACK) or let the kernel filter dumps
   * (GET_STRICT_CHK); older kernels without them still work, we filter in userspace anyway. */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  socklen_t len = sizeof local;
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0 ||
      getsockname(fd, (struct sockaddr *)&local, &len) < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  ctx->fd = fd;
  ctx->portid = local.nl_pid;
  return 0;
}

static int send_request(route_ctx *ctx, struct nlmsghdr *req) {
  req->nlmsg_seq = ++ctx->seq;
  req->nlmsg_pid = 0;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  for (;;) {
    ssize_t n = sendto(ctx->fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    if (n >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

/* One datagram into ctx->buf; returns its length or -errno. */
static ssize_t recv_datagram(route_ctx *ctx) {
  for (;;) {
    struct sockaddr_nl from;
    struct iovec iov = {ctx->buf, RECV_BUF_SIZE};
    struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(ctx->fd, &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -(errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno);
    }
    if (mh.msg_flags & MSG_TRUNC) return -EMSGSIZE;
    if (from.nl_pid != 0) continue; /* not from the kernel */
    return n;
  }
}

static int is_ours(const route_ctx *ctx, const struct nlmsghdr *h) {
  return h->nlmsg_seq == ctx->seq && h->nlmsg_pid == ctx->portid;
}

/* Extended-ack message text from an NLMSG_ERROR (only parsed when the request was capped). */
static void read_extack(const struct nlmsghdr *h, char *out, size_t outlen) {
  out[0] = 0;
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || !(h->nlmsg_flags & NLM_F_CAPPED)) return;
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nlmsgerr));
  while (off + sizeof(struct nlattr) <= h->nlmsg_len) {
    const struct nlattr *a = (const struct nlattr *)((const char *)h + off);
    if (a->nla_len < sizeof(struct nlattr) || off + a->nla_len > h->nlmsg_len) return;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      size_t n = a->nla_len - sizeof(struct nlattr);
      if (n >= outlen) n = outlen - 1;
      memcpy(out, (const char *)a + NLA_HDRLEN, n);
      out[n] = 0;
      return;
    }
    off += NLA_ALIGN(a->nla_len);
  }
}

/* Wait for the NLMSG_ERROR answering our last request. Returns 0 (ACK) or a positive errno. */
static int await_ack(route_ctx *ctx, char *extack, size_t extack_len) {
  for (;;) {
    ssize_t n = recv_datagram(ctx);
    if (n < 0) return (int)-n;
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)ctx->buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (!is_ours(ctx, h) || h->nlmsg_type != NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return EPROTO;
      const struct nlmsgerr *e = (const struct nlmsgerr *)NLMSG_DATA(h);
      if (e->error != 0) read_extack(h, extack, extack_len);
      return -e->error;
    }
  }
}

/* ---------- argument handling ---------- */

typedef struct {
  int family;          /* AF_INET / AF_INET6 */
  unsigned char addr[16];
  int addr_len;
  int rtn_type;
  char text[INET6_ADDRSTRLEN];
} route_key;

static int valid_type(int t) { return t == RTN_UNREACHABLE || t == RTN_PROHIBIT || t == RTN_BLACKHOLE; }

/* Parses (family, ip, type); throws and returns 0 on bad arguments. */
static int read_key(napi_env env, napi_callback_info info, const char *op, route_key *key) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fam = 0, type = 0;
  size_t n = 0;
  char what[96];
  snprintf(what, sizeof what, "%s: expected (family 4|6, ip string, rtn type)", op);
  size_t full = 0;
  /* Measure first: a longer string would be silently truncated, and a truncated prefix could
   * parse as a different address. */
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fam) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], NULL, 0, &full) != napi_ok || full >= sizeof key->text ||
      napi_get_value_string_utf8(env, argv[1], key->text, sizeof key->text, &n) != napi_ok ||
      napi_get_value_int32(env, argv[2], &type) != napi_ok || (fam != 4 && fam != 6)) {
    throw_errno(env, EINVAL, what, NULL);
    return 0;
  }
  key->family = fam == 4 ? AF_INET : AF_INET6;
  key->addr_len = fam == 4 ? 4 : 16;
  key->rtn_type = type;
  snprintf(what, sizeof what, "%s %.46s: bad IPv%d address or route type %d", op, key->text, fam, type);
  if (inet_pton(key->family, key->text, key->addr) != 1 || !valid_type(type)) {
    throw_errno(env, EINVAL, what, NULL);
    return 0;
  }
  return 1;
}

/* The request lives in a byte buffer (route_req) so appending attributes stays inside one object. */
typedef union {
  struct nlmsghdr n;
  unsigned char raw[NLMSG_SPACE(sizeof(struct rtmsg)) + 2 * RTA_SPACE(16)];
} route_req;

static void put_attr(route_req *req, unsigned short type, const void *data, unsigned short len) {
  struct nlmsghdr *n = &req->n;
  struct rtattr *a = (struct rtattr *)(req->raw + NLMSG_ALIGN(n->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* ---------- add / del ---------- */

static napi_value modify(napi_env env, napi_callback_info info, int add) {
  route_ctx *ctx;
  napi_get_instance_data(env, (void **)&ctx);
  const char *op = add ? "route add" : "route del";
  route_key key;
  if (!read_key(env, info, op, &key)) return NULL;

  route_req req;
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  req.n.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
  req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  struct rtmsg *r = (struct rtmsg *)NLMSG_DATA(&req.n);
  r->rtm_family = (unsigned char)key.family;
  r->rtm_dst_len = (unsigned char)(key.addr_len * 8);
  r->rtm_table = RT_TABLE_MAIN;
  r->rtm_protocol = SYNWATCH_RTPROT;
  /* RT_SCOPE_NOWHERE on delete means "any scope" to the kernel, as iproute2 does. */
  r->rtm_scope = add ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
  r->rtm_type = (unsigned char)key.rtn_type;
  put_attr(&req, RTA_DST, key.addr, (unsigned short)key.addr_len);
  uint32_t table = RT_TABLE_MAIN;
  put_attr(&req, RTA_TABLE, &table, sizeof table);

  char what[128], extack[256] = "";
  snprintf(what, sizeof what, "%s %s/%d", op, key.text, key.addr_len * 8);
  int err = ctx_open(ctx);
  if (!err) err = send_request(ctx, &req.n);
  if (!err) err = await_ack(ctx, extack, sizeof extack);
  /* No reopen to resync (see open() above): the next call's sequence number skips stale replies. */
  if (err == 0 || (add && err == EEXIST) || (!add && (err == ESRCH || err == ENOENT))) return NULL;
  throw_errno(env, err, what, extack);
  return NULL;
}

static napi_value route_open(napi_env env, napi_callback_info info) {
  (void)info;
  route_ctx *ctx;
  napi_get_instance_data(env, (void **)&ctx);
  int err = ctx_open(ctx);
  if (err) throw_errno(env, err, "route socket open", NULL);
  return NULL;
}

static napi_value route_add(napi_env env, napi_callback_info info) { return modify(env, info, 1); }
static napi_value route_del(napi_env env, napi_callback_info info) { return modify(env, info, 0); }

/* ---------- list ---------- */

static void push_route(napi_env env, napi_value arr, uint32_t *count, int family, const void *addr, int type) {
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(family, addr, text, sizeof text)) return;
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, family == AF_INET ? 4 : 6, &v);
  napi_set_named_property(env, obj, "family", v);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "ip", v);
  napi_create_int32(env, type, &v);
  napi_set_named_property(env, obj, "type", v);
  napi_set_element(env, arr, (*count)++, v = obj);
}

/* Keeps one RTM_NEWROUTE if it is a synwatch host route in table main. */
static void consider_route(napi_env env, napi_value arr, uint32_t *count, const struct nlmsghdr *h, int family) {
  if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg))) return;
  const struct rtmsg *r = (const struct rtmsg *)NLMSG_DATA(h);
  int host_len = family == AF_INET ? 32 : 128;
  if (r->rtm_family != family || r->rtm_protocol != SYNWATCH_RTPROT || r->rtm_dst_len != host_len ||
      !valid_type(r->rtm_type))
    return;
  uint32_t table = r->rtm_table;
  const void *dst = NULL;
  int alen = (int)RTM_PAYLOAD(h);
  for (const struct rtattr *a = RTM_RTA(r); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
    if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= 4) memcpy(&table, RTA_DATA(a), 4);
    if (a->rta_type == RTA_DST && (int)RTA_PAYLOAD(a) == host_len / 8) dst = RTA_DATA(a);
  }
  if (table == RT_TABLE_MAIN && dst) push_route(env, arr, count, family, dst, r->rtm_type);
}

/* Dumps one family into arr. Returns 0, a positive errno, or -1 when the dump was interrupted. */
static int dump_family(napi_env env, route_ctx *ctx, int family, napi_value arr, uint32_t *count) {
  struct {
    struct nlmsghdr n;
    struct rtmsg r;
  } req;
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  req.n.nlmsg_type = RTM_GETROUTE;
  req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.r.rtm_family = (unsigned char)family;
  /* With NETLINK_GET_STRICT_CHK the kernel filters on these; without it they are ignored. */
  req.r.rtm_table = RT_TABLE_MAIN;
  req.r.rtm_protocol = SYNWATCH_RTPROT;
  int err = send_request(ctx, &req.n);
  if (err) return err;
  int interrupted = 0;
  for (;;) {
    ssize_t n = recv_datagram(ctx);
    if (n < 0) return (int)-n;
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)ctx->buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (!is_ours(ctx, h)) continue;
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = 1;
      if (h->nlmsg_type == NLMSG_DONE) return interrupted ? -1 : 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = (const struct nlmsgerr *)NLMSG_DATA(h);
        return e->error ? -e->error : EPROTO;
      }
      consider_route(env, arr, count, h, family);
    }
  }
}

static napi_value route_list(napi_env env, napi_callback_info info) {
  (void)info;
  route_ctx *ctx;
  napi_get_instance_data(env, (void **)&ctx);
  int err = ctx_open(ctx);
  for (int attempt = 0; !err && attempt < DUMP_TRIES; attempt++) {
    napi_value arr;
    uint32_t count = 0;
    napi_create_array(env, &arr);
    err = dump_family(env, ctx, AF_INET, arr, &count);
    if (!err) err = dump_family(env, ctx, AF_INET6, arr, &count);
    if (!err) return arr;
    if (err == -1) err = 0; /* interrupted by a concurrent change: dump again */
    else break;
  }
  if (err == 0) err = EAGAIN;
  throw_errno(env, err, "route list", NULL);
  return NULL;
}

/* ---------- module ---------- */

static void ctx_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  route_ctx *ctx = data;
  ctx_close(ctx);
  free(ctx->buf);
  free(ctx);
}

static napi_value init(napi_env env, napi_value exports) {
  route_ctx *ctx = calloc(1, sizeof *ctx);
  if (ctx) ctx->buf = malloc(RECV_BUF_SIZE);
  if (!ctx || !ctx->buf) {
    free(ctx);
    napi_throw_error(env, "ENOMEM", "synwatch_route: out of memory");
    return NULL;
  }
  ctx->fd = -1;
  napi_set_instance_data(env, ctx, ctx_finalize, NULL);

  napi_property_descriptor fns[] = {
      {"add", NULL, route_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"del", NULL, route_del, NULL, NULL, NULL, napi_enumerable, NULL},
      {"list", NULL, route_list, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, route_open, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  privilege_register(env, exports);
  napi_value v, types;
  napi_create_int32(env, SYNWATCH_RTPROT, &v);
  napi_set_named_property(env, exports, "protocol", v);
  napi_create_object(env, &types);
  napi_create_int32(env, RTN_UNREACHABLE, &v);
  napi_set_named_property(env, types, "unreachable", v);
  napi_create_int32(env, RTN_PROHIBIT, &v);
  napi_set_named_property(env, types, "prohibit", v);
  napi_create_int32(env, RTN_BLACKHOLE, &v);
  napi_set_named_property(env, types, "blackhole", v);
  napi_set_named_property(env, exports, "types", types);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

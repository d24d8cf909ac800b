/*
 * synwatch_capture: live capture over the system libpcap, delivered to JavaScript in batches;
 * frames sent with pcap_inject; the interface list; the realtime clock packets are stamped with.
 *
 * Contract (the TypeScript face is src/capture/native.ts):
 *   open(iface, snaplen, bufferBytes, coalesceUs, batch: Buffer, stats: Float64Array,
 *        onBatch: (bytes) => void)
 *       -> { handle, linkType, linkName, snaplen, bufferBytes, warning }
 *       pcap_create, snaplen, no promiscuous mode, immediate mode, the kernel buffer size,
 *       nanosecond timestamps, activate, non-blocking. Throws an Error whose `code` is ENODEV
 *       (no such interface), EPERM (no permission: CAP_NET_RAW), ENETDOWN (interface down),
 *       EINVAL (arguments) or EPCAP (anything else), with libpcap's own text in the message.
 *   setFilter(handle, expression): compiles (optimized) and sets the BPF filter; EFILTER when it
 *       does not compile. Separate from open because the expression depends on the link type
 *       (libpcap refuses `vlan` on a link without VLAN tags: Linux cooked, raw IP).
 *   start(handle): watch the capture's file descriptor on the event loop (uv_poll). Whenever it
 *       is readable the ring is drained: pcap_dispatch() copies records into `batch` and
 *       onBatch(bytes) is called once per filled batch, until the ring is empty or
 *       MAX_BATCHES_PER_WAKE batches were delivered (then the loop runs its timers and comes
 *       back: the descriptor stays readable). After a wake-up that delivered records, the ring
 *       is polled again a window later (a timerfd) instead of on the next packet, for as long
 *       as each poll finds records; the window grows with the busy stretch's age up to
 *       coalesceUs, and a poll that finds none goes back to waiting on the descriptor (see "Why
 *       moderation"). coalesceUs 0 turns this off. An exception thrown by
 *       onBatch is fatal (uncaughtException): the JavaScript side catches its own.
 *   drain(handle) -> records: the same, synchronously, until the ring is empty or 1024 batches
 *       were delivered (at stop: what the kernel already holds is delivered, not lost).
 *       Exceptions from onBatch propagate.
 *   stats(handle): refreshes `stats` (see STAT_* below). libpcap's pcap_stats counters are
 *       32-bit running totals; each call adds the difference modulo 2^32 to 64-bit totals, so
 *       they stay exact as long as no counter moves by 2^32 between two calls (4 hours at
 *       300k packets/s; the runner calls it every 100 ms).
 *   close(handle): stops watching and closes the capture (idempotent; safe inside onBatch: the
 *       close then happens when the callback returns).
 *   openSender(iface) -> handle, inject(handle, frame: Buffer, length) -> bytes sent,
 *       close(handle): a capture handle whose filter passes nothing, used only to send.
 *   interfaces() -> [{ name, description, loopback, up, running }] (pcap_findalldevs).
 *   realtimeUs() -> integer microseconds of CLOCK_REALTIME, the clock of the kernel's packet
 *       timestamps (so a route's confirmation time and a SYN's arrival are on one clock).
 *   version: pcap_lib_version().
 *
 * Batch layout: whole records in the classic pcap record layout, nanosecond flavour, host byte
 * order: u32 seconds, u32 nanoseconds, u32 caplen, u32 wire length, then caplen bytes. That is
 * the body of a nanosecond pcap file, so the JavaScript side parses it with the same record loop
 * as `analyze` and may write it to disk as is (--write).
 *
 * Bounds: a dispatch asks for at most batch_cap / (RECORD_HEADER + snaplen) records, so a batch
 * never overflows; a caplen above the snaplen (libpcap never gives one) is cut to the snaplen and
 * counted (STAT_CLAMPED). Nothing is allocated per packet, and nothing is sized by the wire.
 *
 * Why moderation: on this 2-vCPU VM a wake-up from idle costs the woken task ~3-13 us when a
 * packet (another CPU) wakes it, and ~28 us when a timer does (measured in C, without node: a
 * timerfd, nanosleep or a TPACKET_V3 block timeout alike). Per-packet wake-ups at 10k-100k SYN/s
 * woke the loop every 2.5-4 packets; a fixed 250 us poll under load bounded that to 4,000 timer
 * wake-ups a second, 13-21 % of a core at every rate. So the poll adapts, as a NIC's adaptive
 * interrupt moderation does: the first packet on an idle link wakes the loop at once; while a
 * busy stretch lasts (each poll finds records, or a wake-up comes within STRETCH_GAP_US of the
 * last records), the ring is polled again after a window of FIRST_WINDOW_US that grows with the
 * stretch's age (1/RAMP_DIVISOR of it) up to coalesceUs, and no longer than what holds
 * TARGET_READ_RECORDS at the rate the last read found. A short burst is read every ~100 us; a
 * flood of 10k SYN/s that has lasted a quarter of a second is read every coalesceUs (4 ms by
 * default: 250 wake-ups a second), one of 100k SYN/s every ~0.5 ms, one of 280k every ~0.2 ms;
 * a poll that finds nothing goes back to waking on the next packet. The rate bound is for the
 * SYN that crosses a threshold during a flood: it waits for the next read, and with the 4 ms
 * window alone it waited 1.5-3 ms (median) under a 100k SYN/s flood (bench/latency.ts
 * --flood-rates). 48 records a read keep the wake-ups' cost under ~1 us a SYN at any rate.
 *
 * Why uv_poll on the main thread and not a capture thread: the kernel ring (bufferBytes of
 * frames of ~snaplen bytes: hundreds of thousands at the defaults) already absorbs the pauses of
 * the event loop, and a thread hop would add tens of microseconds to every lone SYN's delivery.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RECORD_HEADER 16
/* Batches per wake-up before the event loop gets a turn (timers, signals, status lines). */
#define MAX_BATCHES_PER_WAKE 64
/* drain(): rounds of MAX_BATCHES_PER_WAKE batches at most. */
#define MAX_DRAIN_ROUNDS 16
#define MAX_SNAPLEN 262144
#define MIN_BUFFER_BYTES (64 * 1024)
#define MAX_BUFFER_BYTES 0x7fffffffLL /* pcap_set_buffer_size takes an int */
#define MAX_NAME 256
#define MAX_COALESCE_US 100000
/* Moderation ramp (see "Why moderation"): a busy stretch's first window, the share of the
 * stretch's age a window may be, and the quiet gap after which a wake-up starts a new stretch. */
#define FIRST_WINDOW_US 100
#define RAMP_DIVISOR 64
#define STRETCH_GAP_US 10000
/* Moderation by rate (see "Why moderation"): a window is sized to hold about this many records at
 * the rate the last ring read found. */
#define TARGET_READ_RECORDS 48
/* Extra ring reads in one wake-up when JavaScript took longer than the window (see after_drain). */
#define MAX_REREADS_PER_WAKE 8
#define MAX_FILTER 65536

enum {
  STAT_RECEIVED,      /* ps_recv, widened: packets that passed the filter, dropped ones included */
  STAT_KERNEL_DROPS,  /* ps_drop, widened: dropped because the ring was full */
  STAT_IF_DROPS,      /* ps_ifdrop, widened: dropped by the interface or its driver */
  STAT_CAPTURED,      /* records delivered to JavaScript */
  STAT_BYTES,         /* record bytes delivered (headers included) */
  STAT_BATCHES,       /* onBatch calls */
  STAT_WAKEUPS,       /* times the descriptor woke the loop */
  STAT_CLAMPED,       /* records whose caplen was cut to the snaplen */
  STAT_COUNT
};

typedef struct {
  napi_env env;
  pcap_t *p;
  int fd;
  int snaplen;
  uv_poll_t poll;
  int polling;
  int poll_initialized;
  int poll_closed;
  /* Moderation (see "Why moderation" above): a timerfd watched instead of the capture fd. */
  int coalesce_us;
  int timer_fd;
  uv_poll_t timer;
  int timer_polling;
  int timer_initialized;
  int timer_closed;
  /* CLOCK_MONOTONIC µs: when the current busy stretch began, and when a drain last found records. */
  uint64_t stretch_start_us;
  uint64_t last_records_us;
  /* When the last ring read started, and the window that holds TARGET_READ_RECORDS at its rate. */
  uint64_t last_read_us;
  uint64_t rate_window_us;
  int closed;
  int in_callback;
  int close_requested;
  int external_gone;
  int sender;
  unsigned char *batch;
  size_t batch_cap;
  size_t used;
  uint32_t records;
  double *stats;
  napi_ref batch_ref, stats_ref, on_batch_ref;
  napi_async_context async_ctx;
  uint32_t last_recv, last_drop, last_ifdrop;
  uint64_t total_recv, total_drop, total_ifdrop;
  uint64_t captured, bytes, batches, wakeups, clamped;
} capture_ctx;

/* ---------- errors ---------- */

static napi_value throw_code(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

#define CHECK(env, call)                                                  \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      const napi_extended_error_info *info_ = NULL;                       \
      napi_get_last_error_info((env), &info_);                            \
      bool pending_ = false;                                              \
      napi_is_exception_pending((env), &pending_);                        \
      if (!pending_)                                                      \
        napi_throw_error((env), "EINVAL",                                 \
                         info_ && info_->error_message ? info_->error_message : "N-API call failed"); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

/* ---------- arguments ---------- */

static int get_string(napi_env env, napi_value v, char *out, size_t cap, const char *what) {
  size_t len = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_error(env, "EINVAL", msg);
    return -1;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len + 1 > cap) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s is longer than %zu bytes", what, cap - 1);
    napi_throw_error(env, "EINVAL", msg);
    return -1;
  }
  napi_get_value_string_utf8(env, v, out, cap, &len);
  return 0;
}

static capture_ctx *get_ctx(napi_env env, napi_value v) {
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, "EINVAL", "not a capture handle");
    return NULL;
  }
  return (capture_ctx *)data;
}

enum { ANY_HANDLE, OPEN_CAPTURE, OPEN_SENDER };

/* The handle in argv[0] of a call that takes `want` arguments, checked to be `kind`; NULL with an
 * exception pending. */
static capture_ctx *handle_arg(napi_env env, napi_callback_info info, size_t want, napi_value *argv, int kind) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_error(env, "EINVAL", "missing arguments");
    return NULL;
  }
  capture_ctx *c = get_ctx(env, argv[0]);
  if (c && kind != ANY_HANDLE && (c->closed || c->sender != (kind == OPEN_SENDER))) {
    napi_throw_error(env, "EINVAL", kind == OPEN_SENDER ? "sender handle is closed" : "capture handle is closed");
    return NULL;
  }
  return c;
}

/* ---------- life cycle ---------- */

static void free_if_done(capture_ctx *c) {
  if (c->external_gone && c->closed && (!c->poll_initialized || c->poll_closed) &&
      (!c->timer_initialized || c->timer_closed))
    free(c);
}

static void on_poll_closed(uv_handle_t *h) {
  capture_ctx *c = (capture_ctx *)h->data;
  c->poll_closed = 1;
  free_if_done(c);
}

static void on_timer_closed(uv_handle_t *h) {
  capture_ctx *c = (capture_ctx *)h->data;
  c->timer_closed = 1;
  if (c->timer_fd >= 0) close(c->timer_fd);
  c->timer_fd = -1;
  free_if_done(c);
}

/* Releases libpcap and the JavaScript references; the context itself goes in free_if_done. */
static void do_close(capture_ctx *c, int from_finalizer) {
  if (c->closed) return;
  c->closed = 1;
  if (c->poll_initialized && !uv_is_closing((uv_handle_t *)&c->poll)) {
    if (c->polling) uv_poll_stop(&c->poll);
    c->polling = 0;
    uv_close((uv_handle_t *)&c->poll, on_poll_closed);
  }
  if (c->timer_initialized && !uv_is_closing((uv_handle_t *)&c->timer)) {
    if (c->timer_polling) uv_poll_stop(&c->timer);
    c->timer_polling = 0;
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
  } else if (!c->timer_initialized && c->timer_fd >= 0) {
    close(c->timer_fd);
    c->timer_fd = -1;
  }
  if (c->p) pcap_close(c->p);
  c->p = NULL;
  napi_env env = c->env;
  if (c->batch_ref) napi_delete_reference(env, c->batch_ref);
  if (c->stats_ref) napi_delete_reference(env, c->stats_ref);
  if (c->on_batch_ref) napi_delete_reference(env, c->on_batch_ref);
  c->batch_ref = c->stats_ref = c->on_batch_ref = NULL;
  if (c->async_ctx && !from_finalizer) napi_async_destroy(env, c->async_ctx);
  c->async_ctx = NULL;
  c->batch = NULL;
  c->stats = NULL;
}

static void finalize_ctx(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  capture_ctx *c = (capture_ctx *)data;
  c->external_gone = 1;
  do_close(c, 1);
  free_if_done(c);
}

/* ---------- statistics ---------- */

static void refresh_stats(capture_ctx *c) {
  if (c->p && !c->sender) {
    struct pcap_stat ps;
    if (pcap_stats(c->p, &ps) == 0) {
      c->total_recv += (uint32_t)(ps.ps_recv - c->last_recv);
      c->total_drop += (uint32_t)(ps.ps_drop - c->last_drop);
      c->total_ifdrop += (uint32_t)(ps.ps_ifdrop - c->last_ifdrop);
      c->last_recv = ps.ps_recv;
      c->last_drop = ps.ps_drop;
      c->last_ifdrop = ps.ps_ifdrop;
    }
  }
  if (!c->stats) return;
  c->stats[STAT_RECEIVED] = (double)c->total_recv;
  c->stats[STAT_KERNEL_DROPS] = (double)c->total_drop;
  c->stats[STAT_IF_DROPS] = (double)c->total_ifdrop;
  c->stats[STAT_CAPTURED] = (double)c->captured;
  c->stats[STAT_BYTES] = (double)c->bytes;
  c->stats[STAT_BATCHES] = (double)c->batches;
  c->stats[STAT_WAKEUPS] = (double)c->wakeups;
  c->stats[STAT_CLAMPED] = (double)c->clamped;
}

/* ---------- delivery ---------- */

static void put_u32(unsigned char *at, uint32_t v) {
  memcpy(at, &v, 4); /* host byte order, by contract */
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  capture_ctx *c = (capture_ctx *)user;
  uint32_t caplen = h->caplen;
  if (caplen > (uint32_t)c->snaplen) {
    caplen = (uint32_t)c->snaplen;
    c->clamped++;
  }
  size_t need = RECORD_HEADER + (size_t)caplen;
  if (c->batch == NULL || c->used + need > c->batch_cap) return; /* excluded by the dispatch count */
  unsigned char *at = c->batch + c->used;
  put_u32(at, (uint32_t)h->ts.tv_sec);
  put_u32(at + 4, (uint32_t)h->ts.tv_usec); /* nanoseconds: PCAP_TSTAMP_PRECISION_NANO */
  put_u32(at + 8, caplen);
  put_u32(at + 12, h->len);
  memcpy(at + RECORD_HEADER, bytes, caplen);
  c->used += need;
  c->records++;
}

/* Calls onBatch(bytes). Returns 0, or -1 with a JavaScript exception pending. */
static int deliver(capture_ctx *c, int from_js) {
  napi_env env = c->env;
  napi_value fn, recv, argv[1], result;
  if (napi_get_reference_value(env, c->on_batch_ref, &fn) != napi_ok || fn == NULL) return 0;
  napi_get_global(env, &recv); /* napi_make_callback needs an object receiver */
  napi_create_double(env, (double)c->used, &argv[0]);
  c->in_callback = 1;
  napi_status s = from_js ? napi_call_function(env, recv, fn, 1, argv, &result)
                          : napi_make_callback(env, c->async_ctx, recv, fn, 1, argv, &result);
  c->in_callback = 0;
  return s == napi_ok ? 0 : -1;
}

/*
 * Drains the ring into batches. Returns the records delivered, or -1 with an exception pending
 * (a libpcap read error is thrown as EPCAP). Stops after max_batches full batches.
 */
static long drain_ring(capture_ctx *c, int from_js, int max_batches) {
  long total = 0;
  int per_dispatch = (int)(c->batch_cap / (RECORD_HEADER + (size_t)c->snaplen));
  for (int b = 0; b < max_batches && !c->closed; b++) {
    c->used = 0;
    c->records = 0;
    int n = pcap_dispatch(c->p, per_dispatch, on_packet, (u_char *)c);
    if (n < 0) {
      char msg[PCAP_ERRBUF_SIZE + 64];
      snprintf(msg, sizeof msg, "capture read failed: %s", pcap_geterr(c->p));
      napi_throw_error(c->env, "EPCAP", msg);
      return -1;
    }
    if (c->records > 0) {
      c->captured += c->records;
      c->bytes += c->used;
      c->batches++;
      total += c->records;
      if (deliver(c, from_js) < 0) return -1;
      if (c->close_requested) {
        do_close(c, 0);
        break;
      }
    }
    if (n < per_dispatch) break; /* the ring is empty */
  }
  return total;
}

static void on_timer(uv_poll_t *handle, int status, int events);

static uint64_t monotonic_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The next poll's delay: the stretch's age / RAMP_DIVISOR or the rate window, whichever is the
 * smaller, at least FIRST_WINDOW_US, at most coalesce_us (which wins when it is the smaller). */
static int moderation_window_us(const capture_ctx *c, uint64_t now_us) {
  uint64_t w = (now_us - c->stretch_start_us) / RAMP_DIVISOR;
  if (w > c->rate_window_us) w = c->rate_window_us;
  if (w < FIRST_WINDOW_US) w = FIRST_WINDOW_US;
  if (w > (uint64_t)c->coalesce_us) w = (uint64_t)c->coalesce_us;
  return (int)w;
}

/* A ring read that started at read_us found `found` records, gathered since the read before it
 * started: the window that would hold TARGET_READ_RECORDS at that rate. A read that finds nothing
 * leaves it (the stretch then ends). The first read after an idle spell spans the spell: a long
 * window, which the stretch's young age then caps. */
static void note_read(capture_ctx *c, long found, uint64_t read_us) {
  uint64_t span = read_us - c->last_read_us;
  c->last_read_us = read_us;
  if (found <= 0) return;
  uint64_t w = span * TARGET_READ_RECORDS / (uint64_t)found;
  c->rate_window_us = w > MAX_COALESCE_US ? MAX_COALESCE_US : w;
}

/* Arms the one-shot moderation timer; returns 0, or -1 (then the capture fd is watched again). */
static int arm_timer(capture_ctx *c, int window_us) {
  struct itimerspec it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = window_us / 1000000;
  it.it_value.tv_nsec = (long)(window_us % 1000000) * 1000;
  if (timerfd_settime(c->timer_fd, 0, &it, NULL) != 0) return -1;
  if (!c->timer_polling) {
    if (uv_poll_start(&c->timer, UV_READABLE, on_timer) != 0) return -1;
    c->timer_polling = 1;
  }
  return 0;
}

/* Back to waking on the capture fd itself (the idle state: a lone SYN is delivered at once). */
static int watch_capture_fd(capture_ctx *c);

/*
 * After a wake-up: with records delivered, moderate (poll the ring again a window after the
 * read that found them); without, or without moderation, wait for the capture fd.
 *
 * The window counts from the read, not from the end of JavaScript's work on it: records that
 * arrived while JavaScript ran are due once the window is over, and when that work took longer
 * than the window (the first batch after an idle spell: ~5 us a record with cold caches, 100-
 * 160 us for 30 records in the latency lab, longer than the 100 us first window) the ring is
 * read again at once, up to MAX_REREADS_PER_WAKE times, instead of sleeping a whole window more
 * and paying a timer wake-up. A re-read that finds nothing ends the stretch: the next packet
 * wakes the loop, as on an idle link. `read_us`: when the last read started. Returns 0, or -1
 * with a JavaScript exception pending (from a re-read).
 */
static int after_drain(capture_ctx *c, long delivered, uint64_t read_us) {
  if (c->closed) return 0;
  int moderate = delivered > 0 && c->coalesce_us > 0 && c->timer_initialized;
  uint64_t now = monotonic_us();
  note_read(c, delivered, read_us);
  if (moderate) {
    if (now - c->last_records_us > STRETCH_GAP_US) c->stretch_start_us = now; /* 0 at first: a new stretch */
    c->last_records_us = now;
    for (int round = 0; round < MAX_REREADS_PER_WAKE && now - read_us >= (uint64_t)moderation_window_us(c, now); round++) {
      read_us = now;
      long more = drain_ring(c, 0, MAX_BATCHES_PER_WAKE);
      note_read(c, more, read_us);
      if (more < 0) return -1;
      if (c->closed) return 0;
      now = monotonic_us();
      if (more == 0) {
        moderate = 0;
        break;
      }
      c->last_records_us = now;
    }
  }
  if (moderate) {
    uint64_t elapsed = now - read_us;
    int window = moderation_window_us(c, now);
    if (c->polling) uv_poll_stop(&c->poll);
    c->polling = 0;
    /* At least 1 us: a zero it_value would disarm the timer. */
    if (arm_timer(c, elapsed < (uint64_t)window ? window - (int)elapsed : 1) == 0) return 0;
  }
  if (c->timer_polling) uv_poll_stop(&c->timer);
  c->timer_polling = 0;
  watch_capture_fd(c);
  return 0;
}

/* Drains from a libuv callback; a failure becomes the process's uncaught exception, since there
 * is nothing to return an error to (the JavaScript side catches its own exceptions first). */
static void drain_from_loop(capture_ctx *c, int status) {
  napi_env env = c->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  long r = 0;
  if (status < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "capture descriptor failed: %s", uv_strerror(status));
    napi_throw_error(env, "EPCAP", msg);
    r = -1;
  } else {
    uint64_t read_us = monotonic_us();
    r = drain_ring(c, 0, MAX_BATCHES_PER_WAKE);
    if (r >= 0) r = after_drain(c, r, read_us);
  }
  if (r < 0) {
    if (c->polling) uv_poll_stop(&c->poll);
    if (c->timer_polling) uv_poll_stop(&c->timer);
    c->polling = c->timer_polling = 0;
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  capture_ctx *c = (capture_ctx *)handle->data;
  if (c->closed) return;
  c->wakeups++;
  drain_from_loop(c, status);
}

static void on_timer(uv_poll_t *handle, int status, int events) {
  (void)events;
  capture_ctx *c = (capture_ctx *)handle->data;
  if (c->closed) return;
  uint64_t expirations;
  if (read(c->timer_fd, &expirations, sizeof expirations) < 0) { /* EAGAIN: nothing to clear */ }
  c->wakeups++;
  drain_from_loop(c, status);
}

static int watch_capture_fd(capture_ctx *c) {
  if (c->polling) return 0;
  int r = uv_poll_start(&c->poll, UV_READABLE, on_readable);
  if (r == 0) c->polling = 1;
  return r;
}

/* ---------- exported functions ---------- */

static napi_value set_prop(napi_env env, napi_value obj, const char *name, napi_value v) {
  napi_set_named_property(env, obj, name, v);
  return obj;
}

static const char *activate_code(int status) {
  switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE: return "ENODEV";
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED: return "EPERM";
    case PCAP_ERROR_IFACE_NOT_UP: return "ENETDOWN";
    default: return "EPCAP";
  }
}

static uint32_t linktype_of(int dlt) {
  /* DLT_ and LINKTYPE_ values agree except for a few historical ones; Linux's DLT_RAW is 12. */
  switch (dlt) {
    case 12: return 101;   /* DLT_RAW -> LINKTYPE_RAW */
    case 11: return 100;   /* DLT_ATM_RFC1483 -> LINKTYPE_ATM_RFC1483 */
    default: return (uint32_t)dlt;
  }
}

/* Creates and activates a handle; on failure throws and returns NULL. */
static pcap_t *activate(napi_env env, const char *iface, int snaplen, int64_t buffer_bytes,
                        int nano, char **warning) {
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  char msg[PCAP_ERRBUF_SIZE + MAX_NAME + 64];
  pcap_t *p = pcap_create(iface, errbuf);
  if (!p) {
    snprintf(msg, sizeof msg, "%s: %s", iface, errbuf);
    throw_code(env, "EPCAP", msg);
    return NULL;
  }
  int s = 0;
  if ((s = pcap_set_snaplen(p, snaplen)) != 0 || (s = pcap_set_promisc(p, 0)) != 0 ||
      (s = pcap_set_immediate_mode(p, 1)) != 0 || (s = pcap_set_buffer_size(p, (int)buffer_bytes)) != 0 ||
      (nano && (s = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO)) != 0)) {
    snprintf(msg, sizeof msg, "%s: %s", iface, pcap_statustostr(s));
    pcap_close(p);
    throw_code(env, "EPCAP", msg);
    return NULL;
  }
  s = pcap_activate(p);
  if (s < 0) {
    const char *detail = pcap_geterr(p);
    if (s == PCAP_ERROR || s == PCAP_ERROR_PERM_DENIED || s == PCAP_ERROR_NO_SUCH_DEVICE)
      snprintf(msg, sizeof msg, "%s", detail && *detail ? detail : pcap_statustostr(s));
    else
      snprintf(msg, sizeof msg, "%s%s%s", pcap_statustostr(s), detail && *detail ? ": " : "", detail ? detail : "");
    pcap_close(p);
    throw_code(env, activate_code(s), msg);
    return NULL;
  }
  *warning = s > 0 ? (char *)pcap_statustostr(s) : NULL;
  return p;
}

static int set_filter(napi_env env, pcap_t *p, const char *filter) {
  struct bpf_program prog;
  char msg[PCAP_ERRBUF_SIZE + 32];
  if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    snprintf(msg, sizeof msg, "%s", pcap_geterr(p));
    throw_code(env, "EFILTER", msg);
    return -1;
  }
  int s = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (s != 0) {
    snprintf(msg, sizeof msg, "cannot set the filter: %s", pcap_geterr(p));
    throw_code(env, "EFILTER", msg);
    return -1;
  }
  return 0;
}

static napi_value capture_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return throw_code(env, "EINVAL", "open(iface, snaplen, bufferBytes, coalesceUs, batch, stats, onBatch)");
  char iface[MAX_NAME];
  if (get_string(env, argv[0], iface, sizeof iface, "interface name") < 0) return NULL;
  int32_t snaplen = 0, coalesce_us = 0;
  int64_t buffer_bytes = 0;
  CHECK(env, napi_get_value_int32(env, argv[1], &snaplen));
  CHECK(env, napi_get_value_int64(env, argv[2], &buffer_bytes));
  CHECK(env, napi_get_value_int32(env, argv[3], &coalesce_us));
  if (coalesce_us < 0 || coalesce_us > MAX_COALESCE_US) return throw_code(env, "EINVAL", "coalesce time out of range (0..100000 us)");
  if (snaplen < 64 || snaplen > MAX_SNAPLEN) return throw_code(env, "EINVAL", "snaplen out of range (64..262144)");
  if (buffer_bytes < MIN_BUFFER_BYTES || buffer_bytes > MAX_BUFFER_BYTES)
    return throw_code(env, "EINVAL", "buffer size out of range (64 KiB..2 GiB)");

  bool is_buffer = false, is_typed = false;
  CHECK(env, napi_is_buffer(env, argv[4], &is_buffer));
  CHECK(env, napi_is_typedarray(env, argv[5], &is_typed));
  if (!is_buffer) return throw_code(env, "EINVAL", "batch must be a Buffer");
  if (!is_typed) return throw_code(env, "EINVAL", "stats must be a Float64Array");
  void *batch = NULL;
  size_t batch_cap = 0;
  CHECK(env, napi_get_buffer_info(env, argv[4], &batch, &batch_cap));
  if (batch_cap < RECORD_HEADER + (size_t)snaplen) return throw_code(env, "EINVAL", "batch buffer smaller than one record");
  napi_typedarray_type tt;
  size_t stats_len = 0;
  void *stats = NULL;
  CHECK(env, napi_get_typedarray_info(env, argv[5], &tt, &stats_len, &stats, NULL, NULL));
  if (tt != napi_float64_array || stats_len < STAT_COUNT) return throw_code(env, "EINVAL", "stats must be a Float64Array of 8");
  napi_valuetype ft;
  CHECK(env, napi_typeof(env, argv[6], &ft));
  if (ft != napi_function) return throw_code(env, "EINVAL", "onBatch must be a function");

  char *warning = NULL;
  pcap_t *p = activate(env, iface, snaplen, buffer_bytes, 1, &warning);
  if (!p) return NULL;
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  int fd = -1;
  if (pcap_setnonblock(p, 1, errbuf) != 0 || (fd = pcap_get_selectable_fd(p)) < 0) {
    char msg[PCAP_ERRBUF_SIZE + 64];
    snprintf(msg, sizeof msg, "cannot make the capture non-blocking: %s", *errbuf ? errbuf : "no selectable descriptor");
    pcap_close(p);
    return throw_code(env, "EPCAP", msg);
  }

  capture_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    pcap_close(p);
    return throw_code(env, "ENOMEM", "out of memory");
  }
  c->env = env;
  c->p = p;
  c->fd = fd;
  c->coalesce_us = coalesce_us;
  c->rate_window_us = MAX_COALESCE_US; /* no rate seen yet: the ramp alone */
  c->timer_fd = coalesce_us > 0 ? timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) : -1;
  c->snaplen = pcap_snapshot(p) > 0 && pcap_snapshot(p) < snaplen ? pcap_snapshot(p) : snaplen;
  c->batch = batch;
  c->batch_cap = batch_cap;
  c->stats = stats;
  napi_value handle, resource_name, result, v;
  if (napi_create_reference(env, argv[4], 1, &c->batch_ref) != napi_ok ||
      napi_create_reference(env, argv[5], 1, &c->stats_ref) != napi_ok ||
      napi_create_reference(env, argv[6], 1, &c->on_batch_ref) != napi_ok ||
      napi_create_string_utf8(env, "synwatch:capture", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, NULL, resource_name, &c->async_ctx) != napi_ok ||
      napi_create_external(env, c, finalize_ctx, NULL, &handle) != napi_ok) {
    c->external_gone = 1;
    do_close(c, 0);
    free_if_done(c);
    return throw_code(env, "EINVAL", "cannot create the capture handle");
  }
  CHECK(env, napi_create_object(env, &result));
  set_prop(env, result, "handle", handle);
  int dlt = pcap_datalink(p);
  CHECK(env, napi_create_uint32(env, linktype_of(dlt), &v));
  set_prop(env, result, "linkType", v);
  const char *lname = pcap_datalink_val_to_name(dlt);
  CHECK(env, napi_create_string_utf8(env, lname ? lname : "unknown", NAPI_AUTO_LENGTH, &v));
  set_prop(env, result, "linkName", v);
  CHECK(env, napi_create_int32(env, c->snaplen, &v));
  set_prop(env, result, "snaplen", v);
  CHECK(env, napi_create_int64(env, buffer_bytes, &v));
  set_prop(env, result, "bufferBytes", v);
  if (warning) CHECK(env, napi_create_string_utf8(env, warning, NAPI_AUTO_LENGTH, &v));
  else CHECK(env, napi_get_null(env, &v));
  set_prop(env, result, "warning", v);
  return result;
}

static napi_value capture_set_filter(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  capture_ctx *c = handle_arg(env, info, 2, argv, OPEN_CAPTURE);
  if (!c) return NULL;
  /* A fixed-size copy: the filter is the operator's, but its size is still bounded. */
  char *filter = malloc(MAX_FILTER);
  if (!filter) return throw_code(env, "ENOMEM", "out of memory");
  if (get_string(env, argv[1], filter, MAX_FILTER, "filter") == 0) set_filter(env, c->p, filter);
  free(filter);
  return NULL;
}

static napi_value capture_start(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  capture_ctx *c = handle_arg(env, info, 1, argv, OPEN_CAPTURE);
  if (!c) return NULL;
  if (c->polling || c->timer_polling) return NULL;
  uv_loop_t *loop = NULL;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  if (!c->poll_initialized) {
    int r = uv_poll_init(loop, &c->poll, c->fd);
    if (r != 0) return throw_code(env, "EPCAP", uv_strerror(r));
    c->poll.data = c;
    c->poll_initialized = 1;
    /* Without a timerfd (creation failed) the capture is simply not moderated. */
    if (c->timer_fd >= 0 && uv_poll_init(loop, &c->timer, c->timer_fd) == 0) {
      c->timer.data = c;
      c->timer_initialized = 1;
    }
  }
  if (c->timer_polling) return NULL; /* moderated: the timer is running */
  int r = watch_capture_fd(c);
  if (r != 0) return throw_code(env, "EPCAP", uv_strerror(r));
  return NULL;
}

static napi_value capture_drain(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  capture_ctx *c = handle_arg(env, info, 1, argv, OPEN_CAPTURE);
  if (!c) return NULL;
  if (c->in_callback) return throw_code(env, "EINVAL", "drain() inside onBatch");
  long total = 0;
  /* Bounded, so a flood faster than the pipeline cannot hold the caller here forever: 1024
   * batches are five full rings at the defaults (~190,000 frames, ~200 batches); a caller that
   * must empty a larger ring calls again while it returns records. */
  for (int rounds = 0; rounds < MAX_DRAIN_ROUNDS; rounds++) {
    long n = drain_ring(c, 1, MAX_BATCHES_PER_WAKE);
    if (n < 0) return NULL;
    total += n;
    if (n == 0 || c->closed) break;
  }
  CHECK(env, napi_create_double(env, (double)total, &out));
  return out;
}

static napi_value capture_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  capture_ctx *c = handle_arg(env, info, 1, argv, ANY_HANDLE);
  if (!c) return NULL;
  refresh_stats(c);
  return NULL;
}

static napi_value capture_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  capture_ctx *c = handle_arg(env, info, 1, argv, ANY_HANDLE);
  if (!c) return NULL;
  if (c->in_callback) c->close_requested = 1;
  else do_close(c, 0);
  return NULL;
}

static napi_value sender_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], handle, result, v;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char iface[MAX_NAME];
  if (argc < 1 || get_string(env, argv[0], iface, sizeof iface, "interface name") < 0) return NULL;
  char *warning = NULL;
  /* Smallest ring libpcap accepts; it receives nothing: the filter passes no packet. */
  pcap_t *p = activate(env, iface, 64, MIN_BUFFER_BYTES, 0, &warning);
  if (!p) return NULL;
  if (set_filter(env, p, "less 1") < 0) {
    pcap_close(p);
    return NULL;
  }
  capture_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    pcap_close(p);
    return throw_code(env, "ENOMEM", "out of memory");
  }
  c->env = env;
  c->p = p;
  c->timer_fd = -1;
  c->sender = 1;
  c->snaplen = 64;
  if (napi_create_external(env, c, finalize_ctx, NULL, &handle) != napi_ok) {
    c->external_gone = 1;
    do_close(c, 0);
    free_if_done(c);
    return throw_code(env, "EINVAL", "cannot create the sender handle");
  }
  CHECK(env, napi_create_object(env, &result));
  set_prop(env, result, "handle", handle);
  CHECK(env, napi_create_uint32(env, linktype_of(pcap_datalink(p)), &v));
  set_prop(env, result, "linkType", v);
  return result;
}

static napi_value sender_inject(napi_env env, napi_callback_info info) {
  napi_value argv[3], out;
  capture_ctx *c = handle_arg(env, info, 3, argv, OPEN_SENDER);
  if (!c) return NULL;
  bool is_buffer = false;
  CHECK(env, napi_is_buffer(env, argv[1], &is_buffer));
  if (!is_buffer) return throw_code(env, "EINVAL", "frame must be a Buffer");
  void *data = NULL;
  size_t cap = 0;
  uint32_t len = 0;
  CHECK(env, napi_get_buffer_info(env, argv[1], &data, &cap));
  CHECK(env, napi_get_value_uint32(env, argv[2], &len));
  if (len > cap) return throw_code(env, "EINVAL", "length exceeds the frame buffer");
  int sent = pcap_inject(c->p, data, len);
  if (sent < 0) {
    char msg[PCAP_ERRBUF_SIZE + 32];
    snprintf(msg, sizeof msg, "send failed: %s", pcap_geterr(c->p));
    return throw_code(env, "EPCAP", msg);
  }
  CHECK(env, napi_create_int32(env, sent, &out));
  return out;
}

static napi_value list_interfaces(napi_env env, napi_callback_info info) {
  (void)info;
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_if_t *all = NULL;
  if (pcap_findalldevs(&all, errbuf) != 0) {
    char msg[PCAP_ERRBUF_SIZE + 32];
    snprintf(msg, sizeof msg, "cannot list interfaces: %s", errbuf);
    return throw_code(env, "EPCAP", msg);
  }
  napi_value arr, obj, v;
  uint32_t i = 0;
  if (napi_create_array(env, &arr) != napi_ok) {
    pcap_freealldevs(all);
    return NULL;
  }
  for (pcap_if_t *d = all; d; d = d->next) {
    if (napi_create_object(env, &obj) != napi_ok) break;
    napi_create_string_utf8(env, d->name ? d->name : "", NAPI_AUTO_LENGTH, &v);
    set_prop(env, obj, "name", v);
    if (d->description) napi_create_string_utf8(env, d->description, NAPI_AUTO_LENGTH, &v);
    else napi_get_null(env, &v);
    set_prop(env, obj, "description", v);
    napi_get_boolean(env, (d->flags & PCAP_IF_LOOPBACK) != 0, &v);
    set_prop(env, obj, "loopback", v);
    napi_get_boolean(env, (d->flags & PCAP_IF_UP) != 0, &v);
    set_prop(env, obj, "up", v);
    napi_get_boolean(env, (d->flags & PCAP_IF_RUNNING) != 0, &v);
    set_prop(env, obj, "running", v);
    napi_set_element(env, arr, i++, obj);
  }
  pcap_freealldevs(all);
  return arr;
}

static napi_value realtime_us(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  napi_value out;
  CHECK(env, napi_create_double(env, (double)ts.tv_sec * 1e6 + (double)(ts.tv_nsec / 1000), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value version, n;
  CHECK(env, napi_create_string_utf8(env, pcap_lib_version(), NAPI_AUTO_LENGTH, &version));
  CHECK(env, napi_create_uint32(env, STAT_COUNT, &n));
  napi_property_descriptor fns[] = {
    {"open", NULL, capture_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setFilter", NULL, capture_set_filter, NULL, NULL, NULL, napi_enumerable, NULL},
    {"start", NULL, capture_start, NULL, NULL, NULL, napi_enumerable, NULL},
    {"drain", NULL, capture_drain, NULL, NULL, NULL, napi_enumerable, NULL},
    {"stats", NULL, capture_stats, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, capture_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openSender", NULL, sender_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"inject", NULL, sender_inject, NULL, NULL, NULL, napi_enumerable, NULL},
    {"interfaces", NULL, list_interfaces, NULL, NULL, NULL, napi_enumerable, NULL},
    {"realtimeUs", NULL, realtime_us, NULL, NULL, NULL, napi_enumerable, NULL},
    {"version", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
    {"statCount", NULL, NULL, NULL, NULL, n, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

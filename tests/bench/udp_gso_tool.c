/* tests/bench/udp_gso_tool.c: UDP traffic tool of tests/bench/run.sh's "UDP, GSO sender"
 * ladder (compiled by the script with cc -O2 into its temp dir; never committed as a
 * binary). It sends the way QUIC-style applications do, one sendmsg of many datagrams
 * with UDP_SEGMENT, so that the sender's syscalls are not what limits the measurement.
 *
 *   send --src IP --dst IP:PORT --rate BITS_PER_S --size PAYLOAD --gso N --secs S [--run HEX]
 *        Sends UDP datagrams of PAYLOAD bytes (16..65507) from IP (port chosen by the
 *        kernel) to IP:PORT for S seconds at an average of BITS_PER_S payload bits per
 *        second (a number, optionally with k/K, M or G: SI multipliers). The datagrams go
 *        in bursts of N (1..64, N * PAYLOAD <= 65507): N > 1 is one sendmsg with
 *        UDP_SEGMENT = PAYLOAD that the kernel cuts into N datagrams; N = 1 is one plain
 *        sendmsg per datagram. Bursts are paced against CLOCK_MONOTONIC; when ahead the
 *        sender sleeps (nanosleep) until the next burst is due, when behind it sends the
 *        missed bursts back to back. Every datagram starts with a 16-byte header: run id
 *        (64-bit, random unless --run), sequence number (64-bit, from 0), both big-endian;
 *        the rest is zero. A burst that fails (ENOBUFS, EAGAIN, ECONNREFUSED, ...) is
 *        counted as failed, not sent, and its sequence numbers are skipped.
 *        Prints: sent DATAGRAMS BYTES SECONDS     (BYTES = UDP payload bytes sent)
 *                errors ENOBUFS EAGAIN ECONNREFUSED OTHER   (failed datagrams by cause)
 *                run RUN_ID_HEX
 *        Exit 0; 1 on a socket set-up error or an error that cannot be retried (EMSGSIZE,
 *        EINVAL: e.g. PAYLOAD above the route's MTU with GSO); 2 on a usage error.
 *   recv --bind IP:PORT --secs S [--run HEX] [--idle SECS]
 *        Receives with UDP_GRO on (a read may return several datagrams coalesced by the
 *        kernel; the UDP_GRO control message gives the segment size they are cut back
 *        into) and recvmmsg of up to 32 64-KiB buffers, SO_RCVBUF(FORCE) 32 MiB. Counts
 *        the datagrams of one run: the run id given with --run, else the run id of the
 *        first datagram received; datagrams of other runs or shorter than the header are
 *        counted apart. Distinct sequence numbers are kept in a bitmap (2^28 of them), so
 *        duplicates are exact. Stops S seconds after its start, or when nothing came for
 *        --idle seconds (default 1) after the first datagram of the run, or at
 *        SIGTERM/SIGINT.
 *        Prints: recv DISTINCT DUPLICATES BYTES FIRST_TO_LAST_SECONDS
 *                     (BYTES = payload bytes of the distinct datagrams; SECONDS from the
 *                      first to the last datagram of the run)
 *                detail reads R segments G foreign F short H beyond_bitmap B max_seq M
 *                     reordered O truncated T sock_drops D run RUN_ID_HEX
 *                     (reads: recvmmsg messages; segments: datagrams after splitting GRO
 *                     buffers; reordered: datagrams whose sequence number is below one
 *                     already seen; sock_drops: packets the kernel dropped at this
 *                     socket (SO_MEMINFO; receive buffer full: the receiver's own loss;
 *                     a GRO buffer dropped whole counts once; -1 if unknown))
 *        Exit 0; 1 on a socket error; 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
enum { kMeminfoVars = 9, kMeminfoDrops = 8 }; /* linux/sock_diag.h SK_MEMINFO_VARS, _DROPS */

enum { kHeader = 16, kMaxPayload = 65507, kMaxGso = 64, kBatch = 32, kBufSize = 65536 };
static const uint64_t kSeqBits = 1ull << 28; /* 32 MiB bitmap, only touched pages cost */

static volatile sig_atomic_t stop_flag;
static void on_signal(int s) { (void)s; stop_flag = 1; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) { p[i] = (uint8_t)v; v >>= 8; }
}
static uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

static int usage(const char* msg) {
  fprintf(stderr,
          "udp_gso_tool: %s\n"
          "usage: udp_gso_tool send --src IP --dst IP:PORT --rate BITS_PER_S --size PAYLOAD --gso N --secs S [--run HEX]\n"
          "       udp_gso_tool recv --bind IP:PORT --secs S [--run HEX] [--idle SECS]\n",
          msg);
  return 2;
}

/* Options are "--name value" pairs after the mode; an unknown name or a missing value is a
 * usage error (returns 0), so that a typo never runs with a default. */
struct opt {
  const char* name;
  const char* value;
};
static int parse_opts(int argc, char** argv, struct opt* opts, size_t n) {
  for (int i = 2; i < argc; i += 2) {
    size_t k = 0;
    while (k < n && strcmp(argv[i], opts[k].name) != 0) ++k;
    if (k == n) { fprintf(stderr, "udp_gso_tool: unknown option '%s'\n", argv[i]); return 0; }
    if (i + 1 >= argc) { fprintf(stderr, "udp_gso_tool: %s needs a value\n", argv[i]); return 0; }
    opts[k].value = argv[i + 1];
  }
  return 1;
}
static const char* opt_get(const struct opt* opts, size_t n, const char* name) {
  for (size_t k = 0; k < n; ++k)
    if (strcmp(opts[k].name, name) == 0) return opts[k].value;
  return NULL;
}

/* A finite number >= lo and <= hi, with an optional SI suffix if si. */
static int parse_num(const char* s, int si, double lo, double hi, double* out) {
  if (!s || !*s) return 0;
  char* end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s) return 0;
  if (si && *end) {
    switch (*end) {
      case 'k': case 'K': v *= 1e3; break;
      case 'M': v *= 1e6; break;
      case 'G': v *= 1e9; break;
      default: return 0;
    }
    ++end;
  }
  if (*end || !(v >= lo && v <= hi)) return 0;
  *out = v;
  return 1;
}

static int parse_u64_hex(const char* s, uint64_t* out) {
  if (!s || !*s || strlen(s) > 16) return 0;
  char* end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 16);
  if (errno != 0 || *end) return 0;
  *out = v;
  return 1;
}

/* IPv4 "a.b.c.d" or "a.b.c.d:port" (port 1..65535 when with_port). */
static int parse_addr(const char* s, int with_port, struct sockaddr_in* out) {
  char host[64];
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  if (!s) return 0;
  const char* colon = strrchr(s, ':');
  if (with_port) {
    if (!colon || (size_t)(colon - s) >= sizeof host) return 0;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    double port;
    if (!parse_num(colon + 1, 0, 1, 65535, &port) || port != (double)(int)port) return 0;
    out->sin_port = htons((uint16_t)port);
  } else {
    if (colon || strlen(s) >= sizeof host) return 0;
    strcpy(host, s);
  }
  return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

/* SO_xxxBUFFORCE (needs CAP_NET_ADMIN, ignores the sysctl maximum), else the plain one. */
static void set_buf(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) == 0) return;
  if (setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes) != 0) perror("udp_gso_tool: setsockopt(buffer size)");
}

static int do_send(int argc, char** argv) {
  struct opt o[] = {{"--src", NULL},  {"--dst", NULL}, {"--rate", NULL}, {"--size", NULL},
                    {"--gso", NULL},  {"--secs", NULL}, {"--run", NULL}};
  const size_t no = sizeof o / sizeof o[0];
  if (!parse_opts(argc, argv, o, no)) return usage("bad options");
  struct sockaddr_in src, dst;
  double rate, size_d, gso_d, secs;
  if (!parse_addr(opt_get(o, no, "--src"), 0, &src)) return usage("--src IP (IPv4) needed");
  if (!parse_addr(opt_get(o, no, "--dst"), 1, &dst)) return usage("--dst IP:PORT needed");
  if (!parse_num(opt_get(o, no, "--rate"), 1, 1, 1e12, &rate)) return usage("--rate BITS_PER_S needed (1 .. 1000G)");
  if (!parse_num(opt_get(o, no, "--size"), 0, kHeader, kMaxPayload, &size_d) || size_d != (double)(int)size_d)
    return usage("--size PAYLOAD needed (an integer, 16 .. 65507)");
  if (!parse_num(opt_get(o, no, "--gso"), 0, 1, kMaxGso, &gso_d) || gso_d != (double)(int)gso_d)
    return usage("--gso N needed (an integer, 1 .. 64)");
  if (!parse_num(opt_get(o, no, "--secs"), 0, 0.01, 86400, &secs)) return usage("--secs S needed (0.01 .. 86400)");
  const int size = (int)size_d, gso = (int)gso_d;
  if ((long)size * gso > kMaxPayload) return usage("--size * --gso must be <= 65507 (one UDP datagram before segmentation)");
  uint64_t run_id;
  if (opt_get(o, no, "--run")) {
    if (!parse_u64_hex(opt_get(o, no, "--run"), &run_id)) return usage("--run: up to 16 hex digits");
  } else if (getrandom(&run_id, sizeof run_id, 0) != (ssize_t)sizeof run_id) {
    perror("udp_gso_tool: getrandom");
    return 1;
  }
  const double dps = rate / 8.0 / size; /* datagrams per second */
  const uint64_t total = (uint64_t)(dps * secs + 0.5);
  if (total == 0) return usage("--rate * --secs is less than one datagram");
  if (total > kSeqBits) return usage("more than 2^28 datagrams in one run (lower --rate or --secs)");

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("udp_gso_tool: socket"); return 1; }
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 << 20);
  if (bind(fd, (struct sockaddr*)&src, sizeof src) != 0) { perror("udp_gso_tool: bind --src"); return 1; }
  if (gso > 1 && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, sizeof size) != 0) {
    perror("udp_gso_tool: setsockopt(UDP_SEGMENT)");
    return 1;
  }
  /* nanosleep wakes up to timer_slack late (50 us by default); 1 us keeps bursts even */
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);

  static uint8_t buf[kMaxPayload];
  memset(buf, 0, sizeof buf);
  for (int i = 0; i < gso; ++i) put64(buf + (size_t)i * size, run_id);
  struct iovec iov = {.iov_base = buf, .iov_len = 0};
  struct msghdr msg = {.msg_name = &dst, .msg_namelen = sizeof dst, .msg_iov = &iov, .msg_iovlen = 1};

  uint64_t seq = 0, sent = 0, e_nobufs = 0, e_again = 0, e_refused = 0, e_other = 0;
  int rc = 0;
  const double start = now_s();
  while (seq < total && !stop_flag) {
    const double t = now_s() - start;
    /* the burst holding datagram seq is due when that datagram is */
    const double due_at = (double)seq / dps;
    if (due_at > t) {
      const double wait = due_at - t;
      struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
      nanosleep(&ts, NULL);
      continue;
    }
    const int n = (int)((total - seq) < (uint64_t)gso ? (total - seq) : (uint64_t)gso);
    for (int i = 0; i < n; ++i) put64(buf + (size_t)i * size + 8, seq + (uint64_t)i);
    iov.iov_len = (size_t)n * size;
    if (sendmsg(fd, &msg, 0) >= 0) {
      sent += (uint64_t)n;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == ENOBUFS) {
      e_nobufs += (uint64_t)n;
    } else if (errno == EAGAIN) {
      e_again += (uint64_t)n;
    } else if (errno == ECONNREFUSED) {
      e_refused += (uint64_t)n;
    } else if (errno == EMSGSIZE || errno == EINVAL || errno == EIO) {
      fprintf(stderr, "udp_gso_tool: sendmsg of %d x %d bytes: %s\n", n, size, strerror(errno));
      rc = 1;
      break;
    } else {
      e_other += (uint64_t)n;
    }
    seq += (uint64_t)n;
  }
  const double elapsed = now_s() - start;
  printf("sent %llu %llu %.6f\n", (unsigned long long)sent, (unsigned long long)sent * (unsigned long long)size,
         elapsed);
  printf("errors %llu %llu %llu %llu\n", (unsigned long long)e_nobufs, (unsigned long long)e_again,
         (unsigned long long)e_refused, (unsigned long long)e_other);
  printf("run %016llx\n", (unsigned long long)run_id);
  close(fd);
  return rc;
}

static int do_recv(int argc, char** argv) {
  struct opt o[] = {{"--bind", NULL}, {"--secs", NULL}, {"--run", NULL}, {"--idle", NULL}};
  const size_t no = sizeof o / sizeof o[0];
  if (!parse_opts(argc, argv, o, no)) return usage("bad options");
  struct sockaddr_in local;
  double secs, idle = 1.0;
  if (!parse_addr(opt_get(o, no, "--bind"), 1, &local)) return usage("--bind IP:PORT needed");
  if (!parse_num(opt_get(o, no, "--secs"), 0, 0.01, 86400, &secs)) return usage("--secs S needed (0.01 .. 86400)");
  if (opt_get(o, no, "--idle") && !parse_num(opt_get(o, no, "--idle"), 0, 0.01, 3600, &idle))
    return usage("--idle SECS: 0.01 .. 3600");
  uint64_t run_id = 0;
  int have_run = 0;
  if (opt_get(o, no, "--run")) {
    if (!parse_u64_hex(opt_get(o, no, "--run"), &run_id)) return usage("--run: up to 16 hex digits");
    have_run = 1;
  }

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("udp_gso_tool: socket"); return 1; }
  set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, 32 << 20);
  int one = 1;
  if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) != 0) { perror("udp_gso_tool: setsockopt(UDP_GRO)"); return 1; }
  if (bind(fd, (struct sockaddr*)&local, sizeof local) != 0) { perror("udp_gso_tool: bind --bind"); return 1; }
  /* wake up every 50 ms to check the deadlines */
  struct timeval tv = {0, 50000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: recvmmsg returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  uint8_t* seen = calloc(kSeqBits / 8, 1);
  static uint8_t bufs[kBatch][kBufSize];
  static union {
    struct cmsghdr align;
    char b[CMSG_SPACE(sizeof(int))];
  } ctl[kBatch];
  struct mmsghdr msgs[kBatch];
  struct iovec iov[kBatch];
  if (!seen) { fprintf(stderr, "udp_gso_tool: out of memory\n"); return 1; }
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < kBatch; ++i) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = kBufSize;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  uint64_t distinct = 0, dups = 0, bytes = 0, reads = 0, segments = 0, foreign = 0, shorts = 0, beyond = 0;
  uint64_t max_seq = 0, reordered = 0, truncated = 0;
  int have_first = 0, rc = 0;
  double first = 0, last = 0;
  const double start = now_s();
  for (;;) {
    const double t = now_s();
    if (stop_flag || t - start >= secs || (have_first && t - last >= idle)) break;
    for (int i = 0; i < kBatch; ++i) {
      msgs[i].msg_hdr.msg_control = ctl[i].b;
      msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].b;
      msgs[i].msg_hdr.msg_flags = 0;
    }
    const int n = recvmmsg(fd, msgs, kBatch, MSG_WAITFORONE, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      perror("udp_gso_tool: recvmmsg");
      rc = 1;
      break;
    }
    const double at = now_s();
    for (int i = 0; i < n; ++i) {
      ++reads;
      const size_t len = msgs[i].msg_len;
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ++truncated;
      size_t seg = len;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
          int g;
          memcpy(&g, CMSG_DATA(c), sizeof g);
          if (g > 0) seg = (size_t)g;
        }
      }
      if (len == 0) { ++segments; ++shorts; continue; }
      for (size_t off = 0; off < len; off += seg) {
        const size_t l = len - off < seg ? len - off : seg;
        const uint8_t* p = bufs[i] + off;
        ++segments;
        if (l < kHeader) { ++shorts; continue; }
        const uint64_t id = get64(p), s = get64(p + 8);
        if (!have_run) { run_id = id; have_run = 1; }
        if (id != run_id) { ++foreign; continue; }
        if (!have_first) { first = at; have_first = 1; }
        last = at;
        if (s >= kSeqBits) { ++beyond; continue; }
        if (s < max_seq) ++reordered;
        if (s > max_seq) max_seq = s;
        uint8_t* b = &seen[s >> 3];
        const uint8_t bit = (uint8_t)(1u << (s & 7));
        if (*b & bit) { ++dups; continue; }
        *b |= bit;
        ++distinct;
        bytes += l;
      }
    }
  }
  /* drops at this socket (receive buffer full), so its own slowness shows as such */
  long long sock_drops = -1;
  uint32_t mem[kMeminfoVars];
  socklen_t mlen = sizeof mem;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &mlen) == 0 && mlen > kMeminfoDrops * sizeof mem[0])
    sock_drops = mem[kMeminfoDrops];
  printf("recv %llu %llu %llu %.6f\n", (unsigned long long)distinct, (unsigned long long)dups,
         (unsigned long long)bytes, have_first ? last - first : 0.0);
  printf("detail reads %llu segments %llu foreign %llu short %llu beyond_bitmap %llu max_seq %llu reordered %llu "
         "truncated %llu sock_drops %lld run %016llx\n",
         (unsigned long long)reads, (unsigned long long)segments, (unsigned long long)foreign,
         (unsigned long long)shorts, (unsigned long long)beyond, (unsigned long long)max_seq,
         (unsigned long long)reordered, (unsigned long long)truncated, sock_drops, (unsigned long long)run_id);
  free(seen);
  close(fd);
  return rc;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "send") == 0) return do_send(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "recv") == 0) return do_recv(argc, argv);
  return usage("first argument: send or recv");
}

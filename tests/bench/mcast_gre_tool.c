/* tests/bench/mcast_gre_tool.c: traffic tool of tests/bench/mcast_rx.sh (compiled by the
 * script with cc into its temp dir; never committed as a binary).
 *
 *   send  --local A --remote B --src S --group G --port P --size N --rate R --seconds T
 *         [--seq0 N] [--status F]
 *         Sends R GRE packets/s (RFC 2784, 4-byte header, protocol type 0x0800) from A to B
 *         over a raw IPPROTO_GRE socket (the kernel adds the outer IPv4 header). Each one
 *         carries an inner IPv4/UDP datagram S:P -> G:P, TTL 16, whose N-byte payload is
 *         mcast_sender.py's: "SWLM" | seq u64 (from --seq0) | CLOCK_REALTIME ns u64 | zero padding.
 *         Paced in 1 ms slots, sent with sendmmsg. Writes {"sent":..,"errors":..,"seconds":..}.
 *   recv  --port P [--status F]
 *         Binds 0.0.0.0:P (SO_RCVBUF 4 MiB), counts datagrams with the "SWLM" magic and the
 *         distinct sequence numbers among them; writes {"received":..,"unique":..,"max_seq":..}
 *         every 200 ms and at SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static uint16_t ip_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static void write_status(const char* path, const char* json) {
  if (!path) return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* f = fopen(tmp, "w");
  if (!f) return;
  fputs(json, f);
  fputc('\n', f);
  fclose(f);
  rename(tmp, path);
}

static const char* arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 2; i + 1 < argc; i += 2)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}

#define BATCH 64
#define MAXPKT 2048

static int do_send(int argc, char** argv) {
  const char* local = arg(argc, argv, "--local", NULL);
  const char* remote = arg(argc, argv, "--remote", NULL);
  const char* src = arg(argc, argv, "--src", "198.18.31.10");
  const char* group = arg(argc, argv, "--group", "239.1.1.1");
  int port = atoi(arg(argc, argv, "--port", "5000"));
  int size = atoi(arg(argc, argv, "--size", "200"));
  double rate = atof(arg(argc, argv, "--rate", "1000"));
  double secs = atof(arg(argc, argv, "--seconds", "5"));
  const char* status = arg(argc, argv, "--status", NULL);
  const uint64_t seq0 = strtoull(arg(argc, argv, "--seq0", "0"), NULL, 10);
  if (!local || !remote || size < 20 || size > 1400 || rate <= 0) {
    fprintf(stderr, "send: --local and --remote needed, 20 <= size <= 1400, rate > 0\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_GRE);
  if (fd < 0) { perror("socket(IPPROTO_GRE)"); return 1; }
  struct sockaddr_in la = {.sin_family = AF_INET}, ra = {.sin_family = AF_INET};
  inet_pton(AF_INET, local, &la.sin_addr);
  inet_pton(AF_INET, remote, &ra.sin_addr);
  if (bind(fd, (struct sockaddr*)&la, sizeof la) < 0) { perror("bind"); return 1; }
  if (connect(fd, (struct sockaddr*)&ra, sizeof ra) < 0) { perror("connect"); return 1; }
  int sb = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);

  static uint8_t pkt[BATCH][MAXPKT];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  const size_t inner = 20 + 8 + (size_t)size, total = 4 + inner;
  struct in_addr s_in, g_in;
  inet_pton(AF_INET, src, &s_in);
  inet_pton(AF_INET, group, &g_in);
  for (int i = 0; i < BATCH; ++i) {
    uint8_t* p = pkt[i];
    memset(p, 0, MAXPKT);
    p[2] = 0x08; p[3] = 0x00;               /* GRE: no flags, version 0, type IPv4 */
    uint8_t* ip = p + 4;
    ip[0] = 0x45; ip[2] = (uint8_t)(inner >> 8); ip[3] = (uint8_t)inner;
    ip[6] = 0x40;                            /* DF */
    ip[8] = 16; ip[9] = 17;                  /* TTL 16, UDP */
    memcpy(ip + 12, &s_in, 4); memcpy(ip + 16, &g_in, 4);
    uint16_t ck = ip_checksum(ip, 20);
    ip[10] = (uint8_t)(ck >> 8); ip[11] = (uint8_t)ck;
    uint8_t* udp = ip + 20;
    udp[0] = (uint8_t)(port >> 8); udp[1] = (uint8_t)port;
    udp[2] = (uint8_t)(port >> 8); udp[3] = (uint8_t)port;
    udp[4] = (uint8_t)((8 + size) >> 8); udp[5] = (uint8_t)(8 + size);  /* checksum 0: none */
    memcpy(udp + 8, "SWLM", 4);
    iov[i].iov_base = p; iov[i].iov_len = total;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  uint64_t seq = 0, errors = 0;
  const double start = now_s(), end = start + secs;
  for (;;) {
    double t = now_s();
    if (t >= end || stop_flag) break;
    uint64_t due = (uint64_t)((t - start) * rate) + 1;
    if (due > (uint64_t)(secs * rate)) due = (uint64_t)(secs * rate);
    if (seq >= due) {
      struct timespec ts = {0, 1000000};     /* 1 ms slots */
      nanosleep(&ts, NULL);
      continue;
    }
    while (seq < due && !stop_flag) {
      int n = (int)((due - seq) < BATCH ? (due - seq) : BATCH);
      struct timespec rt;
      clock_gettime(CLOCK_REALTIME, &rt);
      uint64_t ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
      for (int i = 0; i < n; ++i) {
        put64(pkt[i] + 4 + 28 + 4, seq0 + seq + (uint64_t)i);
        put64(pkt[i] + 4 + 28 + 12, ns);
      }
      int r = sendmmsg(fd, msgs, (unsigned)n, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        errors += (uint64_t)n;               /* counted as sent and failed */
        r = n;
      }
      seq += (uint64_t)r;
    }
  }
  char json[256];
  snprintf(json, sizeof json, "{\"sent\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"rate\": %.0f}",
           (unsigned long long)seq, (unsigned long long)errors, now_s() - start, rate);
  puts(json);
  write_status(status, json);
  return 0;
}

static int do_recv(int argc, char** argv) {
  int port = atoi(arg(argc, argv, "--port", "5001"));
  const char* status = arg(argc, argv, "--status", NULL);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  int one = 1, rb = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (bind(fd, (struct sockaddr*)&a, sizeof a) < 0) { perror("bind"); return 1; }
  struct timeval tv = {0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;                 /* no SA_RESTART: recvmmsg returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  const uint64_t kSeqMax = 1ull << 26;       /* 64 Mi sequence numbers: 8 MiB bitmap */
  uint8_t* seen = calloc(kSeqMax / 8, 1);
  if (!seen) return 1;
  static uint8_t buf[BATCH][MAXPKT];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; ++i) {
    iov[i].iov_base = buf[i]; iov[i].iov_len = MAXPKT;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t received = 0, unique = 0, max_seq = 0, foreign = 0;
  double last = 0;
  printf("mcast_gre_tool recv: port %d\n", port);
  fflush(stdout);
  for (;;) {
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    for (int i = 0; i < n; ++i) {
      const uint8_t* p = buf[i];
      if (msgs[i].msg_len < 20 || memcmp(p, "SWLM", 4) != 0) { ++foreign; continue; }
      uint64_t s = 0;
      for (int k = 0; k < 8; ++k) s = s << 8 | p[4 + k];
      ++received;
      if (s > max_seq) max_seq = s;
      if (s < kSeqMax && !(seen[s / 8] & (1u << (s % 8)))) { seen[s / 8] |= (uint8_t)(1u << (s % 8)); ++unique; }
    }
    double t = now_s();
    if (t - last >= 0.2 || stop_flag) {
      char json[256];
      snprintf(json, sizeof json, "{\"received\": %llu, \"unique\": %llu, \"max_seq\": %llu, \"foreign\": %llu}",
               (unsigned long long)received, (unsigned long long)unique, (unsigned long long)max_seq,
               (unsigned long long)foreign);
      write_status(status, json);
      last = t;
      if (stop_flag) break;
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "send") == 0) return do_send(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "recv") == 0) return do_recv(argc, argv);
  fprintf(stderr, "usage: %s send|recv [--option value]...\n", argv[0]);
  return 2;
}

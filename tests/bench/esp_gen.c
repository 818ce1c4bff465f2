/* tests/bench/esp_gen.c: the receive-path load generator of tests/bench/mcast_rx.sh, its
 * receivers and the join of the two (issue 12). C on OpenSSL 3 (EVP), independent of
 * swanless's esp/ code: it only reads a live SA's keys from a keylog file in Wireshark's
 * esp_sa format. Compiled by the scripts with `cc -O2 ... -lcrypto` into their temp dir;
 * never committed as a binary.
 *
 *   send     the generator. Pre-encrypts, before the clock starts, COUNT ESP-in-UDP packets
 *            (RFC 4303 tunnel mode inside RFC 3948 UDP) of one SA with increasing ESP
 *            sequence numbers. Each carries IPv4 INNER_SRC -> INNER_DST / GRE (RFC 2784,
 *            0x0800) / IPv4 MC_SRC -> GROUP / UDP PORT -> PORT / SIZE bytes of payload:
 *            "SWLM" | u64 sequence number | u64 0 | zero padding (tests/lab/mcast_sender.py's
 *            layout; the send time is not in it, as the packet exists before it is sent).
 *            Then sends them at RATE packets/s in bursts of BURST from a UDP socket bound to
 *            SRC:SPORT, connected to DST:DPORT: one sendmsg with UDP_SEGMENT per burst
 *            (--mode gso, default; the kernel cuts it, or hands it whole to a UDP_GRO
 *            socket), or one sendmmsg per burst (--mode mmsg). A burst leaves at
 *            t0 + k * BURST / RATE; its CLOCK_MONOTONIC time taken just before the call is
 *            each of its packets' send time, written as u64 ns per packet to --times.
 *            --pcap FILE writes the packets (outer IPv4/UDP added) as a pcap and sends
 *            nothing: the input of the tshark test.
 *     --keylog FILE --spi HEX --src A --dst B [--sport 4500] [--dport 4500]
 *     --inner-src A --inner-dst B --mc-src A --group G [--port 5000] [--size 200]
 *     [--rate R] --count N [--seq0 S] [--esp-seq0 E] [--burst 32] [--mode gso|mmsg]
 *     [--times FILE] [--status FILE] [--pcap FILE]
 *   recv     a receiver. Reads datagrams with recvmmsg and records, per datagram with the
 *            magic, (seq, time read in user space, kernel receive time) in ns of
 *            CLOCK_MONOTONIC (the kernel's SO_TIMESTAMPNS is CLOCK_REALTIME, moved onto
 *            CLOCK_MONOTONIC by the offset between the two read at start). Sources:
 *              --port P [--bind A] [--group G --ifname DEV]   a UDP socket (joined on DEV)
 *              --raw-gre                                      a raw IPPROTO_GRE socket: the
 *                 GRE packets a TUN (strongSwan's ipsec0) hands to the kernel, parsed
 *                 down to the UDP payload
 *            Writes its records to --out when it ends: on SIGTERM/SIGINT, or IDLE seconds
 *            after the last datagram (--idle, default 2, counted from the first). --ready
 *            FILE is created once the socket is open.
 *   analyze  joins a send's --times with a receiver's --out for sequence numbers
 *            [SEQ0, SEQ0 + COUNT): delivered (distinct), lost, duplicated, reordered (an
 *            arrival below the highest sequence number seen before it), and the latency
 *            (arrival - send) p50/p99/p99.9/max, at the socket (kernel time) and in the
 *            application (user time). One JSON object on stdout.
 *     --times FILE --recv FILE --seq0 S --count N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static void die(const char* fmt, const char* arg) {
  fprintf(stderr, "esp_gen: ");
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  exit(1);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t* p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static void put64(uint8_t* p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

static uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += (uint32_t)(p[n - 1] << 8);
  return sum;
}
static uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static uint32_t addr(const char* s) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) die("not an IPv4 address: %s", s);
  return ntohl(a.s_addr);
}

/* An IPv4 header of 20 bytes at p; returns its length. */
static size_t ipv4(uint8_t* p, uint32_t src, uint32_t dst, uint8_t proto, uint8_t ttl, size_t total, uint16_t id) {
  memset(p, 0, 20);
  p[0] = 0x45;
  put16(p + 2, (uint16_t)total);
  put16(p + 4, id);
  p[8] = ttl;
  p[9] = proto;
  put32(p + 12, src);
  put32(p + 16, dst);
  put16(p + 10, fold(sum16(p, 20, 0)));
  return 20;
}

/* ---------------------------------------------------------------------------------------
 * the SA, from an esp_sa line */

typedef struct {
  uint32_t spi;
  int gcm;                 /* AES-GCM-16 (RFC 4106) or AES-CBC + HMAC */
  uint8_t key[64];
  size_t key_len;          /* cipher key, without the GCM salt */
  uint8_t salt[4];
  uint8_t auth_key[64];
  size_t auth_key_len;
  const char* digest;      /* HMAC's digest name */
  size_t icv_len;
} Sa;

static size_t unhex(const char* s, uint8_t* out, size_t cap) {
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  size_t n = strlen(s);
  if (n % 2 || n / 2 > cap) return (size_t)-1;
  for (size_t i = 0; i < n / 2; ++i) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return (size_t)-1;
    out[i] = (uint8_t)v;
  }
  return n / 2;
}

/* Splits a line of quoted, comma-separated fields; returns the field count. */
static int fields(char* line, char** f, int max) {
  int n = 0;
  char* p = line;
  while (*p && n < max) {
    while (*p == ' ' || *p == ',') ++p;
    if (*p != '"') break;
    f[n++] = ++p;
    while (*p && *p != '"') ++p;
    if (*p) *p++ = 0;
  }
  return n;
}

static void load_sa(const char* path, uint32_t spi, Sa* sa) {
  FILE* fp = fopen(path, "r");
  if (!fp) die("cannot read keylog %s", path);
  char line[1024];
  int found = 0;
  while (!found && fgets(line, sizeof line, fp)) {
    line[strcspn(line, "\r\n")] = 0;
    char* f[8];
    if (fields(line, f, 8) != 8) continue;
    if (strtoul(f[3], NULL, 16) != spi) continue;
    memset(sa, 0, sizeof *sa);
    sa->spi = spi;
    uint8_t k[68];
    size_t kl = unhex(f[5], k, sizeof k);
    if (kl == (size_t)-1) die("bad key in keylog line for SPI %s", f[3]);
    if (strcmp(f[4], "AES-GCM with 16 octet ICV [RFC4106]") == 0) {
      if (kl != 20 && kl != 28 && kl != 36) die("AES-GCM key of odd length for SPI %s", f[3]);
      sa->gcm = 1;
      sa->key_len = kl - 4;
      memcpy(sa->key, k, sa->key_len);
      memcpy(sa->salt, k + sa->key_len, 4);
      sa->icv_len = 16;
    } else if (strcmp(f[4], "AES-CBC [RFC3602]") == 0) {
      if (kl != 16 && kl != 24 && kl != 32) die("AES-CBC key of odd length for SPI %s", f[3]);
      sa->key_len = kl;
      memcpy(sa->key, k, kl);
      static const struct { const char* name; const char* digest; size_t icv; } integ[] = {
          {"HMAC-SHA-1-96 [RFC2404]", "SHA1", 12},
          {"HMAC-SHA-256-128 [RFC4868]", "SHA256", 16},
          {"HMAC-SHA-384-192 [RFC4868]", "SHA384", 24},
          {"HMAC-SHA-512-256 [RFC4868]", "SHA512", 32},
      };
      for (size_t i = 0; i < sizeof integ / sizeof integ[0]; ++i)
        if (strcmp(f[6], integ[i].name) == 0) { sa->digest = integ[i].digest; sa->icv_len = integ[i].icv; }
      if (!sa->digest) die("integrity algorithm not supported: %s", f[6]);
      sa->auth_key_len = unhex(f[7], sa->auth_key, sizeof sa->auth_key);
      if (sa->auth_key_len == (size_t)-1) die("bad integrity key for SPI %s", f[3]);
    } else {
      die("cipher not supported: %s", f[4]);
    }
    found = 1;
  }
  fclose(fp);
  if (!found) die("no esp_sa line for this SPI in %s", path);
}

/* ---------------------------------------------------------------------------------------
 * send */

typedef struct {
  const char *keylog, *src, *dst, *inner_src, *inner_dst, *mc_src, *group, *mode, *times, *status, *pcap;
  uint32_t spi;
  int sport, dport, port, size, burst;
  double rate;
  uint64_t count, seq0, esp_seq0;
} SendOpts;

/* The clear inner packet for sequence number seq; returns its length. */
static size_t inner_packet(const SendOpts* o, uint8_t* p, uint64_t seq) {
  size_t udp_len = 8 + (size_t)o->size, mc_len = 20 + udp_len, total = 20 + 4 + mc_len;
  uint8_t* q = p;
  q += ipv4(q, addr(o->inner_src), addr(o->inner_dst), 47, 64, total, (uint16_t)seq);
  put16(q, 0); put16(q + 2, 0x0800); q += 4;
  uint32_t mc_src = addr(o->mc_src), group = addr(o->group);
  q += ipv4(q, mc_src, group, 17, 16, mc_len, (uint16_t)seq);
  uint8_t* udp = q;
  put16(udp, (uint16_t)o->port); put16(udp + 2, (uint16_t)o->port); put16(udp + 4, (uint16_t)udp_len); put16(udp + 6, 0);
  uint8_t* pl = udp + 8;
  memset(pl, 0, (size_t)o->size);
  memcpy(pl, "SWLM", 4);
  put64(pl + 4, seq);
  uint8_t pseudo[12];
  put32(pseudo, mc_src); put32(pseudo + 4, group); pseudo[8] = 0; pseudo[9] = 17; put16(pseudo + 10, (uint16_t)udp_len);
  uint16_t c = fold(sum16(udp, udp_len, sum16(pseudo, 12, 0)));
  put16(udp + 6, c ? c : 0xffff);
  return total;
}

static size_t esp_len(const Sa* sa, size_t inner) {
  size_t iv = sa->gcm ? 8 : 16, block = sa->gcm ? 4 : 16;
  size_t body = (inner + 2 + block - 1) / block * block;
  return 8 + iv + body + sa->icv_len;
}

/* ESP packet (RFC 4303, next header 4: tunnel mode) of one inner packet into out. */
static void encrypt(const Sa* sa, EVP_CIPHER_CTX* c, EVP_MAC_CTX* mac, uint32_t esp_seq,
                    const uint8_t* inner, size_t inner_len, uint8_t* out, size_t out_len) {
  size_t iv_len = sa->gcm ? 8 : 16;
  size_t body = out_len - 8 - iv_len - sa->icv_len;
  put32(out, sa->spi);
  put32(out + 4, esp_seq);
  uint8_t* iv = out + 8;
  uint8_t* ct = iv + iv_len;
  memcpy(ct, inner, inner_len);
  size_t pad = body - inner_len - 2;
  for (size_t i = 0; i < pad; ++i) ct[inner_len + i] = (uint8_t)(i + 1);
  ct[body - 2] = (uint8_t)pad;
  ct[body - 1] = 4;
  int len = 0;
  if (sa->gcm) {
    put32(iv, 0); put32(iv + 4, esp_seq);  /* unique per packet under this key */
    uint8_t nonce[12];
    memcpy(nonce, sa->salt, 4); memcpy(nonce + 4, iv, 8);
    const EVP_CIPHER* ci = sa->key_len == 16 ? EVP_aes_128_gcm() : sa->key_len == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
    if (!EVP_EncryptInit_ex(c, ci, NULL, sa->key, nonce) ||
        !EVP_EncryptUpdate(c, NULL, &len, out, 8) ||
        !EVP_EncryptUpdate(c, ct, &len, ct, (int)body) ||
        !EVP_EncryptFinal_ex(c, ct + len, &len) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, (int)sa->icv_len, ct + body))
      die("%s", "AES-GCM failed");
  } else {
    if (RAND_bytes(iv, 16) != 1) die("%s", "RAND_bytes failed");
    const EVP_CIPHER* ci = sa->key_len == 16 ? EVP_aes_128_cbc() : sa->key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
    if (!EVP_EncryptInit_ex(c, ci, NULL, sa->key, iv) || !EVP_CIPHER_CTX_set_padding(c, 0) ||
        !EVP_EncryptUpdate(c, ct, &len, ct, (int)body) || !EVP_EncryptFinal_ex(c, ct + len, &len))
      die("%s", "AES-CBC failed");
    uint8_t md[64];
    size_t md_len = 0;
    if (!EVP_MAC_init(mac, NULL, 0, NULL) || !EVP_MAC_update(mac, out, 8 + iv_len + body) ||
        !EVP_MAC_final(mac, md, &md_len, sizeof md))
      die("%s", "HMAC failed");
    memcpy(ct + body, md, sa->icv_len);
  }
}

static void write_pcap(const char* path, const SendOpts* o, const uint8_t* pkts, size_t len, uint64_t n) {
  FILE* fp = fopen(path, "wb");
  if (!fp) die("cannot write %s", path);
  uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 228 /* LINKTYPE_IPV4 */};
  fwrite(gh, sizeof gh, 1, fp);
  uint8_t hdr[28];
  for (uint64_t i = 0; i < n; ++i) {
    size_t total = 28 + len;
    ipv4(hdr, addr(o->src), addr(o->dst), 17, 64, total, (uint16_t)i);
    put16(hdr + 20, (uint16_t)o->sport); put16(hdr + 22, (uint16_t)o->dport);
    put16(hdr + 24, (uint16_t)(8 + len)); put16(hdr + 26, 0);  /* RFC 3948: checksum 0 */
    uint32_t rh[4] = {(uint32_t)(i / 1000), (uint32_t)(i % 1000) * 1000, (uint32_t)total, (uint32_t)total};
    fwrite(rh, sizeof rh, 1, fp);
    fwrite(hdr, sizeof hdr, 1, fp);
    fwrite(pkts + i * len, len, 1, fp);
  }
  if (fclose(fp) != 0) die("cannot write %s", path);
}

static int cmd_send(int argc, char** argv) {
  SendOpts o = {.sport = 4500, .dport = 4500, .port = 5000, .size = 200, .burst = 32, .rate = 10000, .mode = "gso",
                .seq0 = 0, .esp_seq0 = 1};
  for (int i = 2; i < argc; i += 2) {
    const char* k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) die("%s needs a value", k);
    if (!strcmp(k, "--keylog")) o.keylog = v;
    else if (!strcmp(k, "--spi")) o.spi = (uint32_t)strtoul(v, NULL, 16);
    else if (!strcmp(k, "--src")) o.src = v;
    else if (!strcmp(k, "--dst")) o.dst = v;
    else if (!strcmp(k, "--sport")) o.sport = atoi(v);
    else if (!strcmp(k, "--dport")) o.dport = atoi(v);
    else if (!strcmp(k, "--inner-src")) o.inner_src = v;
    else if (!strcmp(k, "--inner-dst")) o.inner_dst = v;
    else if (!strcmp(k, "--mc-src")) o.mc_src = v;
    else if (!strcmp(k, "--group")) o.group = v;
    else if (!strcmp(k, "--port")) o.port = atoi(v);
    else if (!strcmp(k, "--size")) o.size = atoi(v);
    else if (!strcmp(k, "--rate")) o.rate = atof(v);
    else if (!strcmp(k, "--count")) o.count = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--seq0")) o.seq0 = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--esp-seq0")) o.esp_seq0 = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--burst")) o.burst = atoi(v);
    else if (!strcmp(k, "--mode")) o.mode = v;
    else if (!strcmp(k, "--times")) o.times = v;
    else if (!strcmp(k, "--status")) o.status = v;
    else if (!strcmp(k, "--pcap")) o.pcap = v;
    else die("unknown option %s", k);
  }
  if (!o.keylog || !o.spi || !o.src || !o.dst || !o.inner_src || !o.inner_dst || !o.mc_src || !o.group || !o.count)
    die("%s", "send needs --keylog --spi --src --dst --inner-src --inner-dst --mc-src --group --count");
  if (o.size < 20 || o.size > 1400) die("%s", "--size: 20 to 1400 bytes");
  if (o.burst < 1 || o.burst > 64) die("%s", "--burst: 1 to 64");
  if (o.rate <= 0) die("%s", "--rate must be positive");
  if (strcmp(o.mode, "gso") && strcmp(o.mode, "mmsg")) die("--mode: gso or mmsg, not %s", o.mode);
  if (o.esp_seq0 == 0 || o.esp_seq0 + o.count > 0xffffffffull) die("%s", "ESP sequence numbers out of range (no ESN)");

  Sa sa;
  load_sa(o.keylog, o.spi, &sa);

  /* pre-encryption, before the clock starts */
  uint8_t inner[1600];
  size_t inner_len = inner_packet(&o, inner, 0);
  size_t len = esp_len(&sa, inner_len);
  uint8_t* pkts = malloc(len * o.count);
  if (!pkts) die("%s", "out of memory for the packets");
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  EVP_MAC* hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX* mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
  if (!c || !mac) die("%s", "OpenSSL contexts");
  if (!sa.gcm) {
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char*)sa.digest, 0), OSSL_PARAM_construct_end()};
    if (!EVP_MAC_init(mac, sa.auth_key, sa.auth_key_len, p)) die("%s", "HMAC key");
  }
  uint64_t e0 = mono_ns();
  for (uint64_t i = 0; i < o.count; ++i) {
    inner_packet(&o, inner, o.seq0 + i);
    encrypt(&sa, c, mac, (uint32_t)(o.esp_seq0 + i), inner, inner_len, pkts + i * len, len);
  }
  double enc_s = (double)(mono_ns() - e0) / 1e9;
  EVP_CIPHER_CTX_free(c);
  EVP_MAC_CTX_free(mac);
  EVP_MAC_free(hmac);

  if (o.pcap) {
    write_pcap(o.pcap, &o, pkts, len, o.count);
    printf("{\"written\":%llu,\"esp_len\":%zu}\n", (unsigned long long)o.count, len);
    return 0;
  }

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  int one = 1, sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in sl = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.sport), .sin_addr.s_addr = htonl(addr(o.src))};
  struct sockaddr_in dl = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.dport), .sin_addr.s_addr = htonl(addr(o.dst))};
  if (bind(fd, (struct sockaddr*)&sl, sizeof sl) < 0) die("bind: %s", strerror(errno));
  if (connect(fd, (struct sockaddr*)&dl, sizeof dl) < 0) die("connect: %s", strerror(errno));
  int gso = !strcmp(o.mode, "gso");
  int seg = (int)len;
  if (gso && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) < 0) die("UDP_SEGMENT: %s", strerror(errno));
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  uint64_t* times = o.times ? malloc(sizeof(uint64_t) * o.count) : NULL;
  struct mmsghdr mm[64];
  struct iovec iov[64];
  uint64_t sent = 0, errors = 0, eagain = 0;
  uint64_t t0 = mono_ns() + 1000000, last = t0;
  double ns_per_burst = 1e9 * o.burst / o.rate;
  for (uint64_t k = 0; sent < o.count; ++k) {
    uint64_t due = t0 + (uint64_t)(ns_per_burst * (double)k);
    uint64_t now = mono_ns();
    /* sleep (timer slack 1 ns) to a few microseconds before the slot, then spin: the
     * daemon and the receiver share the machine's cores with the generator */
    if (due > now + 8000) {
      uint64_t wake = due - 4000;
      struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000ull), .tv_nsec = (long)(wake % 1000000000ull)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    while ((now = mono_ns()) < due) {}
    unsigned n = (unsigned)(o.count - sent < (uint64_t)o.burst ? o.count - sent : (uint64_t)o.burst);
    uint8_t* first = pkts + sent * len;
    unsigned done = 0;
    if (gso) {
      struct iovec v = {first, n * len};
      struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
      ssize_t r = sendmsg(fd, &m, 0);
      if (r < 0) { if (errno == EAGAIN || errno == ENOBUFS) ++eagain; else ++errors; }
      else done = n;
    } else {
      for (unsigned i = 0; i < n; ++i) {
        iov[i].iov_base = first + i * len;
        iov[i].iov_len = len;
        memset(&mm[i], 0, sizeof mm[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
      }
      int r = sendmmsg(fd, mm, n, 0);
      if (r < 0) { if (errno == EAGAIN || errno == ENOBUFS) ++eagain; else ++errors; }
      else done = (unsigned)r;
    }
    /* a refused burst is counted and not sent again: its numbers are lost, as on a wire */
    if (times) for (unsigned i = 0; i < n; ++i) times[sent + i] = done > i ? now : 0;
    if (done < n) errors += n - done;
    sent += n;
    last = now;
  }
  double secs = (double)(last - t0) / 1e9;
  if (times) {
    FILE* fp = fopen(o.times, "wb");
    if (!fp || fwrite(times, sizeof(uint64_t), o.count, fp) != o.count || fclose(fp) != 0) die("cannot write %s", o.times);
  }
  char js[512];
  snprintf(js, sizeof js,
           "{\"sent\":%llu,\"errors\":%llu,\"eagain_bursts\":%llu,\"seconds\":%.6f,\"rate\":%.0f,\"esp_len\":%zu,"
           "\"encrypt_seconds\":%.3f,\"seq_next\":%llu,\"esp_seq_next\":%llu,\"mode\":\"%s\",\"burst\":%d}\n",
           (unsigned long long)(sent - errors), (unsigned long long)errors, (unsigned long long)eagain, secs,
           secs > 0 ? (double)(sent - errors) / secs : 0.0, len, enc_s, (unsigned long long)(o.seq0 + o.count),
           (unsigned long long)(o.esp_seq0 + o.count), o.mode, o.burst);
  if (o.status) {
    FILE* fp = fopen(o.status, "w");
    if (fp) { fputs(js, fp); fclose(fp); }
  }
  fputs(js, stdout);
  return errors && errors == sent ? 1 : 0;
}

/* ---------------------------------------------------------------------------------------
 * recv */

static volatile sig_atomic_t stop_flag;
static void on_signal(int s) { (void)s; stop_flag = 1; }

typedef struct { uint64_t seq, user_ns, kernel_ns; } Rec;

/* The payload of a raw GRE packet (outer IPv4, GRE, inner IPv4, UDP), or NULL. */
static const uint8_t* gre_payload(const uint8_t* p, size_t n, size_t* out_len) {
  if (n < 20 || (p[0] >> 4) != 4) return NULL;
  size_t ihl = (size_t)(p[0] & 15) * 4;
  if (n < ihl + 4) return NULL;
  const uint8_t* g = p + ihl;
  size_t glen = 4 + ((g[0] & 0x80) ? 4 : 0) + ((g[0] & 0x20) ? 4 : 0) + ((g[0] & 0x10) ? 4 : 0);
  if ((g[2] << 8 | g[3]) != 0x0800 || n < ihl + glen + 28) return NULL;
  const uint8_t* in = g + glen;
  size_t iihl = (size_t)(in[0] & 15) * 4;
  if ((in[0] >> 4) != 4 || in[9] != 17 || n < ihl + glen + iihl + 8) return NULL;
  *out_len = n - ihl - glen - iihl - 8;
  return in + iihl + 8;
}

static int cmd_recv(int argc, char** argv) {
  const char *bind_a = "0.0.0.0", *group = NULL, *ifname = NULL, *out = NULL, *ready = NULL;
  int port = 0, raw_gre = 0;
  double idle = 2;
  for (int i = 2; i < argc; ++i) {
    const char* k = argv[i];
    if (!strcmp(k, "--raw-gre")) { raw_gre = 1; continue; }
    const char* v = i + 1 < argc ? argv[++i] : NULL;
    if (!v) die("%s needs a value", k);
    if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--bind")) bind_a = v;
    else if (!strcmp(k, "--group")) group = v;
    else if (!strcmp(k, "--ifname")) ifname = v;
    else if (!strcmp(k, "--out")) out = v;
    else if (!strcmp(k, "--ready")) ready = v;
    else if (!strcmp(k, "--idle")) idle = atof(v);
    else die("unknown option %s", k);
  }
  if (!out || (!raw_gre && !port)) die("%s", "recv needs --out and --port or --raw-gre");
  int fd = raw_gre ? socket(AF_INET, SOCK_RAW, IPPROTO_GRE) : socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  int one = 1, rcvbuf = 32 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (!raw_gre) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(addr(bind_a))};
    if (bind(fd, (struct sockaddr*)&a, sizeof a) < 0) die("bind: %s", strerror(errno));
    if (group) {
      struct ip_mreqn m = {.imr_multiaddr.s_addr = htonl(addr(group))};
      if (ifname && !(m.imr_ifindex = (int)if_nametoindex(ifname))) die("no interface %s", ifname);
      if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) < 0) die("IP_ADD_MEMBERSHIP: %s", strerror(errno));
    }
  }
  struct timeval tv = {0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  if (ready) { FILE* fp = fopen(ready, "w"); if (fp) fclose(fp); }
  int64_t offset = (int64_t)real_ns() - (int64_t)mono_ns();  /* realtime - monotonic */

  size_t cap = 1 << 20, n = 0;
  Rec* recs = malloc(cap * sizeof *recs);
  enum { B = 64 };
  static uint8_t bufs[B][2048];
  static uint8_t ctl[B][64];
  struct mmsghdr mm[B];
  struct iovec iov[B];
  uint64_t last = 0, other = 0;
  while (!stop_flag) {
    for (int i = 0; i < B; ++i) {
      iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i];
      memset(&mm[i], 0, sizeof mm[i]);
      mm[i].msg_hdr.msg_iov = &iov[i]; mm[i].msg_hdr.msg_iovlen = 1;
      mm[i].msg_hdr.msg_control = ctl[i]; mm[i].msg_hdr.msg_controllen = sizeof ctl[i];
    }
    int r = recvmmsg(fd, mm, B, MSG_WAITFORONE, NULL);
    uint64_t now = mono_ns();
    if (r <= 0) {
      if (last && (double)(now - last) / 1e9 > idle) break;
      continue;
    }
    for (int i = 0; i < r; ++i) {
      const uint8_t* p = bufs[i];
      size_t len = mm[i].msg_len;
      if (raw_gre && !(p = gre_payload(bufs[i], len, &len))) { ++other; continue; }
      if (len < 12 || memcmp(p, "SWLM", 4) != 0) { ++other; continue; }
      uint64_t k = now;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&mm[i].msg_hdr); c; c = CMSG_NXTHDR(&mm[i].msg_hdr, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          struct timespec ts;
          memcpy(&ts, CMSG_DATA(c), sizeof ts);
          k = (uint64_t)((int64_t)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) - offset);
        }
      if (n == cap) { cap *= 2; recs = realloc(recs, cap * sizeof *recs); if (!recs) die("%s", "out of memory"); }
      recs[n++] = (Rec){get64(p + 4), now, k};
    }
    last = now;
  }
  FILE* fp = fopen(out, "wb");
  if (!fp || (n && fwrite(recs, sizeof *recs, n, fp) != n) || fclose(fp) != 0) die("cannot write %s", out);
  fprintf(stderr, "esp_gen recv: %zu datagrams recorded, %llu other\n", n, (unsigned long long)other);
  return 0;
}

/* ---------------------------------------------------------------------------------------
 * analyze */

static void* slurp(const char* path, size_t* len) {
  FILE* fp = fopen(path, "rb");
  if (!fp) die("cannot read %s", path);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  void* p = malloc(n > 0 ? (size_t)n : 1);
  if (!p || (n > 0 && fread(p, 1, (size_t)n, fp) != (size_t)n)) die("cannot read %s", path);
  fclose(fp);
  *len = (size_t)n;
  return p;
}

static int cmp64(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

static void percentiles(const char* name, uint64_t* v, size_t n) {
  qsort(v, n, sizeof *v, cmp64);
#define AT(q) (n ? (double)v[(size_t)((double)(n - 1) * (q))] / 1000.0 : 0.0)
  printf("\"%s\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}", name, AT(0.5), AT(0.99),
         AT(0.999), n ? (double)v[n - 1] / 1000.0 : 0.0);
#undef AT
}

static int cmd_analyze(int argc, char** argv) {
  const char *times_p = NULL, *recv_p = NULL;
  uint64_t seq0 = 0, count = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--times")) times_p = argv[i + 1];
    else if (!strcmp(argv[i], "--recv")) recv_p = argv[i + 1];
    else if (!strcmp(argv[i], "--seq0")) seq0 = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--count")) count = strtoull(argv[i + 1], NULL, 10);
    else die("unknown option %s", argv[i]);
  }
  if (!recv_p || !count) die("%s", "analyze needs --recv and --count");
  size_t tl = 0, rl = 0;
  uint64_t* times = times_p ? slurp(times_p, &tl) : NULL;
  if (times && tl / 8 < count) die("%s: fewer send times than --count", times_p);
  Rec* recs = slurp(recv_p, &rl);
  size_t n = rl / sizeof(Rec);
  uint8_t* seen = calloc(count, 1);
  uint64_t* lk = malloc((n + 1) * sizeof *lk);
  uint64_t* lu = malloc((n + 1) * sizeof *lu);
  uint64_t delivered = 0, dup = 0, reordered = 0, outside = 0, max_seen = 0, first = 1;
  size_t nl = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t s = recs[i].seq;
    if (s < seq0 || s >= seq0 + count) { ++outside; continue; }
    uint64_t j = s - seq0;
    if (seen[j]) { ++dup; continue; }
    seen[j] = 1;
    ++delivered;
    if (!first && s < max_seen) ++reordered;
    if (first || s > max_seen) max_seen = s;
    first = 0;
    if (times && times[j]) {
      lk[nl] = recs[i].kernel_ns > times[j] ? recs[i].kernel_ns - times[j] : 0;
      lu[nl] = recs[i].user_ns > times[j] ? recs[i].user_ns - times[j] : 0;
      ++nl;
    }
  }
  printf("{\"count\":%llu,\"delivered\":%llu,\"lost\":%llu,\"duplicates\":%llu,\"reordered\":%llu,\"outside\":%llu,",
         (unsigned long long)count, (unsigned long long)delivered, (unsigned long long)(count - delivered),
         (unsigned long long)dup, (unsigned long long)reordered, (unsigned long long)outside);
  percentiles("latency_socket", lk, nl);
  putchar(',');
  percentiles("latency_app", lu, nl);
  printf("}\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && !strcmp(argv[1], "send")) return cmd_send(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "recv")) return cmd_recv(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "analyze")) return cmd_analyze(argc, argv);
  fprintf(stderr, "usage: esp_gen send|recv|analyze ... (see the comment at the top of esp_gen.c)\n");
  return 2;
}

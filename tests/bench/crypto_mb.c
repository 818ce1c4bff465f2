/* tests/bench/crypto_mb.c: ESP crypto microbenchmark, Intel IPsec-MB (multi-buffer) against
 * OpenSSL 3 EVP (issue 12, "multi-buffer crypto where it wins"). Standalone C, independent of
 * swanless's esp/ code; not built by CMake, never committed as a binary.
 *
 * What it measures: packets/s and ns/packet, the median of R runs (default 5) of T seconds
 * each (default 0.5), per (library, API, arch, suite, direction, size), on one core, for
 *   suites     gcm: AES-256-GCM, 16-byte ICV (RFC 4106: nonce = 4-byte salt | 8-byte IV,
 *                   AAD = SPI | seq, 8 bytes)
 *              cbc: AES-256-CBC + HMAC-SHA-256-128 (RFC 4868; encrypt-then-MAC over
 *                   SPI | seq | IV(16) | ciphertext, ICV = first 16 bytes)
 *   directions dec: verify + decrypt (the receive path), out of place into a buffer
 *              enc: encrypt + ICV, in place in the packet buffer
 *   sizes      plaintext (inner packet) bytes, default 200 and 1400; ESP trailer (pad,
 *              pad length, next header) added as RFC 4303 does: to 4 bytes for gcm, to
 *              the 16-byte block for cbc (200 -> 204 / 208, 1400 -> 1404 / 1408 bytes)
 * over a pool of 128 distinct packets (own seq, IV; ~370 KB, L2-resident). Building the
 * 12-byte GCM nonce from salt + packet IV and comparing the ICV (CRYPTO_memcmp) are in the
 * timed path for every API. APIs:
 *   OpenSSL, one pre-keyed EVP_CIPHER_CTX per SA and direction, re-initialised per packet
 *   with only the IV (cipher, key NULL):
 *     evp-ctrl       gcm: EVP_{En,De}cryptInit_ex(ctx,NULL,NULL,NULL,nonce), Update(AAD),
 *                    Update(data), ctrl(AEAD_SET_TAG / GET_TAG), Final (swanless's way today)
 *     evp-init2      gcm: EVP_{En,De}cryptInit_ex2(ctx,NULL,NULL,nonce,{tag param}) sets IV
 *                    and expected tag in one call; get_params for the tag on encrypt
 *     evp+mac_init   cbc: cipher as above (padding off, so no Final), HMAC as one keyed
 *                    EVP_MAC_CTX per SA re-armed with EVP_MAC_init(ctx,NULL,0,NULL) per packet
 *     evp+mac_dup    cbc: HMAC as EVP_MAC_CTX_dup of a keyed template per packet, then free
 *     evp+sha256_ll  cbc: HMAC by hand on the deprecated low-level SHA256_CTX (inner/outer
 *                    states precomputed per SA, copied by value per packet): the floor of
 *                    what OpenSSL's SHA-256 code can do, not an EVP path
 *   IPsec-MB, one IMB_MGR (alloc_mb_mgr + init_mb_mgr_auto, or -A), per SA aes_keyexp_256,
 *   aes256_gcm_pre, HMAC ipad/opad states by sha256_one_block:
 *     imb-direct     gcm: the synchronous IMB_AES256_GCM_{ENC,DEC} call, one packet a time
 *     imb-job1       job API, one packet a time: get_next_job, submit_job, flush_job
 *     imb-job/B      job API over a batch of B: submit_job each (collecting what
 *                    get_completed_job hands back), flush_job at the end of the batch
 *     imb-burst/B    burst API: get_next_burst(B), fill, submit_burst, flush_burst
 *     imb-cburst/B   cbc: synchronous IMB_SUBMIT_HASH_BURST + IMB_SUBMIT_CIPHER_BURST on a
 *                    caller-owned IMB_JOB array (dec: HMAC first, then decrypt)
 * Before timing, it checks correctness for each selected suite and size (exit 1 if not):
 * OpenSSL (evp-ctrl / evp+mac_init) encrypts the pool (its HMAC also checked against
 * EVP_Q_mac); every API decrypts that and must give the plaintext back with no ICV failure;
 * every API encrypts the plaintexts and must give OpenSSL's bytes exactly (guard bytes after
 * the ICV untouched), and OpenSSL decrypts that output; every API must fail every packet of
 * a tampered pool (one flipped byte per packet, in ciphertext, ICV, SPI/seq or IV); the same
 * on packet buffers at an odd address; and the job and burst APIs, on a pool of mixed
 * lengths (64..1400), must hand jobs back in submission order (also counted while timing).
 *
 * Build:  apt-get install -y libipsec-mb-dev libssl-dev      (Debian 12: IPsec-MB 1.3)
 *         cc -O2 -o /tmp/crypto_mb tests/bench/crypto_mb.c -lcrypto -lIPSec_MB
 * Run:    nice -n 10 /tmp/crypto_mb [-s gcm,cbc] [-d dec,enc] [-n 200,1400] [-a API,..]
 *                 [-b 32,64] [-A auto|sse|avx|avx2|avx512] [-t 0.5] [-r 5] [-c] [-q]
 *         -a takes API names as above without "/B" (evp-ctrl, imb-burst, ...); -b the
 *         batch sizes for the /B APIs (divisors of 128); -c only checks; -q skips the CPU
 *         and library banner. Each list defaults to all. Output: one line per measurement.
 */
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co. for evp+sha256_ll only */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <intel-ipsec-mb.h>

#define POOL 128
#define STRIDE 2048
#define ICV 16
#define MAXB 128

enum { S_GCM, S_CBC };
enum { D_DEC, D_ENC };
enum {
  A_EVP_CTRL, A_EVP_INIT2, A_EVP_MACINIT, A_EVP_MACDUP, A_EVP_SHALL,
  A_IMB_DIRECT, A_IMB_JOB1, A_IMB_JOB, A_IMB_BURST, A_IMB_CBURST, A_N
};
static const char *api_name[A_N] = {
  "evp-ctrl", "evp-init2", "evp+mac_init", "evp+mac_dup", "evp+sha256_ll",
  "imb-direct", "imb-job1", "imb-job", "imb-burst", "imb-cburst"
};
static const int api_suite[A_N] = { /* -1: both suites */
  S_GCM, S_GCM, S_CBC, S_CBC, S_CBC, S_GCM, -1, -1, -1, S_CBC
};
static const int api_batched[A_N] = { 0, 0, 0, 0, 0, 0, 0, 1, 1, 1 };
static int is_imb(int a) { return a >= A_IMB_DIRECT; }

static void die(const char *m) { fprintf(stderr, "crypto_mb: %s\n", m); exit(2); }

/* One SA's keys in both libraries' forms. */
struct sa {
  DECLARE_ALIGNED(struct gcm_key_data gkey, 64); /* the header's own aligned(64) needs -DLINUX */
  DECLARE_ALIGNED(uint8_t enc_exp[16 * 15], 64);
  DECLARE_ALIGNED(uint8_t dec_exp[16 * 15], 64);
  DECLARE_ALIGNED(uint8_t ipad[32], 16);
  DECLARE_ALIGNED(uint8_t opad[32], 16);
  uint8_t key[32], salt[4], akey[32];
  EVP_CIPHER_CTX *gcm_e, *gcm_d, *cbc_e, *cbc_d;
  EVP_MAC_CTX *mac, *mac_tmpl;
  SHA256_CTX sha_in, sha_out;
};

/* The packet pool the APIs work on: pkt[i] = SPI | seq | IV | ct | ICV. */
struct ctx {
  int suite, dir;
  size_t hdr;                 /* 8 + IV length: 16 (gcm) or 24 (cbc) */
  struct sa *sa;
  IMB_MGR *mgr;
  uint8_t *pkt[POOL], *out[POOL];
  size_t ct[POOL];
  DECLARE_ALIGNED(uint8_t nonce[POOL][16], 16);
  DECLARE_ALIGNED(uint8_t tag[POOL][32], 16);
  uint64_t seq_sub, seq_done, misorder;
  long hard_err;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t rnd8(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (uint8_t)(rng >> 24);
}
static void rnd(uint8_t *p, size_t n) { while (n--) *p++ = rnd8(); }

/* ---------------------------------------------------------------- SA setup */

static void sa_init(struct sa *s, IMB_MGR *m) {
  rnd(s->key, 32); rnd(s->salt, 4); rnd(s->akey, 32);
  EVP_CIPHER *gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  EVP_CIPHER *cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
  if (!gcm || !cbc) die("EVP_CIPHER_fetch");
  s->gcm_e = EVP_CIPHER_CTX_new(); s->gcm_d = EVP_CIPHER_CTX_new();
  s->cbc_e = EVP_CIPHER_CTX_new(); s->cbc_d = EVP_CIPHER_CTX_new();
  if (EVP_EncryptInit_ex2(s->gcm_e, gcm, s->key, NULL, NULL) != 1 ||
      EVP_DecryptInit_ex2(s->gcm_d, gcm, s->key, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->gcm_e, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->gcm_d, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
      EVP_EncryptInit_ex2(s->cbc_e, cbc, s->key, NULL, NULL) != 1 ||
      EVP_DecryptInit_ex2(s->cbc_d, cbc, s->key, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_set_padding(s->cbc_e, 0) != 1 || EVP_CIPHER_CTX_set_padding(s->cbc_d, 0) != 1)
    die("EVP cipher setup");
  EVP_CIPHER_free(gcm); EVP_CIPHER_free(cbc);
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (!mac) die("EVP_MAC_fetch");
  OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                     OSSL_PARAM_construct_end() };
  s->mac = EVP_MAC_CTX_new(mac); s->mac_tmpl = EVP_MAC_CTX_new(mac);
  if (EVP_MAC_init(s->mac, s->akey, 32, p) != 1 || EVP_MAC_init(s->mac_tmpl, s->akey, 32, p) != 1)
    die("EVP_MAC_init");
  EVP_MAC_free(mac);
  uint8_t blk[64];
  memset(blk, 0, 64); memcpy(blk, s->akey, 32);
  for (int i = 0; i < 64; i++) blk[i] ^= 0x36;
  SHA256_Init(&s->sha_in); SHA256_Update(&s->sha_in, blk, 64);
  IMB_SHA256_ONE_BLOCK(m, blk, s->ipad);
  memset(blk, 0, 64); memcpy(blk, s->akey, 32);
  for (int i = 0; i < 64; i++) blk[i] ^= 0x5c;
  SHA256_Init(&s->sha_out); SHA256_Update(&s->sha_out, blk, 64);
  IMB_SHA256_ONE_BLOCK(m, blk, s->opad);
  IMB_AES_KEYEXP_256(m, s->key, s->enc_exp, s->dec_exp);
  IMB_AES256_GCM_PRE(m, s->key, &s->gkey);
}

/* ---------------------------------------------------------------- OpenSSL */

static inline void mk_nonce(uint8_t *n, const struct sa *s, const uint8_t *pkt) {
  memcpy(n, s->salt, 4); memcpy(n + 4, pkt + 8, 8);
}

static int ossl_gcm(struct ctx *c, int a, int i) {
  struct sa *s = c->sa;
  uint8_t *p = c->pkt[i], nonce[12], fin[16];
  int n = (int)c->ct[i], l, ok;
  mk_nonce(nonce, s, p);
  if (c->dir == D_DEC) {
    EVP_CIPHER_CTX *x = s->gcm_d;
    if (a == A_EVP_CTRL) {
      ok = EVP_DecryptInit_ex(x, NULL, NULL, NULL, nonce) == 1 &&
           EVP_DecryptUpdate(x, NULL, &l, p, 8) == 1 &&
           EVP_DecryptUpdate(x, c->out[i], &l, p + 16, n) == 1 &&
           EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, ICV, p + 16 + n) == 1;
    } else {
      OSSL_PARAM pr[] = { OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                            p + 16 + n, ICV),
                          OSSL_PARAM_construct_end() };
      ok = EVP_DecryptInit_ex2(x, NULL, NULL, nonce, pr) == 1 &&
           EVP_DecryptUpdate(x, NULL, &l, p, 8) == 1 &&
           EVP_DecryptUpdate(x, c->out[i], &l, p + 16, n) == 1;
    }
    if (!ok) { c->hard_err++; return 1; }
    return EVP_DecryptFinal_ex(x, fin, &l) == 1 ? 0 : 1;
  }
  EVP_CIPHER_CTX *x = s->gcm_e;
  if (a == A_EVP_CTRL) {
    ok = EVP_EncryptInit_ex(x, NULL, NULL, NULL, nonce) == 1 &&
         EVP_EncryptUpdate(x, NULL, &l, p, 8) == 1 &&
         EVP_EncryptUpdate(x, p + 16, &l, p + 16, n) == 1 &&
         EVP_EncryptFinal_ex(x, fin, &l) == 1 &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, ICV, p + 16 + n) == 1;
  } else {
    OSSL_PARAM pr[] = { OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                          p + 16 + n, ICV),
                        OSSL_PARAM_construct_end() };
    ok = EVP_EncryptInit_ex2(x, NULL, NULL, nonce, NULL) == 1 &&
         EVP_EncryptUpdate(x, NULL, &l, p, 8) == 1 &&
         EVP_EncryptUpdate(x, p + 16, &l, p + 16, n) == 1 &&
         EVP_EncryptFinal_ex(x, fin, &l) == 1 &&
         EVP_CIPHER_CTX_get_params(x, pr) == 1;
  }
  if (!ok) c->hard_err++;
  return 0;
}

static int ossl_hmac(struct ctx *c, int a, const uint8_t *d, size_t len, uint8_t md[32]) {
  struct sa *s = c->sa;
  size_t ml;
  if (a == A_EVP_MACINIT) {
    return EVP_MAC_init(s->mac, NULL, 0, NULL) == 1 && EVP_MAC_update(s->mac, d, len) == 1 &&
           EVP_MAC_final(s->mac, md, &ml, 32) == 1;
  }
  if (a == A_EVP_MACDUP) {
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(s->mac_tmpl);
    int ok = m && EVP_MAC_update(m, d, len) == 1 && EVP_MAC_final(m, md, &ml, 32) == 1;
    EVP_MAC_CTX_free(m);
    return ok;
  }
  SHA256_CTX h = s->sha_in;
  SHA256_Update(&h, d, len); SHA256_Final(md, &h);
  h = s->sha_out;
  SHA256_Update(&h, md, 32); SHA256_Final(md, &h);
  return 1;
}

static int ossl_cbc(struct ctx *c, int a, int i) {
  struct sa *s = c->sa;
  uint8_t *p = c->pkt[i], md[32];
  int n = (int)c->ct[i], l;
  if (c->dir == D_DEC) {
    if (!ossl_hmac(c, a, p, 24 + n, md)) { c->hard_err++; return 1; }
    if (CRYPTO_memcmp(md, p + 24 + n, ICV) != 0) return 1; /* ESP: no decryption then */
    if (EVP_DecryptInit_ex(s->cbc_d, NULL, NULL, NULL, p + 8) != 1 ||
        EVP_DecryptUpdate(s->cbc_d, c->out[i], &l, p + 24, n) != 1 || l != n)
      c->hard_err++;
    return 0;
  }
  if (EVP_EncryptInit_ex(s->cbc_e, NULL, NULL, NULL, p + 8) != 1 ||
      EVP_EncryptUpdate(s->cbc_e, p + 24, &l, p + 24, n) != 1 || l != n ||
      !ossl_hmac(c, a, p, 24 + n, md))
    c->hard_err++;
  memcpy(p + 24 + n, md, ICV);
  return 0;
}

/* ---------------------------------------------------------------- IPsec-MB */

static inline void imb_fill(struct ctx *c, IMB_JOB *j, int i) {
  struct sa *s = c->sa;
  uint8_t *p = c->pkt[i];
  size_t n = c->ct[i], h = c->hdr;
  j->key_len_in_bytes = IMB_KEY_256_BYTES;
  j->src = p;
  j->cipher_start_src_offset_in_bytes = h;
  j->msg_len_to_cipher_in_bytes = n;
  j->auth_tag_output_len_in_bytes = ICV;
  if (c->suite == S_GCM) {
    mk_nonce(c->nonce[i], s, p);
    j->cipher_mode = IMB_CIPHER_GCM;
    j->hash_alg = IMB_AUTH_AES_GMAC;
    j->enc_keys = j->dec_keys = &s->gkey;
    j->iv = c->nonce[i];
    j->iv_len_in_bytes = 12;
    j->hash_start_src_offset_in_bytes = h;
    j->msg_len_to_hash_in_bytes = n;
    j->u.GCM.aad = p;
    j->u.GCM.aad_len_in_bytes = 8;
  } else {
    j->cipher_mode = IMB_CIPHER_CBC;
    j->hash_alg = IMB_AUTH_HMAC_SHA_256;
    j->enc_keys = s->enc_exp;
    j->dec_keys = s->dec_exp;
    j->iv = p + 8;
    j->iv_len_in_bytes = 16;
    j->hash_start_src_offset_in_bytes = 0;
    j->msg_len_to_hash_in_bytes = h + n;
    j->u.HMAC._hashed_auth_key_xor_ipad = s->ipad;
    j->u.HMAC._hashed_auth_key_xor_opad = s->opad;
  }
  if (c->dir == D_DEC) {
    j->cipher_direction = IMB_DIR_DECRYPT;
    j->chain_order = IMB_ORDER_HASH_CIPHER;
    j->dst = c->out[i];
    j->auth_tag_output = c->tag[i];
  } else { /* in place: the hash (CIPHER_HASH) then reads the ciphertext at src */
    j->cipher_direction = IMB_DIR_ENCRYPT;
    j->chain_order = IMB_ORDER_CIPHER_HASH;
    j->dst = p + h;
    j->auth_tag_output = p + h + n;
  }
  j->user_data = (void *)(uintptr_t)i;
  j->user_data2 = (void *)(uintptr_t)c->seq_sub++;
}

static int imb_done(struct ctx *c, IMB_JOB *j) {
  int i = (int)(uintptr_t)j->user_data;
  if ((uint64_t)(uintptr_t)j->user_data2 != c->seq_done) c->misorder++;
  c->seq_done++;
  if (j->status != IMB_STATUS_COMPLETED) {
    if (c->hard_err++ == 0)
      fprintf(stderr, "imb job status %d: %s\n", j->status,
              imb_get_strerror(imb_get_errno(c->mgr)));
    return 1;
  }
  if (c->dir == D_DEC)
    return CRYPTO_memcmp(c->tag[i], c->pkt[i] + c->hdr + c->ct[i], ICV) != 0;
  return 0;
}

static int imb_direct(struct ctx *c, int i) {
  struct sa *s = c->sa;
  struct gcm_context_data g;
  uint8_t *p = c->pkt[i];
  size_t n = c->ct[i];
  mk_nonce(c->nonce[i], s, p);
  if (c->dir == D_DEC) {
    IMB_AES256_GCM_DEC(c->mgr, &s->gkey, &g, c->out[i], p + 16, n, c->nonce[i], p, 8,
                       c->tag[i], ICV);
    return CRYPTO_memcmp(c->tag[i], p + 16 + n, ICV) != 0;
  }
  IMB_AES256_GCM_ENC(c->mgr, &s->gkey, &g, p + 16, p + 16, n, c->nonce[i], p, 8, p + 16 + n,
                     ICV);
  return 0;
}

static int imb_flush_all(struct ctx *c) {
  int f = 0;
  IMB_JOB *j;
  while ((j = IMB_FLUSH_JOB(c->mgr)) != NULL) f += imb_done(c, j);
  return f;
}

static int imb_cburst(struct ctx *c, int i0, int n) {
  static IMB_JOB jobs[MAXB]; /* caller-owned, not the manager's ring */
  struct sa *s = c->sa;
  int f = 0;
  uint32_t k;
  for (int q = 0; q < n; q++) {
    int i = i0 + q;
    IMB_JOB *j = &jobs[q];
    uint8_t *p = c->pkt[i];
    size_t ln = c->ct[i];
    j->src = p; j->key_len_in_bytes = IMB_KEY_256_BYTES;
    j->enc_keys = s->enc_exp; j->dec_keys = s->dec_exp;
    j->iv = p + 8; j->iv_len_in_bytes = 16;
    j->cipher_start_src_offset_in_bytes = 24; j->msg_len_to_cipher_in_bytes = ln;
    j->hash_start_src_offset_in_bytes = 0; j->msg_len_to_hash_in_bytes = 24 + ln;
    j->u.HMAC._hashed_auth_key_xor_ipad = s->ipad;
    j->u.HMAC._hashed_auth_key_xor_opad = s->opad;
    j->auth_tag_output_len_in_bytes = ICV;
    j->user_data = (void *)(uintptr_t)i;
    if (c->dir == D_DEC) { j->dst = c->out[i]; j->auth_tag_output = c->tag[i]; }
    else { j->dst = p + 24; j->auth_tag_output = p + 24 + ln; }
  }
  if (c->dir == D_DEC) {
    k = IMB_SUBMIT_HASH_BURST(c->mgr, jobs, n, IMB_AUTH_HMAC_SHA_256);
    if (k != (uint32_t)n) goto err;
    /* a real receive path would drop the failures here, before decrypting */
    for (int q = 0; q < n; q++) {
      int i = i0 + q;
      f += CRYPTO_memcmp(c->tag[i], c->pkt[i] + 24 + c->ct[i], ICV) != 0;
    }
    k = IMB_SUBMIT_CIPHER_BURST(c->mgr, jobs, n, IMB_CIPHER_CBC, IMB_DIR_DECRYPT,
                                IMB_KEY_256_BYTES);
    if (k != (uint32_t)n) goto err;
  } else {
    k = IMB_SUBMIT_CIPHER_BURST(c->mgr, jobs, n, IMB_CIPHER_CBC, IMB_DIR_ENCRYPT,
                                IMB_KEY_256_BYTES);
    if (k != (uint32_t)n) goto err;
    k = IMB_SUBMIT_HASH_BURST(c->mgr, jobs, n, IMB_AUTH_HMAC_SHA_256);
    if (k != (uint32_t)n) goto err;
  }
  return f;
err:
  if (c->hard_err++ == 0)
    fprintf(stderr, "imb cburst: %u of %d: %s\n", k, n, imb_get_strerror(imb_get_errno(c->mgr)));
  return n;
}

/* Run API a over packets [i0, i0+n) of the pool in batches of b; returns ICV failures. */
static int run_batch(struct ctx *c, int a, int b, int i0, int n) {
  int f = 0;
  IMB_JOB *j, *jobs[MAXB];
  switch (a) {
  case A_EVP_CTRL: case A_EVP_INIT2:
    for (int i = i0; i < i0 + n; i++) f += ossl_gcm(c, a, i);
    return f;
  case A_EVP_MACINIT: case A_EVP_MACDUP: case A_EVP_SHALL:
    for (int i = i0; i < i0 + n; i++) f += ossl_cbc(c, a, i);
    return f;
  case A_IMB_DIRECT:
    for (int i = i0; i < i0 + n; i++) f += imb_direct(c, i);
    return f;
  case A_IMB_JOB1:
    for (int i = i0; i < i0 + n; i++) {
      j = IMB_GET_NEXT_JOB(c->mgr);
      imb_fill(c, j, i);
      if ((j = IMB_SUBMIT_JOB(c->mgr)) != NULL) f += imb_done(c, j);
      f += imb_flush_all(c);
    }
    return f;
  case A_IMB_JOB:
    for (int s = i0; s < i0 + n; s += b) {
      for (int i = s; i < s + b; i++) {
        j = IMB_GET_NEXT_JOB(c->mgr);
        imb_fill(c, j, i);
        j = IMB_SUBMIT_JOB(c->mgr);
        while (j) { f += imb_done(c, j); j = IMB_GET_COMPLETED_JOB(c->mgr); }
      }
      f += imb_flush_all(c);
    }
    return f;
  case A_IMB_BURST:
    for (int s = i0; s < i0 + n; s += b) {
      uint32_t got = IMB_GET_NEXT_BURST(c->mgr, b, jobs), k;
      if (got != (uint32_t)b) die("get_next_burst gave fewer jobs than asked");
      for (int q = 0; q < b; q++) imb_fill(c, jobs[q], s + q);
      k = IMB_SUBMIT_BURST(c->mgr, b, jobs);
      if (k == 0 && imb_get_errno(c->mgr) != 0) {
        if (c->hard_err++ == 0)
          fprintf(stderr, "imb submit_burst: %s\n", imb_get_strerror(imb_get_errno(c->mgr)));
      }
      for (uint32_t q = 0; q < k; q++) f += imb_done(c, jobs[q]);
      while ((k = IMB_FLUSH_BURST(c->mgr, b, jobs)) > 0)
        for (uint32_t q = 0; q < k; q++) f += imb_done(c, jobs[q]);
    }
    return f;
  case A_IMB_CBURST:
    for (int s = i0; s < i0 + n; s += b) f += imb_cburst(c, s, b);
    return f;
  }
  return f;
}

/* ---------------------------------------------------------------- pool and checks */

static uint8_t *mem_pkt, *mem_out, *mem_ref, *mem_pt;
#define REF(i) (mem_ref + (size_t)(i) * STRIDE)
#define PT(i) (mem_pt + (size_t)(i) * STRIDE)

/* ESP payload: size bytes of inner packet, then 1, 2, .. pad, pad length, next header 4. */
static size_t esp_ct_len(int suite, size_t size) {
  size_t al = suite == S_GCM ? 4 : 16;
  return (size + 2 + al - 1) / al * al;
}

/* Fills the pool with fresh plaintexts of the given sizes (sz[i]) and headers; the
 * reference ciphertext REF(i) from OpenSSL (evp-ctrl / evp+mac_init). */
static void pool_make(struct ctx *c, const size_t *sz, size_t misalign) {
  for (int i = 0; i < POOL; i++) {
    c->pkt[i] = mem_pkt + (size_t)i * STRIDE + misalign;
    c->out[i] = mem_out + (size_t)i * STRIDE + misalign;
    size_t n = esp_ct_len(c->suite, sz[i]);
    c->ct[i] = n;
    uint8_t *pt = PT(i);
    rnd(pt, sz[i]);
    size_t pad = n - sz[i] - 2;
    for (size_t k = 0; k < pad; k++) pt[sz[i] + k] = (uint8_t)(k + 1);
    pt[n - 2] = (uint8_t)pad; pt[n - 1] = 4;
    uint8_t *r = REF(i);
    r[0] = 0xc0; r[1] = 0xff; r[2] = 0xee; r[3] = 0x01;             /* SPI */
    r[4] = 0; r[5] = 0; r[6] = (uint8_t)(i >> 8); r[7] = (uint8_t)(i + 1); /* seq */
    rnd(r + 8, c->hdr - 8);                                        /* IV */
    memcpy(r + c->hdr, pt, n);
    memset(r + c->hdr + n, 0, ICV);
  }
  int dir = c->dir, a = c->suite == S_GCM ? A_EVP_CTRL : A_EVP_MACINIT;
  c->dir = D_ENC;
  for (int i = 0; i < POOL; i++) memcpy(c->pkt[i], REF(i), c->hdr + c->ct[i] + ICV);
  run_batch(c, a, 1, 0, POOL);
  for (int i = 0; i < POOL; i++) memcpy(REF(i), c->pkt[i], c->hdr + c->ct[i] + ICV);
  c->dir = dir;
}

static void load_ref(struct ctx *c) {
  for (int i = 0; i < POOL; i++) {
    memcpy(c->pkt[i], REF(i), c->hdr + c->ct[i] + ICV);
    memset(c->out[i], 0x55, c->ct[i] + 16);
  }
}

/* Plaintext in place, ICV garbage, guard bytes after it. */
static void load_plain(struct ctx *c) {
  for (int i = 0; i < POOL; i++) {
    uint8_t *p = c->pkt[i];
    memcpy(p, REF(i), c->hdr);
    memcpy(p + c->hdr, PT(i), c->ct[i]);
    memset(p + c->hdr + c->ct[i], 0xaa, ICV);
    memset(p + c->hdr + c->ct[i] + ICV, 0xee, 32);
  }
}

static int nfail;
static void chk(int ok, const char *what, int a, int b, struct ctx *c) {
  if (ok) return;
  nfail++;
  char bn[16] = "";
  if (b) snprintf(bn, sizeof bn, "/%d", b);
  fprintf(stderr, "CHECK FAILED: %s: %s%s %s %s\n", what, api_name[a], bn,
          c->suite == S_GCM ? "gcm" : "cbc", c->dir == D_DEC ? "dec" : "enc");
}

static int api_ok(int a, int suite) { return api_suite[a] < 0 || api_suite[a] == suite; }

/* All checks for one suite and plaintext size, on buffers misaligned by `mis`. */
static void check_suite(struct ctx *c, size_t size, size_t mis) {
  size_t sz[POOL];
  for (int i = 0; i < POOL; i++) sz[i] = size;
  pool_make(c, sz, mis);
  int ref_dec = c->suite == S_GCM ? A_EVP_CTRL : A_EVP_MACINIT;
  if (c->suite == S_CBC) { /* the reference HMAC against OpenSSL's one-shot */
    for (int i = 0; i < POOL; i++) {
      uint8_t md[32]; size_t ml;
      if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, c->sa->akey, 32, REF(i),
                     24 + c->ct[i], md, 32, &ml) || memcmp(md, REF(i) + 24 + c->ct[i], ICV))
        { chk(0, "reference HMAC != EVP_Q_mac", ref_dec, 0, c); break; }
    }
  }
  for (int a = 0; a < A_N; a++) {
    if (!api_ok(a, c->suite)) continue;
    int bs[2] = { 1, 0 }, nb = 1;
    if (api_batched[a]) { bs[0] = 32; bs[1] = 64; nb = 2; }
    for (int bi = 0; bi < nb; bi++) {
      int b = bs[bi], bl = api_batched[a] ? b : 0;
      /* decrypt OpenSSL's packets */
      c->dir = D_DEC; c->hard_err = 0;
      load_ref(c);
      int f = run_batch(c, a, b, 0, POOL);
      chk(f == 0 && c->hard_err == 0, "decrypt of reference packets: ICV failures", a, bl, c);
      int same = 1;
      for (int i = 0; i < POOL; i++) same &= memcmp(c->out[i], PT(i), c->ct[i]) == 0;
      chk(same, "decrypt of reference packets: plaintext differs", a, bl, c);
      /* tampered: one byte per packet, in ct (most), ICV, SPI/seq (AAD), IV */
      load_ref(c);
      for (int i = 0; i < POOL; i++) {
        size_t pos;
        switch (i % 8) {
        case 0: pos = c->hdr + c->ct[i] + (size_t)(i / 8) % ICV; break;      /* ICV */
        case 1: pos = (size_t)(i / 8) % 8; break;                            /* SPI/seq */
        case 2: pos = 8 + (size_t)(i / 8) % (c->hdr - 8); break;             /* IV */
        default: pos = c->hdr + ((size_t)i * 37) % c->ct[i]; break;          /* ct */
        }
        c->pkt[i][pos] ^= (uint8_t)(1u << (i % 8));
      }
      c->hard_err = 0;
      f = run_batch(c, a, b, 0, POOL);
      chk(f == POOL && c->hard_err == 0, "tampered packets not all rejected", a, bl, c);
      /* encrypt: same bytes as OpenSSL, nothing written past the ICV */
      c->dir = D_ENC; c->hard_err = 0;
      load_plain(c);
      run_batch(c, a, b, 0, POOL);
      same = c->hard_err == 0;
      for (int i = 0; i < POOL; i++) {
        size_t t = c->hdr + c->ct[i] + ICV;
        same &= memcmp(c->pkt[i], REF(i), t) == 0;
        for (int g = 0; g < 32; g++) same &= c->pkt[i][t + g] == 0xee;
      }
      chk(same, "encrypt output differs from OpenSSL's (or overran the ICV)", a, bl, c);
      /* and the other library (OpenSSL for imb, imb-burst for OpenSSL) decrypts it */
      c->dir = D_DEC; c->hard_err = 0;
      f = run_batch(c, is_imb(a) ? ref_dec : A_IMB_BURST, 32, 0, POOL);
      same = f == 0 && c->hard_err == 0;
      for (int i = 0; i < POOL; i++) same &= memcmp(c->out[i], PT(i), c->ct[i]) == 0;
      chk(same, "other library's decrypt of this encrypt", a, bl, c);
    }
  }
  /* completion order on mixed lengths (the multi-buffer lanes finish short ones first) */
  static const size_t mix[8] = { 1400, 200, 64, 1400, 1000, 64, 576, 1400 };
  for (int i = 0; i < POOL; i++) sz[i] = mix[(i * 5 + i / 8) % 8];
  pool_make(c, sz, mis);
  for (int a = A_IMB_JOB; a <= A_IMB_BURST; a++)
    for (int d = D_DEC; d <= D_ENC; d++)
      for (int b = 32; b <= 64; b += 32) {
        c->dir = d; c->hard_err = 0; c->misorder = 0;
        c->seq_sub = c->seq_done = 0;
        if (d == D_DEC) load_ref(c); else load_plain(c);
        int f = run_batch(c, a, b, 0, POOL);
        int ok = f == 0 && c->hard_err == 0 && c->seq_done == POOL;
        for (int i = 0; i < POOL; i++)
          ok &= d == D_DEC ? memcmp(c->out[i], PT(i), c->ct[i]) == 0
                           : memcmp(c->pkt[i], REF(i), c->hdr + c->ct[i] + ICV) == 0;
        chk(ok, "mixed-length pool", a, b, c);
        chk(c->misorder == 0, "mixed-length pool: jobs completed out of submission order", a, b, c);
      }
}

/* ---------------------------------------------------------------- timing */

static int cmp_d(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static const char *arch_name(unsigned a) {
  switch (a) {
  case IMB_ARCH_NOAESNI: return "noaesni";
  case IMB_ARCH_SSE: return "sse";
  case IMB_ARCH_AVX: return "avx";
  case IMB_ARCH_AVX2: return "avx2";
  case IMB_ARCH_AVX512: return "avx512";
  default: return "?";
  }
}

static void bench(struct ctx *c, int a, int b, size_t size, double secs, int runs) {
  size_t sz[POOL];
  for (int i = 0; i < POOL; i++) sz[i] = size;
  pool_make(c, sz, 0);
  if (c->dir == D_DEC) load_ref(c); else load_plain(c);
  int step = api_batched[a] ? b : 64;
  double r[16];
  long fails = 0;
  c->hard_err = 0; c->misorder = 0; c->seq_sub = c->seq_done = 0;
  for (int run = -1; run < runs; run++) { /* run -1: warm-up */
    double t = run < 0 ? secs / 5 : secs;
    uint64_t n = 0, t0 = now_ns(), t1;
    int i = 0;
    do {
      fails += run_batch(c, a, b, i, step);
      i = (i + step) % POOL;
      n += step;
      t1 = now_ns();
    } while ((double)(t1 - t0) < t * 1e9);
    if (run >= 0) r[run] = (double)n * 1e9 / (double)(t1 - t0);
  }
  qsort(r, runs, sizeof r[0], cmp_d);
  double med = runs % 2 ? r[runs / 2] : (r[runs / 2 - 1] + r[runs / 2]) / 2;
  char an[32];
  snprintf(an, sizeof an, api_batched[a] ? "%s/%d" : "%s", api_name[a], b);
  printf("%-8s %-15s %-7s %-4s %-4s %5zu %11.0f %9.1f  [%7.1f..%7.1f]%s%s\n",
         is_imb(a) ? "ipsec-mb" : "openssl", an, is_imb(a) ? arch_name(c->mgr->used_arch) : "-",
         c->suite == S_GCM ? "gcm" : "cbc", c->dir == D_DEC ? "dec" : "enc", size, med,
         1e9 / med, 1e9 / r[runs - 1], 1e9 / r[0],
         (fails || c->hard_err) ? "  ICV/JOB FAILURES!" : "",
         c->misorder ? "  OUT-OF-ORDER COMPLETIONS" : "");
  fflush(stdout);
}

/* ---------------------------------------------------------------- main */

static int in_list(const char *list, const char *name) {
  if (!list || !strcmp(list, "all")) return 1;
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
  return 0;
}

static void banner(IMB_MGR *m) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[8192], model[256] = "?";
  static const char *want[] = { "aes", "vaes", "pclmulqdq", "vpclmulqdq", "avx2", "avx512f",
                                "avx512bw", "avx512vl", "sha_ni", "gfni" };
  char flags[8192] = "";
  int fam = -1, mod = -1;
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "model name", 10) && model[0] == '?')
      snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
    else if (!strncmp(line, "cpu family", 10) && fam < 0) fam = atoi(strchr(line, ':') + 1);
    else if (!strncmp(line, "model\t", 6) && mod < 0) mod = atoi(strchr(line, ':') + 1);
    else if (!strncmp(line, "flags", 5) && !flags[0]) snprintf(flags, sizeof flags, " %s", strchr(line, ':') + 2);
  }
  if (f) fclose(f);
  model[strcspn(model, "\n")] = 0;
  flags[strcspn(flags, "\n")] = ' ';
  printf("# cpu: %s (family %d model %d), %ld cpus\n# flags:", model, fam, mod,
         sysconf(_SC_NPROCESSORS_ONLN));
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char pat[64];
    snprintf(pat, sizeof pat, " %s ", want[i]);
    printf(" %s=%s", want[i], strstr(flags, pat) ? "yes" : "no");
  }
  printf("\n# openssl: %s\n# ipsec-mb: %s, arch %s, features:%s%s%s%s%s%s\n",
         OpenSSL_version(OPENSSL_VERSION), imb_get_version_str(), arch_name(m->used_arch),
         m->features & IMB_FEATURE_AESNI ? " aesni" : "",
         m->features & IMB_FEATURE_VAES ? " vaes" : "",
         m->features & IMB_FEATURE_VPCLMULQDQ ? " vpclmulqdq" : "",
         (m->features & IMB_FEATURE_AVX512_SKX) == IMB_FEATURE_AVX512_SKX ? " avx512" : "",
         m->features & IMB_FEATURE_SHANI ? " shani" : "",
         m->features & IMB_FEATURE_GFNI ? " gfni" : "");
}

int main(int argc, char **argv) {
  const char *ls = NULL, *ld = NULL, *ln = NULL, *la = NULL, *lb = NULL, *arch = "auto";
  double secs = 0.5;
  int runs = 5, check_only = 0, quiet = 0, o;
  while ((o = getopt(argc, argv, "s:d:n:a:b:A:t:r:cqh")) != -1) {
    switch (o) {
    case 's': ls = optarg; break;
    case 'd': ld = optarg; break;
    case 'n': ln = optarg; break;
    case 'a': la = optarg; break;
    case 'b': lb = optarg; break;
    case 'A': arch = optarg; break;
    case 't': secs = atof(optarg); break;
    case 'r': runs = atoi(optarg); if (runs < 1 || runs > 16) die("-r 1..16"); break;
    case 'c': check_only = 1; break;
    case 'q': quiet = 1; break;
    default:
      fprintf(stderr, "usage: %s [-s gcm,cbc] [-d dec,enc] [-n 200,1400] [-a API,..] "
                      "[-b 32,64] [-A auto|sse|avx|avx2|avx512] [-t SECS] [-r RUNS] [-c] [-q]\n",
              argv[0]);
      return 2;
    }
  }
  IMB_MGR *m = alloc_mb_mgr(0);
  if (!m) die("alloc_mb_mgr");
  IMB_ARCH got = IMB_ARCH_NONE;
  if (!strcmp(arch, "auto")) init_mb_mgr_auto(m, &got);
  else if (!strcmp(arch, "sse")) init_mb_mgr_sse(m);
  else if (!strcmp(arch, "avx")) init_mb_mgr_avx(m);
  else if (!strcmp(arch, "avx2")) init_mb_mgr_avx2(m);
  else if (!strcmp(arch, "avx512")) init_mb_mgr_avx512(m);
  else die("-A auto|sse|avx|avx2|avx512");
  if (imb_get_errno(m) != 0) die(imb_get_strerror(imb_get_errno(m)));
  if (!quiet) banner(m);

  mem_pkt = aligned_alloc(64, (size_t)POOL * STRIDE + 64);
  mem_out = aligned_alloc(64, (size_t)POOL * STRIDE + 64);
  mem_ref = aligned_alloc(64, (size_t)POOL * STRIDE);
  mem_pt = aligned_alloc(64, (size_t)POOL * STRIDE);
  struct sa *sa = aligned_alloc(64, (sizeof(struct sa) + 63) / 64 * 64);
  struct ctx *c = aligned_alloc(64, (sizeof(struct ctx) + 63) / 64 * 64);
  if (!mem_pkt || !mem_out || !mem_ref || !mem_pt || !sa || !c) die("out of memory");
  memset(sa, 0, sizeof *sa); memset(c, 0, sizeof *c);
  sa_init(sa, m);
  c->sa = sa; c->mgr = m;

  static const size_t sizes[] = { 200, 1400 };
  /* checks: every selected suite and size, aligned and at an odd address */
  for (int s = S_GCM; s <= S_CBC; s++) {
    if (!in_list(ls, s == S_GCM ? "gcm" : "cbc")) continue;
    c->suite = s; c->hdr = s == S_GCM ? 16 : 24;
    for (size_t k = 0; k < 2; k++) {
      char nm[16];
      snprintf(nm, sizeof nm, "%zu", sizes[k]);
      if (!in_list(ln, nm)) continue;
      check_suite(c, sizes[k], 0);
      check_suite(c, sizes[k], 1);
    }
  }
  printf("# checks (%s/%s, %s, aligned and odd-address buffers, order on mixed lengths): %s\n",
         ls ? ls : "all", ln ? ln : "all", arch_name(m->used_arch),
         nfail ? "FAILED" : "passed");
  if (nfail) return 1;
  if (check_only) return 0;

  if (!quiet)
    printf("# median of %d runs of %.2f s; ns/pkt [fastest..slowest run]\n"
           "%-8s %-15s %-7s %-4s %-4s %5s %11s %9s\n",
           runs, secs, "lib", "api", "arch", "alg", "dir", "size", "pkts/s", "ns/pkt");
  for (int s = S_GCM; s <= S_CBC; s++) {
    if (!in_list(ls, s == S_GCM ? "gcm" : "cbc")) continue;
    c->suite = s; c->hdr = s == S_GCM ? 16 : 24;
    for (int d = D_DEC; d <= D_ENC; d++) {
      if (!in_list(ld, d == D_DEC ? "dec" : "enc")) continue;
      c->dir = d;
      for (size_t k = 0; k < 2; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "%zu", sizes[k]);
        if (!in_list(ln, nm)) continue;
        for (int a = 0; a < A_N; a++) {
          if (!api_ok(a, s) || !in_list(la, api_name[a])) continue;
          if (!api_batched[a]) { bench(c, a, 1, sizes[k], secs, runs); continue; }
          static const int bsz[] = { 8, 16, 32, 64, 128 };
          for (size_t q = 0; q < sizeof bsz / sizeof bsz[0]; q++) {
            char bn[8];
            snprintf(bn, sizeof bn, "%d", bsz[q]);
            if (lb ? in_list(lb, bn) : (bsz[q] == 32 || bsz[q] == 64))
              bench(c, a, bsz[q], sizes[k], secs, runs);
          }
        }
      }
    }
  }
  free_mb_mgr(m);
  return 0;
}

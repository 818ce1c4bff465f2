#!/usr/bin/env bash
# swanless <-> a real strongSwan (charon 5.9 + kernel-libipsec) authenticating with RSA
# signatures against raw public keys (no certificates), in two namespaces:
#   s: swanless, 192.0.2.1 (veth s0)   <--->   c: charon, 192.0.2.2 (veth c0)
# Inner selectors 10.99.0.1 <-> 10.99.0.2, tunnel mode, ESP in UDP (charon encap=yes).
# Identities are the addresses (ID_IPV4_ADDR): swanless's default with raw keys.
# Keys are made with `swanless keygen`; `swanless showkey` turns them into the PEM public
# keys charon loads from swanctl/pubkey/ and the rightrsasigkey=0s... lines swanless uses.
# Cases:
#   1. pem:    swanless initiates, authby=pubkey, rightpubkey=charon's PEM public key
#   2. rsasig: charon initiates (swanless responder), authby=rsasig, leftrsasigkey/
#              rightrsasigkey=0s... lines from `swanless showkey`
#   3. badkey: swanless has a wrong rightrsasigkey; charon initiates: AUTHENTICATION_FAILED,
#              swanless keeps running
#   4. badkey-init: charon has a wrong key for swanless; swanless initiates: swanless gets
#              AUTHENTICATION_FAILED, keeps running
#   5. pss-init / pss-resp: RSASSA-PSS (RFC 7427 + RFC 8247) both ways, swanless initiator
#              and responder: swanless leftauth=rightauth=rsa/pss, charon local and remote
#              auth = rsa/pss-sha256 (charon 5.9 takes a bare rsa/pss as a key-type
#              constraint only and goes on signing PKCS#1), so each end accepts only a PSS
#              signature from the other
#   6. pss-sha512: swanless leftauth=rsa/pss-sha512, charon requires rsa/pss-sha512
#   7. pss-refused: swanless rightauth=rsa/pss, charon signs PKCS#1 v1.5 (auth = pubkey):
#              swanless refuses it (AUTHENTICATION_FAILED), keeps running
#   8. ts-init / ts-resp: several subnets in one leftsubnet (10.99.0.1/32,10.99.0.3/32,
#              10.99.0.4/32), charon remote_ts the same list, both roles: one CHILD_SA with
#              all three selectors on both ends (the TS_UNACCEPTABLE report, see
#              tests/interop/README.md); ts-narrow: charon allows only two of them and
#              narrows, swanless accepts the subset
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_pubkey.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin

lab_init pk
lab_pair 10.99.0.2/32
# charon's auth lines and selectors, set per case (see run_case)
CH_LAUTH=pubkey CH_RAUTH=pubkey CH_RTS=10.99.0.1/32 SWL_LSUB=10.99.0.1/32
charon_start c c || die "charon start"

K=$LAB_DIR/keys
mkdir -p "$K"
# --- keys: swanless keygen for both ends (and a stranger), showkey for the public parts ---
for who in s c x; do
  "$SWANLESS" keygen --bits 2048 -o "$K/$who.key" >"$K/$who.keygen.out" 2>&1 \
    || die "swanless keygen $who: $(cat "$K/$who.keygen.out")"
  "$SWANLESS" showkey "$K/$who.key" --pem >"$K/$who.showkey.out" 2>&1 || die "swanless showkey $who"
  sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p' "$K/$who.showkey.out" | sed 's/^[[:space:]]*//' \
    >"$K/$who.pub.pem"
done
grep -q "leftrsasigkey=0s" "$K/s.keygen.out" && pass "keygen prints a leftrsasigkey=0s line" || fail "keygen output"
openssl pkey -pubin -in "$K/c.pub.pem" -noout 2>/dev/null && pass "showkey --pem is a PEM public key openssl reads" \
  || fail "showkey --pem output: $(cat "$K/c.showkey.out")"
[ "$(stat -c %a "$K/s.key")" = 600 ] && pass "keygen wrote the private key with mode 0600" || fail "key mode"
rsasig() {  # KEYFILE left|right: the 0s line value
  "$SWANLESS" showkey "$1" $([ "$2" = right ] && echo --right) | sed -n "s/^[[:space:]]*$2rsasigkey=//p"
}
C_RIGHT=$(rsasig "$K/c.key" right); S_LEFT=$(rsasig "$K/s.key" left); X_RIGHT=$(rsasig "$K/x.pub.pem" right)
[ -n "$C_RIGHT" ] && [ -n "$S_LEFT" ] && [ -n "$X_RIGHT" ] && [ "$C_RIGHT" != "$X_RIGHT" ] \
  && pass "showkey --right / default left print the 0s lines" || die "showkey 0s lines"

# --- charon: swanctl.conf with raw public keys; keys in the folders next to it ---
# charon_conf NAME SWANLESS_PUBKEY_PEM
charon_conf() {
  local d=$LAB_DIR/$1.swanctl
  mkdir -p "$d/pubkey" "$d/rsa"
  cp "$K/c.pub.pem" "$d/pubkey/c.pem"
  cp "$2" "$d/pubkey/s.pem"
  # swanless keygen writes PKCS#8; charon's rsa/ folder takes the traditional PKCS#1 form
  openssl rsa -in "$K/c.key" -traditional -out "$d/rsa/c.pem" 2>/dev/null || return 1
  cat >"$d/swanctl.conf" <<CONF
connections {
    dc {
        version = 2
        local_addrs = 192.0.2.2
        remote_addrs = 192.0.2.1
        proposals = aes256-sha256-modp2048
        encap = yes
        local {
            auth = $CH_LAUTH
            id = 192.0.2.2
            pubkeys = c.pem
        }
        remote {
            auth = $CH_RAUTH
            id = 192.0.2.1
            pubkeys = s.pem
        }
        children {
            net {
                mode = tunnel
                local_ts = 10.99.0.2/32
                remote_ts = $CH_RTS
                esp_proposals = aes256-sha256-modp2048
                start_action = none
            }
        }
    }
}
CONF
  charon_reload_keyed c c "$d/swanctl.conf"
}


# swl_conf NAME AUTHBY AUTO [conn lines...]: no leftid/rightid (the addresses are the ids)
swl_conf() {
  local name=$1 authby=$2 auto=$3; shift 3
  cat >"$LAB_DIR/$name.conf" <<CONF
config setup
    socket=$LAB_DIR/$name.sock
    loglevel=debug

conn net
    keyexchange=ikev2
    authby=$authby
    ike=aes256-sha256-modp2048!
    esp=aes256-sha256-modp2048!
    left=192.0.2.1
    right=192.0.2.2
    leftsubnet=$SWL_LSUB
    rightsubnet=10.99.0.2/32
    auto=$auto
$(for l in "$@"; do echo "    $l"; done)
CONF
  cp "$K/s.key" "$LAB_DIR/$name.s.key"
  printf ': RSA %s\n' "$name.s.key" >"$LAB_DIR/$name.secrets"
  chmod 600 "$LAB_DIR/$name.secrets" "$LAB_DIR/$name.s.key"
}

# run_case NAME ROLE(initiator|responder) AUTHBY [conn lines...]
# Environment: CH_LAUTH/CH_RAUTH (charon's local/remote auth), CH_RTS, SWL_LSUB (above);
# EXPECT_ALG: what swanless logs it signed with (default the PKCS#1 v1.5 SHA-256 line);
# EXPECT_TS: the swanless addresses both ends' CHILD_SA must cover (default 10.99.0.1).
run_case() {
  local name=$1 role=$2 authby=$3; shift 3
  local alg=${EXPECT_ALG:-"AUTH method 14 sha256WithRSAEncryption"} a
  echo "--- case $name: swanless $role, authby=$authby $*"
  charon_conf "$name" "$K/s.pub.pem" || { fail "$name: charon config"; return; }
  swl_conf "$name" "$authby" "$([ "$role" = initiator ] && echo start || echo add)" "$@"
  swanless_start s "$name" "$LAB_DIR/$name.conf" || { fail "$name: swanless start"; return; }
  [ "$role" = responder ] && { charon_initiate c c net 10 || fail "$name: charon initiate"; }
  pair_sas_up "$name" || return
  local sas; sas=$(charon_list_sas c c)
  grep -qE "authentication of '192.0.2.1' with RSA(_EMSA_PKCS1)?.* successful" "$(charon_log c)" \
    && pass "$name: charon verified swanless's RSA signature (remote auth = $CH_RAUTH)" \
    || { fail "$name: no successful RSA authentication in charon's log"; grep -i "authentication of" "$(charon_log c)" | tail -3; }
  grep -q "authentication of '192.0.2.2' with RSA signature successful" "$(swanless_log $name)" \
    && pass "$name: swanless verified charon's RSA signature (charon local auth = $CH_LAUTH)" \
    || fail "$name: swanless did not log the RSA success"
  grep -q "$alg" "$(swanless_log $name)" \
    && pass "$name: swanless signed: $alg" || { fail "$name: swanless AUTH method, expected $alg"; grep "AUTH method" "$(swanless_log $name)"; }
  for a in ${EXPECT_TS:-10.99.0.1}; do
    grep -qE "remote .*$a/32" <<<"$sas" && pass "$name: charon's CHILD_SA covers $a/32" \
      || { fail "$name: charon's remote selectors lack $a/32"; echo "$sas"; }
    swanless_status "$name" | grep -qE "net\\{[0-9]+\\}: .*$a/32.* ===" \
      && pass "$name: swanless's CHILD_SA covers $a/32" || fail "$name: swanless's local selectors lack $a/32"
  done
  check "$name: ping 10.99.0.1 -> 10.99.0.2" ping_check s 10.99.0.2 3
  check "$name: ping from charon's side 10.99.0.2 -> 10.99.0.1" ping_check c 10.99.0.1 2
  # Every address written in leftsubnet is on swanless's TUN device, so each one answers.
  for a in ${EXPECT_TS:-}; do
    [ "$a" = 10.99.0.1 ] && continue
    check "$name: ping from charon's side 10.99.0.2 -> $a (a further leftsubnet address)" ping_check c "$a" 2
  done
  local st; st=$(swanless_status "$name")
  echo "$st"
  grep -q "public key" <<<"$st" && pass "$name: status shows public key authentication" || fail "$name: status auth"
  grep -q "ESP in UDP SPIs" <<<"$st" && pass "$name: status shows ESP in UDP" || fail "$name: status mode"
  pair_stop "$name"
}

run_case pem initiator pubkey "rightpubkey=$K/c.pub.pem"
run_case rsasig responder rsasig "leftrsasigkey=$S_LEFT" "rightrsasigkey=$C_RIGHT"

# --- RSASSA-PSS both ways: each end requires PSS of the other ---
# charon_signed_pss CASE: charon's log says it signed the last IKE_AUTH with RSASSA-PSS, and
# verified ours as PSS (scheme names as charon prints them).
charon_signed_pss() {
  local mine theirs
  mine=$(grep "authentication of '192.0.2.2' (myself) with" "$(charon_log c)" | tail -1)
  theirs=$(grep "authentication of '192.0.2.1' with" "$(charon_log c)" | tail -1)
  grep -q "RSA_EMSA_PSS_$2" <<<"$mine" && pass "$1: charon signed with RSASSA-PSS ($mine)" \
    || fail "$1: charon's own signature scheme: $mine"
  grep -q "RSA_EMSA_PSS_$3.* successful" <<<"$theirs" && pass "$1: charon verified our RSASSA-PSS ($theirs)" \
    || fail "$1: charon's view of our signature: $theirs"
}
CH_LAUTH=rsa/pss-sha256 CH_RAUTH=rsa/pss-sha256 EXPECT_ALG="AUTH method 14 RSASSA-PSS-SHA256" \
  run_case pss-init initiator pubkey "rightpubkey=$K/c.pub.pem" leftauth=rsa/pss rightauth=rsa/pss
charon_signed_pss pss-init SHA2_256_SALT_32 SHA2_256_SALT_32
CH_LAUTH=rsa/pss-sha256 CH_RAUTH=rsa/pss-sha256 EXPECT_ALG="AUTH method 14 RSASSA-PSS-SHA256" \
  run_case pss-resp responder rsasig "rightrsasigkey=$C_RIGHT" leftauth=rsa/pss rightauth=rsa/pss
charon_signed_pss pss-resp SHA2_256_SALT_32 SHA2_256_SALT_32
CH_LAUTH=rsa/pss-sha384 CH_RAUTH=rsa/pss-sha512 EXPECT_ALG="AUTH method 14 RSASSA-PSS-SHA512" \
  run_case pss-sha512 initiator pubkey "rightpubkey=$K/c.pub.pem" leftauth=rsa/pss-sha512 rightauth=rsa/pss-sha384
charon_signed_pss pss-sha512 SHA2_384_SALT_48 SHA2_512_SALT_64

echo "--- case pss-refused: swanless requires RSASSA-PSS, charon signs PKCS#1 v1.5 and initiates"
charon_conf pssref "$K/s.pub.pem" || die "charon config (pss-refused)"
swl_conf pssref pubkey add "rightpubkey=$K/c.pub.pem" rightauth=rsa/pss
swanless_start s pssref "$LAB_DIR/pssref.conf" || die "swanless start (pss-refused)"
charon_initiate c c net 8 && fail "pss-refused: charon established with a PKCS#1 signature" \
  || pass "pss-refused: charon's initiation failed"
grep -q "with RSA signature failed: RSA signature refused: AUTH: not an RSASSA-PSS signature" \
  "$(swanless_log pssref)" && pass "pss-refused: swanless logged why" \
  || { fail "pss-refused: swanless did not log the refusal"; grep -i "authentication of" "$(swanless_log pssref)"; }
grep -q "AUTHENTICATION_FAILED" "$(charon_log c)" && pass "pss-refused: charon received AUTHENTICATION_FAILED" \
  || fail "pss-refused: no AUTHENTICATION_FAILED in charon's log"
swanless_alive pssref && pass "pss-refused: swanless still running" || fail "pss-refused: swanless died"
swanless_stop pssref

# --- several subnets in one leftsubnet, both roles, and charon narrowing them ---
SWL_LSUB=10.99.0.1/32,10.99.0.3/32,10.99.0.4/32 CH_RTS=10.99.0.1/32,10.99.0.3/32,10.99.0.4/32 \
  EXPECT_TS="10.99.0.1 10.99.0.3 10.99.0.4" run_case ts-init initiator pubkey "rightpubkey=$K/c.pub.pem"
SWL_LSUB=10.99.0.1/32,10.99.0.3/32,10.99.0.4/32 CH_RTS=10.99.0.1/32,10.99.0.3/32,10.99.0.4/32 \
  EXPECT_TS="10.99.0.1 10.99.0.3 10.99.0.4" run_case ts-resp responder pubkey "rightpubkey=$K/c.pub.pem"
SWL_LSUB=10.99.0.1/32,10.99.0.3/32,10.99.0.4/32 CH_RTS=10.99.0.1/32,10.99.0.4/32 \
  EXPECT_TS="10.99.0.1 10.99.0.4" run_case ts-narrow initiator pubkey "rightpubkey=$K/c.pub.pem"
grep -qE "CHILD_SA net\{[0-9]+\} established .* TS 10\.99\.0\.1/32 10\.99\.0\.4/32 === 10\.99\.0\.2/32" \
  "$(swanless_log ts-narrow)" && pass "ts-narrow: swanless took charon's narrowed selectors (no 10.99.0.3)" \
  || { fail "ts-narrow: swanless's selectors"; grep "established with" "$(swanless_log ts-narrow)"; }

# --- failures: swanless keeps running ---
echo "--- case badkey: swanless has the wrong key for charon, charon initiates"
charon_conf badkey "$K/s.pub.pem" || die "charon config (badkey)"
swl_conf badkey rsasig add "rightrsasigkey=$X_RIGHT"
swanless_start s badkey "$LAB_DIR/badkey.conf" || die "swanless start (badkey)"
charon_initiate c c net 8 && fail "badkey: charon established with a wrong key" || pass "badkey: charon's initiation failed"
grep -q "AUTHENTICATION_FAILED" "$(charon_log c)" && pass "badkey: charon received AUTHENTICATION_FAILED" \
  || fail "badkey: no AUTHENTICATION_FAILED in charon's log"
grep -q "authentication of '192.0.2.2' with RSA signature failed: RSA signature does not verify" \
  "$(swanless_log badkey)" && pass "badkey: swanless logged why" || fail "badkey: swanless did not log it"
swanless_alive badkey && pass "badkey: swanless still running" || fail "badkey: swanless died"
swanless_has badkey "ike_auth_failures [1-9]" && pass "badkey: status counts the auth failure" \
  || fail "badkey: status does not count the auth failure"
swanless_stop badkey

echo "--- case badkey-init: charon has the wrong key for swanless, swanless initiates"
charon_conf badkey2 "$K/x.pub.pem" || die "charon config (badkey2)"
swl_conf badkey2 pubkey start "rightpubkey=$K/c.pub.pem"
swanless_start s badkey2 "$LAB_DIR/badkey2.conf" || die "swanless start (badkey2)"
wait_log "$(swanless_log badkey2)" "AUTHENTICATION_FAILED" 15 \
  && pass "badkey-init: swanless received AUTHENTICATION_FAILED" || fail "badkey-init: no AUTHENTICATION_FAILED at swanless"
swanless_alive badkey2 && pass "badkey-init: swanless still running" || fail "badkey-init: swanless died"
swanless_stop badkey2

# --- config errors name the file ---
echo "--- case missing key file"
swl_conf nokey pubkey add "rightpubkey=$LAB_DIR/does-not-exist.pem"
out=$(nsx s timeout 10 "$SWANLESS" run -c "$LAB_DIR/nokey.conf" 2>&1); rc=$?  # in s: left is local there
[ $rc -ne 0 ] && grep -q "does-not-exist.pem" <<<"$out" && pass "missing rightpubkey file: refused, the error names it" \
  || { fail "missing rightpubkey file: rc $rc, no error naming it"; echo "$out" | tail -5; }

charon_stop c
lab_summary

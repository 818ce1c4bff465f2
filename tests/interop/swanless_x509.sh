#!/usr/bin/env bash
# swanless <-> a real strongSwan (charon 5.9 + kernel-libipsec) authenticating with X.509
# certificates (RFC 7296 CERT/CERTREQ, RFC 7427 signatures, RFC 4945 identities), in two
# namespaces:
#   s: swanless, 192.0.2.1 (veth s0)   <--->   c: charon, 192.0.2.2 (veth c0)
# Inner selectors 10.99.0.1 <-> 10.99.0.2, tunnel mode, ESP in UDP (charon encap=yes).
# The CAs, certificates and the CRL are made with strongSwan's `pki` (package strongswan-pki):
#   ca:  "C=CH, O=swanless test, CN=swanless test CA", RSA 2048, self-signed
#   ca2: "C=CH, O=other, CN=other CA" (the wrong CA)
#   s-ec, c-ec: ECDSA P-256 / P-384 end certificates of ca
#   s, c: RSA end certificates "C=CH, O=swanless test, CN=s.test" / "...CN=c.test" with
#         subjectAltName DNS:s.test / DNS:c.test (and the underlay address)
#   r:   a certificate of ca that ca's CRL revokes
# swanless reads its CA from ipsec.d/cacerts beside its config (strongSwan's layout; leftcert
# from ipsec.d/certs), or from cadir=/crldir=; charon from swanctl's x509ca/x509crl folders.
# charon sends its certificate only when asked (send_cert = ifasked, its default), so each
# case also shows that swanless's CERTREQ is understood.
# Cases:
#   1. rsa-init:    swanless initiates; leftid unset = leftcert's subject DN; rightid unset
#   2. rsa-resp:    charon initiates; leftid=%fromcert, rightid = charon's DN
#   3. fqdn-init:   identities from subjectAltName: leftid=@s.test, rightid=@c.test;
#      wildcard-init: rightid="C=CH, O=swanless test, CN=*" (no IDr sent, any CN accepted)
#   4. revoked-resp: charon uses the revoked certificate r and initiates; swanless (CRL in
#                   its crldir) refuses it: AUTHENTICATION_FAILED, swanless keeps running
#   5. revoked-init: swanless uses r and initiates; charon (ca's CRL loaded) refuses it
#   6. wrongca-resp: swanless trusts ca2 only; charon initiates: refused
#   7. wrongca-init: charon trusts ca2 only; swanless initiates: charon refuses it
#   8. idmismatch:  rightid=@other.test, charon's certificate is for c.test: refused
#   9. ecdsa-init / ecdsa-resp: ECDSA certificates (swanless P-256, charon P-384) from the
#                   same CA, `: ECDSA key` in swanless's secrets, both roles
#  10. ecraw-init / ecraw-resp: the same ECDSA keys raw (rightpubkey= PEM, charon pubkeys),
#                   identities the addresses, both roles
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_x509.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin
command -v pki >/dev/null || { echo "no strongSwan pki (package strongswan-pki; scripts/install-deps.sh)"; exit 2; }

lab_init xc
lab_pair 10.99.0.2/32
charon_start c c || die "charon start"

P=$LAB_DIR/pki
mkdir -p "$P"
S_DN="C=CH, O=swanless test, CN=s.test"
C_DN="C=CH, O=swanless test, CN=c.test"
# pki prints plugin-loading noise on stderr; keep it out of the test output.
pkix() { pki "$@" 2>>"$P/pki.err"; }
# --- the PKI, made with strongSwan's pki ---
mkpki() {
  pkix --gen --type rsa --size 2048 --outform pem >"$P/ca.key" &&
  pkix --self --ca --lifetime 3650 --in "$P/ca.key" --dn "C=CH, O=swanless test, CN=swanless test CA" \
    --outform pem >"$P/ca.pem" &&
  pkix --gen --type rsa --size 2048 --outform pem >"$P/ca2.key" &&
  pkix --self --ca --lifetime 3650 --in "$P/ca2.key" --dn "C=CH, O=other, CN=other CA" --outform pem >"$P/ca2.pem" ||
    return 1
  local who san ip
  for who in s c r; do
    case $who in s) ip=192.0.2.1 ;; c) ip=192.0.2.2 ;; r) ip=192.0.2.2 ;; esac
    san=$who.test
    pkix --gen --type rsa --size 2048 --outform pem >"$P/$who.key" || return 1
    pkix --pub --in "$P/$who.key" | pkix --issue --lifetime 365 --cacert "$P/ca.pem" --cakey "$P/ca.key" \
      --dn "C=CH, O=swanless test, CN=$who.test" --san "$san" --san "$ip" --outform pem >"$P/$who.pem" || return 1
  done
  # ECDSA end certificates (P-256 for swanless, P-384 for charon), issued by the same RSA CA
  local bits
  for who in s-ec c-ec; do
    bits=256; [ "$who" = c-ec ] && bits=384
    pkix --gen --type ecdsa --size $bits --outform pem >"$P/$who.key" || return 1
    pkix --pub --in "$P/$who.key" | pkix --issue --lifetime 365 --cacert "$P/ca.pem" --cakey "$P/ca.key" \
      --dn "C=CH, O=swanless test, CN=$who.test" --san "$who.test" --outform pem >"$P/$who.pem" || return 1
  done
  pkix --signcrl --cacert "$P/ca.pem" --cakey "$P/ca.key" --reason key-compromise --cert "$P/r.pem" \
    --outform pem >"$P/ca.crl" || return 1
}
mkpki && pass "pki made two CAs, three RSA and two ECDSA certificates and a CRL" || die "pki: $(tail -5 "$P/pki.err")"
openssl verify -CAfile "$P/ca.pem" "$P/s.pem" >/dev/null 2>&1 && pass "openssl verifies s.pem against ca.pem" \
  || fail "openssl verify of s.pem"
openssl verify -crl_check -CAfile "$P/ca.pem" -CRLfile "$P/ca.crl" "$P/r.pem" 2>&1 | grep -q "revoked" \
  && pass "openssl sees r.pem revoked by the CRL" || fail "the CRL does not revoke r.pem"

# --- charon: swanctl.conf with certificates; credentials in swanctl's folders next to it ---
# charon_conf NAME CERT CA [CRL] [REMOTE_ID]: charon signs with CERT (its key of the same
# name), trusts CA, loads CRL if given, and wants REMOTE_ID from swanless (default %any).
# Its own id is CH_LID when set, else the certificate's subject (charon's default).
# RAW_PEER=KEY: raw public keys instead of certificates: charon signs with CERT's key as the
# address 192.0.2.2 and wants 192.0.2.1 with the public key of KEY (pki --pub of $P/KEY.key).
charon_conf() {
  local name=$1 cert=$2 ca=$3 crl=${4:-} rid=${5:-%any}
  local d=$LAB_DIR/$name.swanctl
  local keydir=rsa
  grep -q "BEGIN EC PRIVATE KEY" "$P/$cert.key" && keydir=ecdsa
  mkdir -p "$d/x509" "$d/x509ca" "$d/x509crl" "$d/$keydir"
  cp "$P/$cert.pem" "$d/x509/$cert.pem"
  cp "$P/$cert.key" "$d/$keydir/$cert.key"
  cp "$P/$ca.pem" "$d/x509ca/$ca.pem"
  [ -n "$crl" ] && cp "$P/$crl" "$d/x509crl/"
  local lcred="certs = $cert.pem" rcred="id = \"$rid\"" want="loaded certificate"
  if [ -n "${RAW_PEER:-}" ]; then
    mkdir -p "$d/pubkey"
    rm -f "$d/x509/$cert.pem"
    cp "$P/$cert.pub" "$P/$RAW_PEER.pub" "$d/pubkey/"
    lcred="pubkeys = $cert.pub"$'\n'"            id = 192.0.2.2"
    rcred="pubkeys = $RAW_PEER.pub"$'\n'"            id = 192.0.2.1"
    want="loaded (ecdsa|rsa) key"
  fi
  cat >"$d/swanctl.conf" <<CONF
connections {
    dc {
        version = 2
        local_addrs = 192.0.2.2
        remote_addrs = 192.0.2.1
        proposals = aes256-sha256-modp2048
        encap = yes
        local {
            auth = pubkey
            $lcred
$([ -n "${CH_LID:-}" ] && echo "            id = $CH_LID")
        }
        remote {
            auth = pubkey
            $rcred
        }
        children {
            net {
                mode = tunnel
                local_ts = 10.99.0.2/32
                remote_ts = 10.99.0.1/32
                esp_proposals = aes256-sha256-modp2048
                start_action = none
            }
        }
    }
}
CONF
  charon_reload_keyed c c "$d/swanctl.conf" "$want"
}

# swl_conf NAME AUTO CERT [conn lines...]: a config folder $LAB_DIR/NAME with strongSwan's
# layout: ipsec.d/cacerts/ca.pem, ipsec.d/certs/CERT.pem (leftcert=CERT.pem finds it there),
# the key in the secrets file. CA=, CRL= in the environment change what goes in
# ipsec.d/cacerts (default ca) and ipsec.d/crls (default none); NOCERT=1 leaves leftcert out
# (the key alone signs).
swl_conf() {
  local name=$1 auto=$2 cert=$3; shift 3
  local d=$LAB_DIR/$name
  mkdir -p "$d/ipsec.d/cacerts" "$d/ipsec.d/certs" "$d/ipsec.d/crls"
  cp "$P/${CA:-ca}.pem" "$d/ipsec.d/cacerts/"
  cp "$P/$cert.pem" "$d/ipsec.d/certs/"
  [ -n "${CRL:-}" ] && cp "$P/$CRL" "$d/ipsec.d/crls/"
  cat >"$d/$name.conf" <<CONF
config setup
    socket=$LAB_DIR/$name.sock
    loglevel=debug

conn net
    keyexchange=ikev2
    authby=pubkey
    ike=aes256-sha256-modp2048!
    esp=aes256-sha256-modp2048!
    left=192.0.2.1
    right=192.0.2.2
    leftsubnet=10.99.0.1/32
    rightsubnet=10.99.0.2/32
$([ -z "${NOCERT:-}" ] && echo "    leftcert=$cert.pem")
    auto=$auto
$(for l in "$@"; do echo "    $l"; done)
CONF
  cp "$P/$cert.key" "$d/$name.key"
  local type=RSA
  grep -q "BEGIN EC PRIVATE KEY" "$P/$cert.key" && type=ECDSA
  printf ': %s %s\n' "$type" "$name.key" >"$d/$name.secrets"
  chmod 600 "$d/$name.secrets" "$d/$name.key"
}

# up_case NAME ROLE PEER_ID_SEEN_BY_CHARON PEER_ID_SEEN_BY_SWANLESS: SAs up, traffic, logs.
# SDN/CDN: the certificates' subjects (default the RSA ones), CH_SCHEME: how charon names the
# scheme it verified swanless's signature with (default RSA), KEY: what swanless logs of
# charon's certificate key (default RSA).
up_case() {
  local name=$1 role=$2 at_charon=$3 at_swanless=$4
  local sdn=${SDN:-$S_DN} cdn=${CDN:-$C_DN} scheme=${CH_SCHEME:-RSA} key=${KEY:-RSA}
  [ "$role" = responder ] && { charon_initiate c c net 10 || fail "$name: charon initiate"; }
  pair_sas_up "$name" || return
  grep -qE "authentication of '$at_charon' with $scheme.* successful" "$(charon_log c)" \
    && pass "$name: charon verified swanless's certificate and signature as '$at_charon'" \
    || { fail "$name: no successful authentication of '$at_charon' in charon's log"; grep -i "authentication of" "$(charon_log c)" | tail -3; }
  grep -q "received end entity cert \"$sdn\"" "$(charon_log c)" \
    && pass "$name: charon received swanless's CERT" || fail "$name: charon got no CERT from swanless"
  grep -q "sending end entity cert \"$cdn\"" "$(charon_log c)" \
    && pass "$name: charon sent its CERT (asked by swanless's CERTREQ)" || fail "$name: charon sent no CERT"
  grep -q "certificate '$cdn' issued by 'C=CH, O=swanless test, CN=swanless test CA', chain of 2 verified, $key key" \
    "$(swanless_log $name)" && pass "$name: swanless verified charon's chain ($key key)" || fail "$name: swanless chain log"
  grep -q "authentication of '$at_swanless' with signature (certificate) successful" "$(swanless_log $name)" \
    && pass "$name: swanless authenticated charon as '$at_swanless'" \
    || { fail "$name: swanless did not log the certificate success"; grep "authentication of" "$(swanless_log $name)"; }
  check "$name: ping 10.99.0.1 -> 10.99.0.2" ping_check s 10.99.0.2 3
  check "$name: ping from charon's side 10.99.0.2 -> 10.99.0.1" ping_check c 10.99.0.1 2
  swanless_has "$name" "certificate" && pass "$name: status shows certificate authentication" \
    || fail "$name: status auth"
  pair_stop "$name"
}

echo "--- case rsa-init: swanless initiates, ids are the certificates' DNs"
charon_conf rsa-init c ca "" "$S_DN" || die "charon config (rsa-init)"
swl_conf rsa-init start s
swanless_start s rsa-init "$LAB_DIR/rsa-init/rsa-init.conf" || die "swanless start (rsa-init)"
up_case rsa-init initiator "$S_DN" "$C_DN"

echo "--- case rsa-resp: charon initiates, leftid=%fromcert, rightid=charon's DN"
charon_conf rsa-resp c ca "" "$S_DN" || die "charon config (rsa-resp)"
swl_conf rsa-resp add s "leftid=%fromcert" "rightid=\"$C_DN\""
swanless_start s rsa-resp "$LAB_DIR/rsa-resp/rsa-resp.conf" || die "swanless start (rsa-resp)"
up_case rsa-resp responder "$S_DN" "$C_DN"

echo "--- case wildcard-init: rightid is a DN with a wildcard (strongSwan's CN=*)"
charon_conf wildcard-init c ca "" "$S_DN" || die "charon config (wildcard-init)"
swl_conf wildcard-init start s "rightid=\"C=CH, O=swanless test, CN=*\""
swanless_start s wildcard-init "$LAB_DIR/wildcard-init/wildcard-init.conf" || die "swanless start (wildcard-init)"
up_case wildcard-init initiator "$S_DN" "$C_DN"

echo "--- case fqdn-init: identities from subjectAltName dNSNames"
# charon's own id is its subjectAltName, for swanless's rightid=@c.test
CH_LID=c.test charon_conf fqdn-init c ca "" "s.test" || die "charon config (fqdn-init)"
swl_conf fqdn-init start s "leftid=@s.test" "rightid=@c.test"
swanless_start s fqdn-init "$LAB_DIR/fqdn-init/fqdn-init.conf" || die "swanless start (fqdn-init)"
up_case fqdn-init initiator "s.test" "c.test"

S_EC_DN="C=CH, O=swanless test, CN=s-ec.test"
C_EC_DN="C=CH, O=swanless test, CN=c-ec.test"
echo "--- case ecdsa-init: ECDSA certificates, swanless P-256 initiates, charon P-384"
charon_conf ecdsa-init c-ec ca "" "$S_EC_DN" || die "charon config (ecdsa-init)"
swl_conf ecdsa-init start s-ec
swanless_start s ecdsa-init "$LAB_DIR/ecdsa-init/ecdsa-init.conf" || die "swanless start (ecdsa-init)"
SDN=$S_EC_DN CDN=$C_EC_DN CH_SCHEME=ECDSA KEY="ECDSA P-384" up_case ecdsa-init initiator "$S_EC_DN" "$C_EC_DN"
grep -q "authenticating with ECDSA P-256 signature, AUTH method 14 ecdsa-with-SHA256" "$(swanless_log ecdsa-init)" \
  && pass "ecdsa-init: swanless signed with ECDSA P-256, RFC 7427 ecdsa-with-SHA256" \
  || { fail "ecdsa-init: swanless's signature"; grep "authenticating with" "$(swanless_log ecdsa-init)"; }

echo "--- case ecdsa-resp: ECDSA certificates, charon initiates"
charon_conf ecdsa-resp c-ec ca "" "$S_EC_DN" || die "charon config (ecdsa-resp)"
swl_conf ecdsa-resp add s-ec "rightid=\"$C_EC_DN\""
swanless_start s ecdsa-resp "$LAB_DIR/ecdsa-resp/ecdsa-resp.conf" || die "swanless start (ecdsa-resp)"
SDN=$S_EC_DN CDN=$C_EC_DN CH_SCHEME=ECDSA KEY="ECDSA P-384" up_case ecdsa-resp responder "$S_EC_DN" "$C_EC_DN"

echo "--- case ecraw-init / ecraw-resp: raw ECDSA keys, no certificates (rightpubkey=, ': ECDSA key')"
for who in s-ec c-ec; do pkix --pub --in "$P/$who.key" --outform pem >"$P/$who.pub" || die "pki --pub $who"; done
for role in initiator responder; do
  name=ecraw-init; [ $role = responder ] && name=ecraw-resp
  RAW_PEER=s-ec charon_conf $name c-ec ca || die "charon config ($name)"
  NOCERT=1 swl_conf $name "$([ $role = initiator ] && echo start || echo add)" s-ec "rightpubkey=$P/c-ec.pub"
  swanless_start s $name "$LAB_DIR/$name/$name.conf" || die "swanless start ($name)"
  [ $role = responder ] && { charon_initiate c c net 10 || fail "$name: charon initiate"; }
  if pair_sas_up $name; then
    grep -qE "authentication of '192.0.2.1' with ECDSA.* successful" "$(charon_log c)" \
      && pass "$name: charon verified swanless's raw ECDSA P-256 key" || fail "$name: charon's view of our key"
    grep -q "authentication of '192.0.2.2' with ECDSA signature successful" "$(swanless_log $name)" \
      && pass "$name: swanless verified charon's raw ECDSA P-384 key" || fail "$name: swanless's ECDSA check"
    check "$name: ping 10.99.0.1 -> 10.99.0.2" ping_check s 10.99.0.2 3
    pair_stop $name
  fi
done

# refused CASE ROLE WHO_REFUSES LOG_REGEX [cert]: the initiation fails, the refusing side
# says why, swanless keeps running; with "cert", swanless counts a refused certificate.
refused() {
  local name=$1 role=$2 who=$3 why=$4 cert=${5:-}
  if [ "$role" = responder ]; then
    charon_initiate c c net 8 && fail "$name: charon established" || pass "$name: charon's initiation failed"
  else
    wait_log "$(swanless_log $name)" "AUTHENTICATION_FAILED|authentication failed" 15 \
      && pass "$name: swanless's initiation failed" || fail "$name: swanless's initiation did not fail"
  fi
  if [ "$who" = swanless ]; then
    grep -qE "$why" "$(swanless_log $name)" && pass "$name: swanless refused: $(grep -oE "$why" "$(swanless_log $name)" | head -1)" \
      || { fail "$name: swanless did not log '$why'"; grep -i "authentication of\|certificate" "$(swanless_log $name)" | tail -5; }
    grep -q "AUTHENTICATION_FAILED" "$(charon_log c)" && pass "$name: charon received AUTHENTICATION_FAILED" \
      || fail "$name: no AUTHENTICATION_FAILED in charon's log"
    swanless_has "$name" "ike_auth_failures [1-9]" && pass "$name: status counts the auth failure" \
      || fail "$name: status does not count it"
    if [ "$cert" = cert ]; then
      swanless_has "$name" "ike_cert_refused [1-9]" && pass "$name: status counts the refused certificate" \
        || fail "$name: status does not count the refused certificate"
    fi
  else
    grep -qE "$why" "$(charon_log c)" && pass "$name: charon refused: $(grep -oE "$why" "$(charon_log c)" | tail -1)" \
      || { fail "$name: charon did not log '$why'"; tail -15 "$(charon_log c)"; }
  fi
  swanless_alive "$name" && pass "$name: swanless still running" || fail "$name: swanless died"
  swanless_stop "$name"
}

echo "--- case revoked-resp: charon's certificate is revoked by the CRL swanless holds"
charon_conf revoked-resp r ca "" "$S_DN" || die "charon config (revoked-resp)"
CRL=ca.crl swl_conf revoked-resp add s
swanless_start s revoked-resp "$LAB_DIR/revoked-resp/revoked-resp.conf" || die "swanless start (revoked-resp)"
refused revoked-resp responder swanless "certificate 'C=CH, O=swanless test, CN=r.test' refused: certificate revoked" cert

echo "--- case revoked-init: swanless's certificate is revoked, charon holds the CRL"
charon_conf revoked-init c ca ca.crl || die "charon config (revoked-init)"
swl_conf revoked-init start r
swanless_start s revoked-init "$LAB_DIR/revoked-init/revoked-init.conf" || die "swanless start (revoked-init)"
refused revoked-init initiator charon "certificate was revoked"

echo "--- case wrongca-resp: swanless trusts another CA only"
charon_conf wrongca-resp c ca "" "$S_DN" || die "charon config (wrongca-resp)"
CA=ca2 swl_conf wrongca-resp add s
swanless_start s wrongca-resp "$LAB_DIR/wrongca-resp/wrongca-resp.conf" || die "swanless start (wrongca-resp)"
refused wrongca-resp responder swanless "refused: unable to get local issuer certificate" cert

echo "--- case wrongca-init: charon trusts another CA only"
charon_conf wrongca-init c ca2 || die "charon config (wrongca-init)"
swl_conf wrongca-init start s
swanless_start s wrongca-init "$LAB_DIR/wrongca-init/wrongca-init.conf" || die "swanless start (wrongca-init)"
refused wrongca-init initiator charon "no trusted RSA public key found for|no issuer certificate found"

echo "--- case idmismatch: rightid names an identity charon's certificate does not hold"
CH_LID=c.test charon_conf idmismatch c ca "" "$S_DN" || die "charon config (idmismatch)"
swl_conf idmismatch add s "rightid=@other.test"
swanless_start s idmismatch "$LAB_DIR/idmismatch/idmismatch.conf" || die "swanless start (idmismatch)"
refused idmismatch responder swanless "no peer config found for 'c.test'"

charon_stop c
lab_summary

// libFuzzer target for what swanless parses of certificates: the CERT payload contents
// (ike/cert.h collect_certs: at most 4 X.509 CERTs, each exactly one DER certificate),
// CERTREQ CA hashes (parse_certreq), CRLs, and distinguished names from text and DER
// (common/x509.h).
//
// The first input byte picks the parser; the rest is its input. For collect_certs the
// rest is cut into CERT payloads by 2-byte big-endian lengths, the encoding byte first.
// Contracts checked: a parsed certificate answers every question asked of it without
// crashing, CERTREQ hashes are 20-byte views inside the input that add up to it, a DN
// made from text prints and equals itself, a DER DN that prints equals itself.
//
// Seeds: fuzz/corpus/ike_cert/ (a self-signed DER certificate made with openssl req, as
// a one-CERT list and alone; a CERTREQ; DN texts).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/x509.h"
#include "ike/cert.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(common::ByteSpan part, common::ByteSpan whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void exercise(const common::x509::Certificate& c) {
  (void)c.subject_text();
  (void)c.issuer_text();
  (void)c.spki_sha1();
  (void)c.key_type();
  (void)c.is_ca();
  (void)c.has_dns("a.test");
  (void)c.has_email("a@test");
  const std::byte ip[4] = {std::byte{192}, std::byte{0}, std::byte{2}, std::byte{1}};
  (void)c.has_ip(ip);
  common::Bytes subject = c.subject_der();
  if (common::x509::dn_to_string(subject)) check(common::x509::dn_equal(subject, subject));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const common::ByteSpan in = common::as_bytes(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  switch (data[0] % 5) {
    case 0: {
      std::vector<ike::CertPayload> payloads;
      common::Reader r(in);
      while (!r.empty() && payloads.size() < 8) {
        ike::CertPayload p;
        p.encoding = r.u8();
        std::size_t len = r.u16();
        common::ByteSpan body = r.bytes(std::min(len, r.remaining()));
        if (!r.ok()) break;
        p.data = common::to_bytes(body);
        payloads.push_back(std::move(p));
      }
      std::vector<const ike::CertPayload*> ptrs;
      for (const auto& p : payloads) ptrs.push_back(&p);
      auto got = ike::collect_certs(ptrs);
      if (got && *got) {
        exercise((*got)->end);
        check((*got)->intermediates.size() < ike::kMaxPeerCerts);
        for (const auto& c : (*got)->intermediates) exercise(c);
      }
      break;
    }
    case 1: {
      ike::CertReqPayload p{ike::kCertEncodingX509, common::to_bytes(in)};
      auto hashes = ike::parse_certreq(p);
      if (hashes) {
        check(hashes->size() * ike::kCaHashSize == p.data.size());
        for (auto h : *hashes) check(h.size() == ike::kCaHashSize && inside(h, p.data));
      }
      break;
    }
    case 2: {
      auto der = common::x509::dn_from_string(text);
      if (der) {
        check(common::x509::dn_to_string(*der).has_value());
        check(common::x509::dn_equal(*der, *der));
      }
      break;
    }
    case 3: {
      if (auto t = common::x509::dn_to_string(in)) check(common::x509::dn_equal(in, in));
      break;
    }
    case 4: {
      auto c = common::x509::Certificate::from_der(in);
      if (c) exercise(*c);
      auto crl = common::x509::Crl::from_der(in);
      if (crl) (void)crl->issuer_text();
      break;
    }
  }
  return 0;
}

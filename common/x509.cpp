// X.509 certificates, CRLs and chain verification on OpenSSL 3. See x509.h.
#include "common/x509.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include "common/pkey_util.h"

namespace common::x509 {

using common::crypto::pkey::err;
using common::crypto::pkey::read_file;

namespace {

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(STACK_OF(X509)* p) const { sk_X509_free(p); }
};
template <typename T>
using Own = std::unique_ptr<T, Free>;

const unsigned char* u8p(ByteSpan s) { return reinterpret_cast<const unsigned char*>(s.data()); }

template <typename T, typename F>
Bytes to_der(const T* obj, F i2d) {
  int n = i2d(obj, nullptr);
  if (n <= 0) return {};
  Bytes out(static_cast<std::size_t>(n));
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d(obj, &p);
  return out;
}

std::string name_text(const X509_NAME* n) {
  common::crypto::pkey::BioPtr b(BIO_new(BIO_s_mem()));
  if (!b) return {};
  // Forward order, ", " between RDNs, short names, UTF-8 shown as is.
  unsigned long flags = XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  if (X509_NAME_print_ex(b.get(), n, 0, flags) < 0) return {};
  return common::crypto::pkey::bio_string(b.get());
}

bool is_pem(std::string_view s) { return s.find("-----BEGIN ") != std::string_view::npos; }

Own<X509_NAME> parse_name(ByteSpan der) {
  const unsigned char* p = u8p(der);
  Own<X509_NAME> n(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (!n || p != u8p(der) + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  return n;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The verify callback when CRLs are not strict: a missing CRL is no failure (strongSwan's
// strictcrlpolicy=no); everything else stays as OpenSSL decided.
int lenient_crl_cb(int ok, X509_STORE_CTX* ctx) {
  if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  return ok;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Certificate

Result<Certificate> Certificate::from_der(ByteSpan der) {
  if (der.empty()) return make_error(Errc::truncated, "empty certificate");
  if (der.size() > kMaxCertBytes) return make_error(Errc::malformed, "certificate larger than 16 KiB");
  const unsigned char* p = u8p(der);
  X509* raw = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!raw) return err(Errc::malformed, "not a DER X.509 certificate");
  std::shared_ptr<X509> x(raw, Free{});
  if (p != u8p(der) + der.size()) return err(Errc::malformed, "bytes after the DER certificate");
  return Certificate(std::move(x));
}

Result<std::vector<Certificate>> Certificate::from_pem_all(std::string_view pem) {
  auto b = common::crypto::pkey::mem_bio(pem);
  if (!b) return err(Errc::crypto, "BIO_new_mem_buf");
  std::vector<Certificate> out;
  while (X509* raw = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr))
    out.push_back(Certificate(std::shared_ptr<X509>(raw, Free{})));
  ERR_clear_error();  // the loop ends on "no start line"
  if (out.empty()) return make_error(Errc::malformed, "no PEM certificate");
  return out;
}

Result<std::vector<Certificate>> Certificate::load_file_all(const std::string& path) {
  auto s = read_file(path);
  if (!s) return s.error();
  if (is_pem(*s)) return from_pem_all(*s);
  auto c = from_der(as_bytes(*s));
  if (!c) return c.error();
  return std::vector<Certificate>{std::move(*c)};
}

Result<Certificate> Certificate::load_file(const std::string& path) {
  auto all = load_file_all(path);
  if (!all) return all.error();
  return std::move(all->front());
}

Bytes Certificate::der() const { return to_der(x_.get(), i2d_X509); }
Bytes Certificate::subject_der() const { return to_der(X509_get_subject_name(x_.get()), i2d_X509_NAME); }
std::string Certificate::subject_text() const { return name_text(X509_get_subject_name(x_.get())); }
std::string Certificate::issuer_text() const { return name_text(X509_get_issuer_name(x_.get())); }
Bytes Certificate::spki_der() const { return to_der(X509_get_X509_PUBKEY(x_.get()), i2d_X509_PUBKEY); }

Bytes Certificate::spki_sha1() const {
  Bytes spki = spki_der();
  Bytes out(20);
  unsigned int len = 0;
  if (!EVP_Digest(spki.data(), spki.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha1(), nullptr) ||
      len != out.size())
    return {};
  return out;
}

EVP_PKEY* Certificate::public_key() const { return X509_get0_pubkey(x_.get()); }

std::string Certificate::key_type() const {
  EVP_PKEY* k = public_key();
  if (!k) return "?";
  if (EVP_PKEY_is_a(k, "RSA")) return "RSA";
  if (EVP_PKEY_is_a(k, "EC")) return "EC";
  const char* n = EVP_PKEY_get0_type_name(k);
  return n ? n : "?";
}

bool Certificate::is_ca() const { return X509_check_ca(x_.get()) != 0; }

// No wildcards and never the subject's CN: an IKE identity is matched exactly.
bool Certificate::has_dns(std::string_view name) const {
  if (name.empty()) return false;
  int rc = X509_check_host(x_.get(), name.data(), name.size(),
                           X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr);
  ERR_clear_error();
  return rc == 1;
}

bool Certificate::has_email(std::string_view addr) const {
  if (addr.empty()) return false;
  int rc = X509_check_email(x_.get(), addr.data(), addr.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  ERR_clear_error();
  return rc == 1;
}

bool Certificate::has_ip(ByteSpan addr) const {
  if (addr.size() != 4 && addr.size() != 16) return false;
  int rc = X509_check_ip(x_.get(), u8p(addr), addr.size(), 0);
  ERR_clear_error();
  return rc == 1;
}

bool Certificate::operator==(const Certificate& o) const { return X509_cmp(x_.get(), o.x_.get()) == 0; }

// ---------------------------------------------------------------------------------------
// Crl

Result<Crl> Crl::from_der(ByteSpan der) {
  if (der.empty()) return make_error(Errc::truncated, "empty CRL");
  const unsigned char* p = u8p(der);
  X509_CRL* raw = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  if (!raw) return err(Errc::malformed, "not a DER X.509 CRL");
  std::shared_ptr<X509_CRL> c(raw, Free{});
  if (p != u8p(der) + der.size()) return err(Errc::malformed, "bytes after the DER CRL");
  return Crl(std::move(c));
}

Result<std::vector<Crl>> Crl::load_file_all(const std::string& path) {
  auto s = read_file(path);
  if (!s) return s.error();
  if (!is_pem(*s)) {
    auto c = from_der(as_bytes(*s));
    if (!c) return c.error();
    return std::vector<Crl>{std::move(*c)};
  }
  auto b = common::crypto::pkey::mem_bio(*s);
  if (!b) return err(Errc::crypto, "BIO_new_mem_buf");
  std::vector<Crl> out;
  while (X509_CRL* raw = PEM_read_bio_X509_CRL(b.get(), nullptr, nullptr, nullptr))
    out.push_back(Crl(std::shared_ptr<X509_CRL>(raw, Free{})));
  ERR_clear_error();
  if (out.empty()) return make_error(Errc::malformed, "no PEM X509 CRL");
  return out;
}

std::string Crl::issuer_text() const { return name_text(X509_CRL_get_issuer(c_.get())); }

// ---------------------------------------------------------------------------------------
// Distinguished names

Result<Bytes> dn_from_string(std::string_view text) {
  Own<X509_NAME> n(X509_NAME_new());
  if (!n) return err(Errc::crypto, "X509_NAME_new");
  text = trim(text);
  // OpenSSL's one-line form "/C=CH/O=x/CN=y" or the RFC 2253-like "C=CH, O=x, CN=y".
  char sep = ',';
  if (!text.empty() && text.front() == '/') {
    sep = '/';
    text.remove_prefix(1);
  }
  if (text.empty()) return make_error(Errc::malformed, "empty DN");
  while (true) {
    std::size_t end = text.find(sep);
    std::string_view part = trim(text.substr(0, end));
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) return make_error(Errc::malformed, "DN part is not KEY=VALUE");
    std::string key(trim(part.substr(0, eq)));
    std::string value(trim(part.substr(eq + 1)));
    if (OBJ_txt2nid(key.c_str()) == NID_undef) {  // "cn", "ou": strongSwan takes any case
      std::string upper = key;
      for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (upper == "E" || upper == "EMAIL") upper = "emailAddress";  // strongSwan's names for it
      if (OBJ_txt2nid(upper.c_str()) != NID_undef) key = upper;
    }
    if (value.empty()) return make_error(Errc::malformed, "DN part with an empty value");
    if (!X509_NAME_add_entry_by_txt(n.get(), key.c_str(), MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0))
      return err(Errc::malformed, "unknown DN attribute or bad value");
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return to_der(n.get(), i2d_X509_NAME);
}

std::optional<std::string> dn_to_string(ByteSpan der) {
  auto n = parse_name(der);
  if (!n) return std::nullopt;
  return name_text(n.get());
}

bool dn_equal(ByteSpan a, ByteSpan b) {
  auto na = parse_name(a), nb = parse_name(b);
  return na && nb && X509_NAME_cmp(na.get(), nb.get()) == 0;
}

namespace {
bool is_star(const X509_NAME_ENTRY* e) {
  const ASN1_STRING* v = X509_NAME_ENTRY_get_data(e);
  return ASN1_STRING_length(v) == 1 && ASN1_STRING_get0_data(v)[0] == '*';
}
// One RDN entry of each, compared as one-entry names (the canonical comparison).
bool entry_equal(const X509_NAME_ENTRY* a, const X509_NAME_ENTRY* b) {
  Own<X509_NAME> na(X509_NAME_new()), nb(X509_NAME_new());
  if (!na || !nb || !X509_NAME_add_entry(na.get(), a, -1, 0) || !X509_NAME_add_entry(nb.get(), b, -1, 0)) return false;
  return X509_NAME_cmp(na.get(), nb.get()) == 0;
}
}  // namespace

bool dn_has_wildcard(ByteSpan dn) {
  auto n = parse_name(dn);
  if (!n) return false;
  for (int i = 0; i < X509_NAME_entry_count(n.get()); ++i)
    if (is_star(X509_NAME_get_entry(n.get(), i))) return true;
  return false;
}

bool dn_matches(ByteSpan pattern, ByteSpan dn) {
  auto p = parse_name(pattern), n = parse_name(dn);
  if (!p || !n || X509_NAME_entry_count(p.get()) != X509_NAME_entry_count(n.get())) return false;
  for (int i = 0; i < X509_NAME_entry_count(p.get()); ++i) {
    const X509_NAME_ENTRY* pe = X509_NAME_get_entry(p.get(), i);
    const X509_NAME_ENTRY* ne = X509_NAME_get_entry(n.get(), i);
    if (OBJ_cmp(X509_NAME_ENTRY_get_object(pe), X509_NAME_ENTRY_get_object(ne)) != 0) return false;
    if (!is_star(pe) && !entry_equal(pe, ne)) return false;
  }
  return true;
}

bool looks_like_dn(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.front() == '@' || text.find('=') == std::string_view::npos) return false;
  return dn_from_string(text).ok();
}

// ---------------------------------------------------------------------------------------
// TrustStore

Bytes TrustStore::certreq_data() const {
  Bytes out;
  for (const auto& c : cas_) append(out, c.spki_sha1());
  return out;
}

Bytes TrustStore::digest() const {
  Bytes all;
  for (const auto& c : cas_) append(all, c.der());
  for (const auto& c : crls_) append(all, to_der(c.native(), i2d_X509_CRL));
  Bytes out(32);
  unsigned int len = 0;
  if (!EVP_Digest(all.data(), all.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha256(), nullptr))
    return {};
  return out;
}

bool TrustStore::has_ca_hash(ByteSpan hash) const {
  return std::any_of(cas_.begin(), cas_.end(), [&](const Certificate& c) {
    Bytes h = c.spki_sha1();
    return std::equal(h.begin(), h.end(), hash.begin(), hash.end());
  });
}

Result<std::vector<Certificate>> TrustStore::verify(const Certificate& end, std::span<const Certificate> untrusted,
                                                    std::optional<std::int64_t> at) const {
  if (cas_.empty()) return make_error(Errc::config, "no CA certificate to verify against");
  Own<X509_STORE> store(X509_STORE_new());
  Own<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  Own<STACK_OF(X509)> chain(sk_X509_new_null());
  if (!store || !ctx || !chain) return err(Errc::crypto, "X509_STORE_new");
  for (const auto& c : cas_)
    if (!X509_STORE_add_cert(store.get(), c.native())) return err(Errc::crypto, "X509_STORE_add_cert");
  for (const auto& c : crls_)
    if (!X509_STORE_add_crl(store.get(), c.native())) return err(Errc::crypto, "X509_STORE_add_crl");
  for (const auto& c : untrusted)
    if (!sk_X509_push(chain.get(), c.native())) return err(Errc::crypto, "sk_X509_push");
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), end.native(), chain.get()))
    return err(Errc::crypto, "X509_STORE_CTX_init");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  unsigned long flags = 0;
  if (!crls_.empty() || strict_crl_) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (at) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*at));
  if (!strict_crl_) X509_STORE_CTX_set_verify_cb(ctx.get(), lenient_crl_cb);
  int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    int e = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return make_error(Errc::auth, X509_verify_cert_error_string(e));
  }
  std::vector<Certificate> out;
  STACK_OF(X509)* got = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; got && i < sk_X509_num(got); ++i) {
    X509* x = sk_X509_value(got, i);
    X509_up_ref(x);
    out.push_back(Certificate(std::shared_ptr<X509>(x, Free{})));
  }
  return out;
}

}  // namespace common::x509

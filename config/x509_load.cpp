// Reading certificates, CA folders and CRLs for a conn. See x509_load.h.
#include "config/x509_load.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "common/x509.h"
#include "config/text.h"

namespace config {

namespace fs = std::filesystem;
using common::x509::Certificate;
using common::x509::Crl;
using common::x509::TrustStore;

namespace {

std::string config_dir(const Config& cfg) {
  fs::path p(cfg.path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

std::string default_dir(const Config& cfg, const std::string& set, const char* sub) {
  if (!set.empty()) return set;
  std::error_code ec;
  std::string d = resolve_path(config_dir(cfg), std::string("ipsec.d/") + sub);
  return fs::is_directory(d, ec) ? d : std::string();
}

// The regular files of a folder, sorted by name (a stable order for CERTREQ and logs).
std::vector<std::string> files_in(const std::string& dir, std::string& error) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) out.push_back(it->path().string());
  if (ec) error = ec.message();
  std::sort(out.begin(), out.end());
  return out;
}

std::string why(const common::Error& e) { return e.detail; }

}  // namespace

std::string effective_cadir(const Config& cfg) { return default_dir(cfg, cfg.setup.cadir, "cacerts"); }
std::string effective_crldir(const Config& cfg) { return default_dir(cfg, cfg.setup.crldir, "crls"); }

bool uses_certs(const ConnConfig& c) { return !c.left.cert.empty() || !c.right.cert.empty() || !c.right.ca.empty(); }

bool load_x509(const Config& cfg, const ConnConfig& c, ike::PeerConfig& p, std::vector<std::string>& errors) {
  if (!uses_certs(c)) return true;
  bool ok = true;
  auto fail = [&](std::string msg) {
    errors.push_back(p.name + ": " + std::move(msg));
    ok = false;
  };
  switch (c.send_cert) {
    case SendCert::always: p.send_cert = ike::PeerConfig::SendCert::always; break;
    case SendCert::ifasked: p.send_cert = ike::PeerConfig::SendCert::ifasked; break;
    case SendCert::never: p.send_cert = ike::PeerConfig::SendCert::never; break;
  }
  if (!c.left.cert.empty()) {
    // The first certificate is ours; any after it (a PEM bundle) are intermediates to send.
    auto certs = Certificate::load_file_all(c.left.cert);
    if (!certs) {
      fail("cannot load leftcert " + c.left.cert + ": " + why(certs.error()));
    } else {
      p.local_cert = std::make_shared<const Certificate>(certs->front());
      for (std::size_t i = 1; i < certs->size(); ++i)
        p.local_chain.push_back(std::make_shared<const Certificate>((*certs)[i]));
    }
  }
  if (!c.right.cert.empty()) {
    auto cert = Certificate::load_file(c.right.cert);
    if (!cert) fail("cannot load rightcert " + c.right.cert + ": " + why(cert.error()));
    else p.peer_cert = std::make_shared<const Certificate>(std::move(*cert));
  }

  auto trust = std::make_shared<TrustStore>();
  trust->set_strict_crl(cfg.setup.strict_crl);
  auto add_cas = [&](const std::string& file, bool from_dir) {
    auto cas = Certificate::load_file_all(file);
    if (!cas) {
      fail("cannot load CA certificate " + file + ": " + why(cas.error()));
      return;
    }
    for (auto& ca : *cas) {
      if (!ca.is_ca() && !from_dir) {
        fail("rightca " + file + " ('" + ca.subject_text() + "') is not a CA certificate");
        continue;
      }
      if (ca.is_ca()) trust->add_ca(std::move(ca));
    }
  };
  if (!c.right.ca_file.empty()) {
    add_cas(c.right.ca_file, false);  // rightca=FILE: the peer's only trust anchor
  } else {
    if (!c.right.ca.empty()) {
      auto dn = common::x509::dn_from_string(c.right.ca);
      if (dn) p.peer_ca_dn = std::move(*dn);
      else fail("rightca '" + c.right.ca + "' is neither a file nor a distinguished name");
    }
    if (std::string dir = effective_cadir(cfg); !dir.empty()) {
      std::string e;
      for (const auto& f : files_in(dir, e)) add_cas(f, true);
      if (!e.empty()) fail("cannot read cadir " + dir + ": " + e);
    }
  }
  if (std::string dir = effective_crldir(cfg); !dir.empty()) {
    std::string e;
    for (const auto& f : files_in(dir, e)) {
      auto crls = Crl::load_file_all(f);
      if (!crls) {
        fail("cannot load CRL " + f + ": " + why(crls.error()));
        continue;
      }
      for (auto& crl : *crls) trust->add_crl(std::move(crl));
    }
    if (!e.empty()) fail("cannot read crldir " + dir + ": " + e);
  }
  if (!trust->empty()) p.trust = std::move(trust);
  if (!p.trust && !p.peer_cert && p.peer_key == nullptr && c.right.pubkey.empty() && c.right.rsasigkey.empty())
    fail("no CA certificate for the peer's certificate: put it in cadir= (default ipsec.d/cacerts beside the "
         "config), or set rightca=FILE or rightcert=FILE");
  return ok;
}

}  // namespace config

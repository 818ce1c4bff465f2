// `swanless keygen` and `swanless showkey`: the host-key commands (libreswan's newhostkey /
// showhostkey). See commands.h.
#include <optional>
#include <ostream>

#include "apps/commands.h"
#include "common/rsa.h"

namespace apps {

namespace {

using common::crypto::RsaPrivateKey;
using common::crypto::RsaPublicKey;

void print_key_lines(const RsaPublicKey& pub, bool left, std::ostream& out) {
  const std::string text = pub.to_libreswan();
  // libreswan's showhostkey comment: the first characters of the base64 and the size.
  out << "\t# rsakey " << text.substr(2, 9) << " (" << pub.bits() << " bits)\n";
  out << '\t' << (left ? "left" : "right") << "rsasigkey=" << text << '\n';
}

std::string describe(const common::Error& e) {
  return std::string(common::to_string(e.code)) + ": " + e.detail;
}

}  // namespace

int run_keygen(unsigned bits, const std::string& out_path, std::ostream& out, std::ostream& err) {
  if (out_path.empty()) {
    err << "swanless keygen: -o FILE is required\n";
    return 1;
  }
  if (bits < common::crypto::kMinKeygenBits || bits > common::crypto::kMaxPublicBits) {
    err << "swanless keygen: --bits must be between " << common::crypto::kMinKeygenBits << " and "
        << common::crypto::kMaxPublicBits << ", not " << bits << "\n";
    return 1;
  }
  auto key = RsaPrivateKey::generate(bits);
  if (!key) {
    err << "swanless keygen: " << describe(key.error()) << "\n";
    return 1;
  }
  if (auto s = key->write_pem_file(out_path); !s) {
    err << "swanless keygen: " << out_path << ": " << describe(s.error()) << "\n";
    return 1;
  }
  out << "wrote a " << key->bits() << "-bit RSA private key to " << out_path << " (mode 0600)\n";
  out << "secrets file line:  : RSA " << out_path << "\n";
  out << "public key for the peer's conn (or `swanless showkey " << out_path << " --pem` for a PEM file):\n";
  print_key_lines(key->public_key(), true, out);
  return 0;
}

int run_showkey(const std::string& path, bool left, bool pem, std::ostream& out, std::ostream& err) {
  auto priv = RsaPrivateKey::load_pem_file(path);
  std::optional<RsaPublicKey> pub;
  if (priv) {
    pub = priv->public_key();
  } else if (priv.error().code == common::Errc::io) {
    err << "swanless showkey: " << path << ": " << describe(priv.error()) << "\n";
    return 1;
  } else if (priv.error().code == common::Errc::config) {
    err << "swanless showkey: " << path << ": the private key is encrypted; export its public key with "
        << "`openssl pkey -in " << path << " -pubout` and show that\n";
    return 1;
  } else {
    auto p = RsaPublicKey::load_pem_file(path);
    if (!p) {
      err << "swanless showkey: " << path << ": not an RSA private or public key in PEM form (" << priv.error().detail
          << "; " << p.error().detail << ")\n";
      return 1;
    }
    pub = std::move(*p);
  }
  print_key_lines(*pub, left, out);
  if (pem) out << pub->to_pem();
  return 0;
}

int run_showkey(const std::string& path, bool left, std::ostream& out, std::ostream& err) {
  return run_showkey(path, left, false, out, err);
}

}  // namespace apps

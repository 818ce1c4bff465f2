// The secrets file, ipsec.secrets(5) syntax:
//
//   # [selector ...] : TYPE value
//   222.45.67.1 177.54.214.20 : PSK "long random shared secret"
//   @gw.example.org : PSK 0x6b6579      (hex)
//   : PSK 0sa2V5                        (base64)
//   : RSA /etc/swanless/host-key.pem    (private key file; relative to the secrets file)
//   : ECDSA /etc/swanless/ec-key.pem    (an ECDSA private key, P-256/P-384/P-521)
//
// Selectors are IKE identities (addresses, @fqdn, user@fqdn, ...); `%any` matches any.
// An entry may continue on following indented lines. A file readable or writable by group
// or others (st_mode & 077) is refused, as a PSK or private key must stay private.
//
// Lookup follows strongSwan: each selector is compared with the local and the remote
// identity; an exact match scores more than `%any`, an entry without selectors matches
// both ends as a wildcard. The best total wins (both ends matched > one end > wildcard),
// the first entry in the file on a tie.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/secret.h"
#include "config/diagnostic.h"

namespace config {

struct SecretEntry {
  enum class Type : std::uint8_t { psk, rsa, ecdsa };
  Type type = Type::psk;
  std::vector<std::string> ids;  // empty = any
  common::SecretBytes psk;       // Type::psk
  std::string key_path;          // Type::rsa/ecdsa, resolved against the secrets file's folder
  std::string passphrase;        // Type::rsa/ecdsa, optional
  std::string file;
  int line = 0;
};

struct Secrets {
  std::string path;
  std::vector<SecretEntry> entries;

  // Best PSK for this identity pair, nullptr when none matches.
  const SecretEntry* find_psk(std::string_view local_id, std::string_view remote_id) const;
  // Best private key (RSA or ECDSA) for the local identity (they usually have no selector).
  const SecretEntry* find_private_key(std::string_view local_id) const;
};

struct SecretsResult {
  std::optional<Secrets> secrets;  // set when errors is empty
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;  // a missing include, ...
  bool ok() const { return errors.empty() && secrets.has_value(); }
};

// Syntax only, no filesystem access (tests and fuzzing): an `include` line is an error.
SecretsResult parse_secrets_string(std::string_view text, std::string_view name);
// Reads `path`, refusing it when st_mode & 077. A swanctl.conf (config/swanctl.h: by name or
// content) is read for its secrets block and key folders instead, and each file that holds
// a written secret is refused when st_mode & 077. `include PATTERN` lines (glob(3), relative
// to the including file's folder, 8 levels at most) read each file the same way, its
// entries taking the include's place in the order; a pattern without wildcards that names
// no file is a warning, as Debian's `include /var/lib/strongswan/ipsec.secrets.inc` often
// is, and a wildcard that matches nothing is silent.
SecretsResult load_secrets(const std::string& path);

// How well `selector` names `id`: 0 none, 1 wildcard (%any), 20 exact (strongSwan's
// ID_MATCH_ANY / ID_MATCH_PERFECT). Addresses compare as addresses, "@x" equals "x".
int id_match(std::string_view selector, std::string_view id);

// RFC 4648 base64 (padding optional, whitespace ignored); nullopt when malformed.
std::optional<common::Bytes> decode_base64(std::string_view text);
// strongSwan/libreswan value forms: 0x<hex>, 0s<base64>; nullopt when neither or malformed.
std::optional<common::Bytes> decode_prefixed_binary(std::string_view text);

}  // namespace config

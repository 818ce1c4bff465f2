// Stage 2's shared pieces (internal to config/): the keys a section ends up with (KeyMap),
// Typer, which reads one RawKey as a typed value and reports at the key when it is
// malformed, and SectionKeys, the keys of one gre or pim section with the same checks.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/net.h"
#include "config/diagnostic.h"
#include "config/model.h"
#include "config/reader.h"

namespace config {

// Key name -> the line that sets it (after inheritance for conns).
using KeyMap = std::map<std::string, RawKey>;

class Typer {
 public:
  Typer(Reporter& r, std::string config_dir) : rep_(r), dir_(std::move(config_dir)) {}

  void err(const RawKey& k, std::string msg) { rep_.error(k.file, k.line, k.key, std::move(msg)); }
  void warn(const RawKey& k, std::string msg) { rep_.warn(k.file, k.line, k.key, std::move(msg)); }

  std::optional<Seconds> duration(const RawKey& k);
  std::optional<bool> yes_no(const RawKey& k);
  std::optional<common::IpAddr> ip(const RawKey& k);
  std::optional<common::IpAddr> ipv4(const RawKey& k);
  std::optional<unsigned long long> uint(const RawKey& k, unsigned long long lo,
                                         unsigned long long hi);
  // The value as a path, relative to the config file's folder.
  std::string path(const RawKey& k);
  const std::string& dir() const { return dir_; }
  // How host names in left=/right= are resolved; empty: they are an error.
  void set_resolver(HostResolver r) { resolve_ = std::move(r); }
  const HostResolver& resolver() const { return resolve_; }

 private:
  Reporter& rep_;
  std::string dir_;
  HostResolver resolve_;
};

// The keys of one gre or pim section, by name. Every check that fails reports at the key
// (a missing required key at the section line) and clears `ok`: the section is kept only
// when all its keys are good.
class SectionKeys {
 public:
  SectionKeys(const RawSection& s, Reporter& r, Typer& ty);
  const RawKey* get(const char* key) const;
  const RawKey* required(const char* key);
  // key=IPv4 address into out (left alone when the key is absent and not required).
  void ipv4(const char* key, common::IpAddr& out, bool is_required);
  // key=number in [lo, hi] into out.
  void number(const char* key, unsigned& out, unsigned lo, unsigned hi);
  void err(const RawKey& k, std::string msg) {
    ty_.err(k, std::move(msg));
    ok = false;
  }
  // An error about the section (a key missing, or keys that do not fit together).
  void error(const char* key, std::string msg) {
    rep_.error(s_.file, s_.line, key, std::move(msg));
    ok = false;
  }
  bool ok = true;

 private:
  const RawSection& s_;
  Reporter& rep_;
  Typer& ty_;
  KeyMap m_;
};

}  // namespace config

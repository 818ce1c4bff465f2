// Typed values of single keys, with their diagnostics. See typer.h.
#include "config/typer.h"

#include "config/text.h"
#include "config/values.h"

namespace config {

using common::IpAddr;

std::optional<Seconds> Typer::duration(const RawKey& k) {
  auto d = parse_duration(k.value);
  if (!d) err(k, "malformed duration '" + k.value + "' (e.g. 30s, 9m, 3h, 1d, or seconds)");
  return d;
}

std::optional<bool> Typer::yes_no(const RawKey& k) {
  auto b = parse_yes_no(k.value);
  if (!b) err(k, "expected yes or no, not '" + k.value + "'");
  return b;
}

std::optional<IpAddr> Typer::ip(const RawKey& k) {
  auto a = parse_ip(k.value);
  if (!a) err(k, "malformed IP address '" + k.value + "'");
  return a;
}

std::optional<IpAddr> Typer::ipv4(const RawKey& k) {
  auto a = ip(k);
  if (a && !a->is_v4()) {
    err(k, "only IPv4 is supported here");
    return std::nullopt;
  }
  return a;
}

std::optional<unsigned long long> Typer::uint(const RawKey& k, unsigned long long lo,
                                              unsigned long long hi) {
  auto v = parse_uint(k.value, hi);
  if (!v || *v < lo) {
    err(k, "expected a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
               ", not '" + k.value + "'");
    return std::nullopt;
  }
  return v;
}

std::string Typer::path(const RawKey& k) { return resolve_path(dir_, k.value); }

SectionKeys::SectionKeys(const RawSection& s, Reporter& r, Typer& ty) : s_(s), rep_(r), ty_(ty) {
  for (const auto& k : s.keys)
    if (!k.value.empty()) m_.emplace(k.key, k);
}

const RawKey* SectionKeys::get(const char* key) const {
  auto it = m_.find(key);
  return it == m_.end() ? nullptr : &it->second;
}

const RawKey* SectionKeys::required(const char* key) {
  const RawKey* k = get(key);
  if (!k) error(key, "required in " + std::string(type_name(s_.type)) + " " + s_.name);
  return k;
}

void SectionKeys::ipv4(const char* key, IpAddr& out, bool is_required) {
  const RawKey* k = is_required ? required(key) : get(key);
  if (!k) return;
  if (auto a = ty_.ipv4(*k)) out = *a;
  else ok = false;
}

void SectionKeys::number(const char* key, unsigned& out, unsigned lo, unsigned hi) {
  if (const RawKey* k = get(key)) {
    if (auto v = ty_.uint(*k, lo, hi)) out = static_cast<unsigned>(*v);
    else ok = false;
  }
}

}  // namespace config

// Stage 2: conn inheritance (own keys > also= conns in order > %default). See stages.h.
#include "config/stages.h"

#include <algorithm>

namespace config {

Inheritance::Inheritance(const std::vector<RawSection>& secs, Reporter& r) : secs_(secs), rep_(r) {
  for (std::size_t i = 0; i < secs_.size(); ++i)
    if (secs_[i].type == SectionType::conn) conn_index_[secs_[i].name] = i;
}

bool Inheritance::resolve(std::size_t idx, KeyMap& out, std::vector<std::string>& ancestors) {
  if (!chain(idx, out, ancestors)) return false;
  for (const auto& d : secs_[idx].defaults) out.emplace(d.key, d);
  for (auto it = out.begin(); it != out.end();) {
    if (it->second.value.empty()) it = out.erase(it);
    else ++it;
  }
  return true;
}

// Own keys plus everything pulled in with also=, without %default. Empty values stay in
// the map (they unset a key) and are dropped by resolve().
bool Inheritance::chain(std::size_t idx, KeyMap& out, std::vector<std::string>& ancestors) {
  const auto& sec = secs_[idx];
  if (std::find(stack_.begin(), stack_.end(), idx) != stack_.end()) return false;
  stack_.push_back(idx);
  for (const auto& k : sec.keys) out.emplace(k.key, k);  // emplace: earlier wins
  bool ok = true;
  for (const auto& a : sec.also) {
    auto it = conn_index_.find(a.value);
    if (it == conn_index_.end()) {
      rep_.error(a.file, a.line, "also", "no conn named '" + a.value + "'");
      ok = false;
      continue;
    }
    if (std::find(stack_.begin(), stack_.end(), it->second) != stack_.end()) {
      std::string path;
      for (auto s : stack_) path += secs_[s].name + " -> ";
      rep_.error(a.file, a.line, "also", "also= loop: " + path + a.value);
      ok = false;
      continue;
    }
    if (std::find(ancestors.begin(), ancestors.end(), a.value) == ancestors.end())
      ancestors.push_back(a.value);
    if (!chain(it->second, out, ancestors)) ok = false;
  }
  stack_.pop_back();
  return ok;
}

}  // namespace config

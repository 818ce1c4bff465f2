// The resolution stages of parse_string (internal to config/), one file each: %default and
// also= inheritance (inherit.cpp), conns and their IKE_SA groups (conn.cpp), gre sections
// (gre.cpp) and pim sections (pim.cpp). Each types the raw sections of its kind into the
// Config, in section order, and reports what it cannot use.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "config/reader.h"
#include "config/typer.h"

namespace config {

// A conn's keys: its own > also= conns in order > %default.
class Inheritance {
 public:
  Inheritance(const std::vector<RawSection>& secs, Reporter& r);

  // The keys conn section `idx` ends up with, empty values (which unset a key) dropped;
  // `ancestors` gets every conn pulled in with also=. False when an also= names no conn or
  // makes a loop (reported at the also= line).
  bool resolve(std::size_t idx, KeyMap& out, std::vector<std::string>& ancestors);

 private:
  bool chain(std::size_t idx, KeyMap& out, std::vector<std::string>& ancestors);

  const std::vector<RawSection>& secs_;
  Reporter& rep_;
  std::map<std::string, std::size_t> conn_index_;
  std::vector<std::size_t> stack_;
};

// A typed section (ConnConfig, GreConfig, PimConfig) named and placed as written.
template <class T>
T section_model(const RawSection& s) {
  T t;
  t.name = s.name;
  t.file = s.file;
  t.line = s.line;
  return t;
}

// conn sections into cfg.conns (auto=add|start) and cfg.ignored_conns, then the IKE_SA
// groups (cfg.ike_sas, each conn's ike_sa).
void type_conns(const std::vector<RawSection>& secs, Reporter& r, Typer& ty, Config& cfg,
                const LocalAddress& is_local);
// gre sections into cfg.gres; needs the conns.
void type_gres(const std::vector<RawSection>& secs, Reporter& r, Typer& ty, Config& cfg);
// pim sections into cfg.pims; needs the gre sections.
void type_pims(const std::vector<RawSection>& secs, Reporter& r, Typer& ty, Config& cfg);

}  // namespace config

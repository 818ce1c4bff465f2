// What every parse_string result must satisfy, for the config fuzz targets (config.cpp,
// swanctl.cpp): errors or a config, never neither; a resolved config internally consistent.
#pragma once

#include "config/config.h"

namespace fuzz {

inline void check_load_result(const config::LoadResult& r) {
  if (r.ok()) {
    const auto& c = *r.config;
    for (const auto& g : c.gres)
      if (!c.find_conn(g.conn)) __builtin_trap();
    for (const auto& conn : c.conns)
      if (!c.find_ike_sa(conn.ike_sa)) __builtin_trap();
    for (const auto& p : c.pims) {
      if (!c.find_gre(p.interface)) __builtin_trap();
      for (const auto& i : p.interfaces)
        if (!c.find_gre(i)) __builtin_trap();
      if (p.interfaces.size() > 2 || (p.upstream == config::PimConfig::Upstream::both && !p.dedup)) __builtin_trap();
    }
  } else if (r.errors.empty()) {
    __builtin_trap();
  }
  for (const auto& d : r.errors) (void)d.to_string();
}

}  // namespace fuzz

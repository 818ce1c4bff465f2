#include "ike/ts_narrow.h"

#include <algorithm>

namespace ike {

TsList narrow_ts(const TsList& proposed, const TsList& configured) {
  TsList out;
  for (const auto& p : proposed) {
    for (const auto& c : configured) {
      auto i = p.intersect(c);
      if (i && std::find(out.begin(), out.end(), *i) == out.end()) out.push_back(*i);
    }
  }
  return out;
}

bool ts_within(const TsList& got, const TsList& allowed) {
  for (const auto& g : got) {
    bool inside = false;
    for (const auto& a : allowed) {
      auto i = g.intersect(a);
      if (i && *i == g) {
        inside = true;
        break;
      }
    }
    if (!inside) return false;
  }
  return !got.empty();
}

bool ts_equal(const TsList& a, const TsList& b) {
  auto x = a, y = b;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y;
}

}  // namespace ike

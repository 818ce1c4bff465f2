#include "tun/error_text.h"

#include <cstring>
#include <mutex>
#include <set>

namespace tun {

const char* intern_detail(std::string text) {
  // Node-based set: element addresses stay stable across inserts. Leaked on purpose so
  // pointers stay valid even during static destruction.
  static std::mutex* mu = new std::mutex;
  static std::set<std::string, std::less<>>* table = new std::set<std::string, std::less<>>;
  std::lock_guard<std::mutex> lock(*mu);
  auto it = table->find(text);
  if (it != table->end()) return it->c_str();
  if (table->size() >= kMaxInterned) return "(error text table full)";
  return table->insert(std::move(text)).first->c_str();
}

const char* errno_text(int err) {
  const char* s = strerrordesc_np(err);  // static table, thread safe, no allocation
  return s ? s : "unknown errno";
}

common::Error errno_error(std::string_view what, int err) {
  std::string msg(what);
  msg += ": ";
  msg += errno_text(err);
  return common::make_error(common::Errc::io, intern_detail(std::move(msg)));
}

}  // namespace tun

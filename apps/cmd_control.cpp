// `swanless status`, `up` and `down`: one request each to the running daemon's control
// socket (daemon/control.h), the reply printed. See commands.h.
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/status_view.h"
#include "common/net.h"
#include "daemon/control.h"

namespace apps {
namespace {

int print_reply(const nlohmann::json& r, std::ostream& out, std::ostream& err) {
  if (!r.value("ok", false)) {
    err << "swanless: " << r.value("error", std::string("failed")) << "\n";
    return 1;
  }
  if (r.contains("message")) out << r["message"].get<std::string>() << "\n";
  return 0;
}

}  // namespace

int run_status(const std::string& socket, bool json, std::ostream& out, std::ostream& err, const std::string& group) {
  if (!group.empty()) {
    auto a = common::IpAddr::parse(group);
    if (!a || !a->is_v4() || (a->v4_host() >> 28) != 0xe) {
      err << "swanless: --group " << group << ": not an IPv4 multicast group\n";
      return 2;
    }
  }
  auto r = swld::control_request(socket, {{"cmd", "status"}});
  if (!r.value("ok", false)) return print_reply(r, out, err);
  const nlohmann::json doc = group.empty() ? r["status"] : filter_group(r["status"], group);
  if (json) out << doc.dump(2) << "\n";
  else out << render_status(doc);
  return 0;
}

int run_status_watch(const std::string& socket, std::ostream& out) {
  watch_status([&] { return swld::control_request(socket, {{"cmd", "status"}}); }, out, {});
  return 0;
}

int run_up(const std::string& socket, const std::string& name, std::ostream& out, std::ostream& err) {
  return print_reply(swld::control_request(socket, {{"cmd", "up"}, {"name", name}}), out, err);
}

int run_down(const std::string& socket, const std::string& name, std::ostream& out, std::ostream& err) {
  return print_reply(swld::control_request(socket, {{"cmd", "down"}, {"name", name}}), out, err);
}

}  // namespace apps

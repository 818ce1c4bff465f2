// The key table (config/keys.cpp): keys that change nothing warn with their own reason,
// IKEv1 and route-based settings are refused, unknown keys are errors, aliases fold.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/config.h"
#include "config/keys.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;
using common::IpAddr;

TEST_CASE("config: kernel-only keys warn and are ignored") {
  auto r = parse(
      "config setup\n"
      "  charondebug=\"ike 2, knl 3\"\n"
      "  uniqueids=no\n" +
      std::string(kBase) +
      "    mark=42\n"
      "    installpolicy=no\n"
      "    leftupdown=/bin/true\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 5);
  // Each warning says what swanless does instead, not a generic "ignored".
  CHECK(r.warnings[0].to_string().find("test.conf:2: 'charondebug': charon/pluto logging; swanless uses log= and "
                                       "loglevel=") != std::string::npos);
  const auto mark = std::find_if(r.warnings.begin(), r.warnings.end(), [](const Diagnostic& d) { return d.key == "mark"; });
  REQUIRE(mark != r.warnings.end());
  CHECK(mark->line == 9);
  CHECK(mark->message.find("tunnels what leftsubnet/rightsubnet say") != std::string::npos);
  for (const auto& w : r.warnings) CHECK(w.message.find("not used by swanless") == std::string::npos);
}

TEST_CASE("config: IKEv1-only settings are refused where they would change what is negotiated") {
  auto conn = [](const std::string& extra) { return parse(std::string(kBase) + extra); };
  for (const char* v : {"no", "never"}) {
    auto r = conn(std::string("    ikev2=") + v + "\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors.at(0).message.find("asks for IKEv1") != std::string::npos);
  }
  CHECK(conn("    ikev2=insist\n").warnings.empty());
  CHECK(conn("    ikev2=yes\n").ok());
  auto permit = conn("    ikev2=permit\n");
  REQUIRE(permit.ok());
  CHECK(permit.warnings.at(0).message.find("IKEv2 only") != std::string::npos);
  auto aggressive = conn("    aggressive=yes\n");
  REQUIRE_FALSE(aggressive.ok());
  CHECK(aggressive.errors.at(0).message.find("aggressive mode is IKEv1") != std::string::npos);
  auto not_aggressive = conn("    aggressive=no\n");
  REQUIRE(not_aggressive.ok());
  CHECK(not_aggressive.warnings.size() == 1);
}

TEST_CASE("config: a route-based (VTI, mark, XFRM interface) conn is refused, never run over 0.0.0.0/0") {
  auto conn = [](const std::string& extra) { return parse(std::string(kBase) + extra); };
  // AWS/Azure route-based templates: mark= with 0.0.0.0/0 selectors.
  auto aws = conn("    leftsubnet=0.0.0.0/0\n    rightsubnet=0.0.0.0/0\n    mark=100\n");
  REQUIRE_FALSE(aws.ok());
  CHECK(aws.errors.at(0).key == "mark");
  CHECK(aws.errors.at(0).message.find("route-based (VTI) tunnel") != std::string::npos);
  CHECK(aws.errors.at(0).message.find("will not run it as a policy tunnel over 0.0.0.0/0") != std::string::npos);
  CHECK(aws.errors.at(0).message.find("Add vti=NAME") != std::string::npos);
  REQUIRE_FALSE(conn("    rightsubnet=0.0.0.0/0\n    if_id_in=7\n    if_id_out=7\n").ok());
  // libreswan's VTI keys are route-based whatever the selectors: a device of its own.
  auto vti = conn("    leftsubnet=10.1.0.0/16\n    rightsubnet=10.2.0.0/16\n    vti-interface=vti0\n");
  REQUIRE(vti.ok());
  CHECK(vti.config->conns.at(0).vti == "vti0");
  // A mark on an ordinary policy conn changes nothing: a warning.
  auto marked = conn("    leftsubnet=10.1.0.0/16\n    rightsubnet=10.2.0.0/16\n    mark=5\n");
  REQUIRE(marked.ok());
  CHECK(marked.warnings.size() == 1);
}

TEST_CASE("config: libreswan's pfs= agrees with esp= or is an error") {
  auto conn = [](const std::string& extra) { return parse(std::string(kBase) + extra); };
  auto contradiction = conn("    esp=aes256-sha256-modp2048\n    pfs=no\n");
  REQUIRE_FALSE(contradiction.ok());
  CHECK(contradiction.errors.at(0).message.find("pfs=no, but esp= names a DH group") != std::string::npos);
  CHECK(conn("    esp=aes256-sha256\n    pfs=no\n").warnings.empty());
  CHECK(conn("    esp=aes256-sha256-modp2048\n    pfs=yes\n").warnings.empty());
  auto no_group = conn("    esp=aes256-sha256\n    pfs=yes\n");
  REQUIRE(no_group.ok());
  CHECK(no_group.warnings.at(0).message.find("PFS only with a DH group in esp=") != std::string::npos);
  REQUIRE_FALSE(conn("    pfs=maybe\n").ok());
}

TEST_CASE("config: keys of pasted strongSwan and libreswan configs that change nothing are accepted with a warning") {
  auto r = parse("config setup\n  crlcheckinterval=600\n" + std::string(kBase) +
                 "    narrowing=no\n    remote_peer_type=cisco\n    retransmit-timeout=60s\n"
                 "    retransmit-interval=500\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  CHECK(r.warnings.size() == 5);
  for (const auto& w : r.warnings) {
    INFO(w.to_string());
    CHECK(w.message.size() > 30);  // a reason, not a bare "ignored"
  }
}

TEST_CASE("keys: the table has one row per key and section type, reasons where needed") {
  const auto table = key_table();
  REQUIRE(table.size() > 100);
  for (std::size_t i = 0; i < table.size(); ++i) {
    const KeyRow& r = table[i];
    INFO(r.name);
    CHECK(r.sections != 0);
    CHECK(canonical_key(r.name) == r.name);
    CHECK(r.reason.empty() == (r.disposition == Disposition::honoured));
    for (std::size_t j = i + 1; j < table.size(); ++j)
      CHECK_FALSE((table[j].name == r.name && (table[j].sections & r.sections) != 0));
  }
}

TEST_CASE("keys: lookups by section type, aliases") {
  REQUIRE(find_key(SectionType::conn, "leftsubnet"));
  CHECK(find_key(SectionType::conn, "leftsubnet")->disposition == Disposition::honoured);
  REQUIRE(find_key(SectionType::conn, "mark"));
  CHECK(find_key(SectionType::conn, "mark")->disposition == Disposition::honoured);  // typed: VTI check
  CHECK(find_key(SectionType::conn, "mobike")->disposition == Disposition::warned);
  CHECK(find_key(SectionType::gre, "mark") == nullptr);
  CHECK(find_key(SectionType::conn, "mtu") == nullptr);
  CHECK(find_key(SectionType::gre, "mtu"));
  CHECK(find_key(SectionType::setup, "charondebug")->disposition == Disposition::warned);
  CHECK(find_key(SectionType::pim, "rp"));
  CHECK(canonical_key("keylife") == "lifetime");
  CHECK(canonical_key("margintime") == "rekeymargin");
  CHECK(canonical_key("lifetime") == "lifetime");
  CHECK(type_name(SectionType::setup) == "config");
}

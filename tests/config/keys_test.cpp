// The key table (config/keys.cpp): kernel-only keys warn and are ignored, unknown keys are
// errors, aliases fold.
#include <catch2/catch.hpp>

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
  REQUIRE(r.warnings[0].to_string().find("test.conf:2: 'charondebug': ignored") != std::string::npos);
  REQUIRE(r.warnings[2].key == "mark");
  REQUIRE(r.warnings[2].line == 9);
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
  CHECK(find_key(SectionType::conn, "mark")->disposition == Disposition::warned);
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

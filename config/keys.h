// The key table: every ipsec.conf key (strongSwan's and libreswan's names) that swanless
// knows, one row each, with the section types it belongs to and what swanless does with it
// (honoured, warned about and ignored, or refused). The reader (reader.cpp) looks every key
// line up here: a key with no row is an "unknown key" error. What a key's value means is
// the typing stages' business (conn.cpp, gre.cpp, pim.cpp, config.cpp for `config setup`).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace config {

enum class SectionType : std::uint8_t { setup, conn, gre, pim };

// "config", "conn", "gre", "pim": the word that opens such a section.
std::string_view type_name(SectionType t);

// The section types a key belongs to, as a bit mask.
constexpr unsigned section_bit(SectionType t) { return 1u << static_cast<unsigned>(t); }
inline constexpr unsigned kInSetup = section_bit(SectionType::setup);
inline constexpr unsigned kInConn = section_bit(SectionType::conn);
inline constexpr unsigned kInGre = section_bit(SectionType::gre);
inline constexpr unsigned kInPim = section_bit(SectionType::pim);

enum class Disposition : std::uint8_t {
  honoured,  // typed and used
  warned,    // accepted with a warning (`reason`) and otherwise ignored
  refused,   // an error: `reason`, then "; use " + `alternative` when there is one
};

struct KeyRow {
  std::string_view name;
  unsigned sections = 0;  // kInSetup | kInConn | ...
  Disposition disposition = Disposition::honoured;
  std::string_view reason;       // warned, refused: the diagnostic's text
  std::string_view alternative;  // refused: what to write instead (empty: nothing to offer)
};

// Every row, in table order.
std::span<const KeyRow> key_table();
// The row of `name` (already canonical) in a section of type `t`; nullptr when swanless
// does not know the key there.
const KeyRow* find_key(SectionType t, std::string_view name);
// strongSwan aliases folded to one spelling (keylife -> lifetime), so that a duplicate is
// detected whatever the spelling; other names are returned as they are.
std::string canonical_key(std::string_view k);

}  // namespace config

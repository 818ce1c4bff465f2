// Small text helpers shared by the config stages: trimming, splitting, paths, names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace config {

// Without the spaces and tabs around it (and a trailing '\r').
std::string_view trim(std::string_view s);
// Words separated by spaces or tabs.
std::vector<std::string_view> split_ws(std::string_view s);
// Comma-separated list, items trimmed; empty items are kept so callers can reject them.
std::vector<std::string_view> split_list(std::string_view s, char sep = ',');
// The folder of `path` ("." when it has none).
std::string dir_of(std::string_view path);
// `p` against `base_dir` unless it is absolute.
std::string resolve_path(std::string_view base_dir, std::string_view p);
// A section name: 1..64 letters, digits, '-', '_', '.'.
bool valid_name(std::string_view n);

}  // namespace config

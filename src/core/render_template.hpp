// SPDX-License-Identifier: Apache-2.0
// Rendering a template of templates/ (core-internal): kainjow mustache with no HTML escaping,
// and a refusal of any value holding a control character, so that no value can start a line.
#pragma once

#include <filesystem>
#include <string>

#include <kainjow/mustache.hpp>

#include "pooljoin/error.hpp"
#include "pooljoin/text.hpp"  // printable, for messages

namespace pooljoin {

// Renders the template `name`: the built-in one when templates_dir is empty (see
// templates_dir()), else templates_dir/name. ExitCode::unavailable when that file cannot be
// read, ExitCode::internal when it is broken or a value has a control character.
Result<std::string> render_template(const std::filesystem::path& templates_dir,
                                    const std::string& name, const kainjow::mustache::data& data);

inline kainjow::mustache::data mustache_bool(bool value) {
  return value ? kainjow::mustache::data::type::bool_true
               : kainjow::mustache::data::type::bool_false;
}

}  // namespace pooljoin

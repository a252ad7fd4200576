// SPDX-License-Identifier: Apache-2.0
#include "render_template.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "pooljoin/fs.hpp"
#include "pooljoin/resources.hpp"

namespace pooljoin {

Result<std::string> render_template(const std::filesystem::path& templates_dir,
                                    const std::string& name, const kainjow::mustache::data& data) {
  // Built in, unless $POOLJOIN_TEMPLATES named a directory (templates_dir()).
  const std::string path =
      templates_dir.empty() ? "built-in " + name : (templates_dir / name).string();
  std::string text;
  if (templates_dir.empty()) {
    auto builtin = builtin_template(name);
    if (!builtin) return fail(ExitCode::internal, fmt::format("no {} template", name));
    text = *builtin;
  } else {
    auto read = read_host_file(path);
    if (!read) {
      return fail(ExitCode::unavailable, fmt::format("cannot read the template {}", path),
                  read.error().why,
                  "unset POOLJOIN_TEMPLATES to use the templates built into pooljoin");
    }
    text = std::move(*read);
  }
  kainjow::mustache::mustache tmpl(text);
  if (!tmpl.is_valid()) {
    return fail(ExitCode::internal, fmt::format("the template {} is broken", path),
                tmpl.error_message());
  }
  // Values were validated before; this refuses, as a last line of defence, any value that could
  // start a line of its own. Nothing else is escaped: these are config files, not HTML.
  std::string refused;
  tmpl.set_custom_escape([&refused](const std::string& value) {
    if (std::any_of(value.begin(), value.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
      refused = value;
      return std::string();
    }
    return value;
  });
  std::string rendered = tmpl.render(data);
  if (!refused.empty()) {
    return fail(ExitCode::internal, "refusing to render a value with a control character",
                printable(refused), "please report this: the value should have been refused first");
  }
  if (!tmpl.is_valid()) {
    return fail(ExitCode::internal, fmt::format("cannot render {}", path), tmpl.error_message());
  }
  return rendered;
}

}  // namespace pooljoin

#include "render_template.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "pooljoin/fs.hpp"

namespace pooljoin {

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> render_template(const std::filesystem::path& templates_dir,
                                    const std::string& name, const kainjow::mustache::data& data) {
  const auto path = templates_dir / name;
  auto text = read_host_file(path.string());
  if (!text) {
    return fail(ExitCode::unavailable, fmt::format("cannot read the template {}", path.string()),
                text.error().why,
                "reinstall pooljoin, or point POOLJOIN_TEMPLATES at its templates directory");
  }
  kainjow::mustache::mustache tmpl(*text);
  if (!tmpl.is_valid()) {
    return fail(ExitCode::internal, fmt::format("the template {} is broken", path.string()),
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
    return fail(ExitCode::internal, fmt::format("cannot render {}", path.string()),
                tmpl.error_message());
  }
  return rendered;
}

}  // namespace pooljoin

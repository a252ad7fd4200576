// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/resources.hpp"

#include <array>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

namespace pooljoin {
namespace embedded {
// Generated from templates/ by pooljoin_embed (src/CMakeLists.txt).
extern const std::string_view template_apache_redirect_conf;
extern const std::string_view template_chrony_conf;
extern const std::string_view template_nginx_redirect_conf;
extern const std::string_view template_ntp_conf;
extern const std::string_view template_ntpsec_conf;
}  // namespace embedded

namespace fs = std::filesystem;

Result<fs::path> templates_dir() {
  const char* env = std::getenv("POOLJOIN_TEMPLATES");
  if (!env || !*env) return fs::path();
  std::error_code ec;
  if (fs::is_directory(env, ec)) return fs::path(env);
  return fail(ExitCode::unavailable, "cannot find pooljoin's templates",
              fmt::format("tried {} (POOLJOIN_TEMPLATES)", env),
              "unset POOLJOIN_TEMPLATES to use the templates built into pooljoin");
}

std::optional<std::string_view> builtin_template(std::string_view name) {
  const std::array<std::pair<std::string_view, std::string_view>, 5> builtin{{
      {"apache-redirect.conf.mustache", embedded::template_apache_redirect_conf},
      {"chrony.conf.mustache", embedded::template_chrony_conf},
      {"nginx-redirect.conf.mustache", embedded::template_nginx_redirect_conf},
      {"ntp.conf.mustache", embedded::template_ntp_conf},
      {"ntpsec.conf.mustache", embedded::template_ntpsec_conf},
  }};
  for (const auto& [file, text] : builtin) {
    if (file == name) return text;
  }
  return std::nullopt;
}

}  // namespace pooljoin

# SPDX-License-Identifier: Apache-2.0
# Every library comes from a Debian 12 package; a missing one stops the configure step with the
# package to install (scripts/setup installs them all).
find_package(PkgConfig REQUIRED)

function(pooljoin_missing what package)
  message(FATAL_ERROR "pooljoin: ${what} not found; install the Debian package '${package}' "
                      "(or run scripts/setup, which installs every build dependency)")
endfunction()

find_package(CLI11 CONFIG QUIET)
if(NOT CLI11_FOUND)
  pooljoin_missing("CLI11" "libcli11-dev")
endif()

find_package(fmt CONFIG QUIET)
if(NOT fmt_FOUND)
  pooljoin_missing("fmt" "libfmt-dev")
endif()

find_package(nlohmann_json 3.9 CONFIG QUIET)
if(NOT nlohmann_json_FOUND)
  pooljoin_missing("nlohmann/json" "nlohmann-json3-dev")
endif()

find_package(tl-expected CONFIG QUIET)
if(NOT tl-expected_FOUND)
  pooljoin_missing("tl::expected" "libexpected-dev")
endif()

pkg_check_modules(CARES QUIET IMPORTED_TARGET libcares>=1.16)
if(NOT CARES_FOUND)
  pooljoin_missing("c-ares >= 1.16" "libc-ares-dev")
endif()

find_package(CURL QUIET)
if(NOT CURL_FOUND)
  pooljoin_missing("libcurl" "libcurl4-openssl-dev")
endif()

# NTS-KE's TLS (libcurl cannot export keys from a TLS session): the OpenSSL Debian's libcurl4
# is built on.
find_package(OpenSSL 3.0 QUIET)
if(NOT OPENSSL_FOUND)
  pooljoin_missing("OpenSSL >= 3.0" "libssl-dev")
endif()

find_path(MUSTACHE_INCLUDE_DIR kainjow/mustache.hpp)
if(NOT MUSTACHE_INCLUDE_DIR)
  pooljoin_missing("kainjow mustache" "libkainjow-mustache-dev")
endif()
add_library(pooljoin_mustache INTERFACE)
target_include_directories(pooljoin_mustache SYSTEM INTERFACE "${MUSTACHE_INCLUDE_DIR}")

if(POOLJOIN_BUILD_TESTS)
  find_package(Catch2 2 CONFIG QUIET)
  if(NOT Catch2_FOUND)
    pooljoin_missing("Catch2 v2" "catch2")
  endif()
endif()

# SPDX-License-Identifier: Apache-2.0
# Warnings for the project's own targets. -Werror only when asked (dev and CI presets), never for
# people who build a release.
add_library(pooljoin_warnings INTERFACE)
target_compile_options(pooljoin_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wdouble-promotion
  -Wformat=2 -Wimplicit-fallthrough)
if(POOLJOIN_WERROR)
  target_compile_options(pooljoin_warnings INTERFACE -Werror)
endif()

add_library(pooljoin_sanitizers INTERFACE)
if(POOLJOIN_SANITIZE)
  # GCC leaves float-cast-overflow out of "undefined" (a double beyond the integer it is cast
  # to); clang has it in. Parsers of untrusted numbers need it either way.
  target_compile_options(pooljoin_sanitizers INTERFACE
    -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  target_link_options(pooljoin_sanitizers INTERFACE -fsanitize=address,undefined,float-cast-overflow)
endif()

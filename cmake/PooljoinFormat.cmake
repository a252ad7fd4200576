# SPDX-License-Identifier: Apache-2.0
# `format` rewrites the sources with clang-format; `format-check` fails on any difference.
find_program(CLANG_FORMAT NAMES clang-format clang-format-14)
if(CLANG_FORMAT)
  file(GLOB_RECURSE POOLJOIN_FORMAT_FILES CONFIGURE_DEPENDS
       "${PROJECT_SOURCE_DIR}/src/*.cpp" "${PROJECT_SOURCE_DIR}/src/*.hpp"
       "${PROJECT_SOURCE_DIR}/include/*.hpp" "${PROJECT_SOURCE_DIR}/tests/*.cpp"
       "${PROJECT_SOURCE_DIR}/tests/*.hpp" "${PROJECT_SOURCE_DIR}/bench/*.cpp"
       "${PROJECT_SOURCE_DIR}/fuzz/*.cpp")
  add_custom_target(format COMMAND "${CLANG_FORMAT}" -i ${POOLJOIN_FORMAT_FILES}
                    COMMENT "clang-format: rewriting sources" VERBATIM)
  add_custom_target(format-check COMMAND "${CLANG_FORMAT}" --dry-run -Werror ${POOLJOIN_FORMAT_FILES}
                    COMMENT "clang-format: checking sources" VERBATIM)
endif()

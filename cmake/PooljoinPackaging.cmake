# What `cmake --install` puts where, and the packages CPack builds from it: the binary (src/),
# the templates and data (top level), and here the shell completions, the man page and the docs.

# --- Shell completions: generated from the binary, committed under completions/ -----------------
# `cmake --build --preset dev --target completions` regenerates them after a change to the
# command line; integration.completion fails until the committed files match the binary.
add_custom_target(completions
  COMMAND "${CMAKE_COMMAND}" "-DPOOLJOIN=$<TARGET_FILE:pooljoin>"
          "-DOUT=${PROJECT_SOURCE_DIR}/completions" -P "${PROJECT_SOURCE_DIR}/cmake/GenerateCompletions.cmake"
  DEPENDS pooljoin
  COMMENT "Regenerating completions/ from the pooljoin binary" VERBATIM)

set(POOLJOIN_BASH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
    CACHE STRING "Where bash-completion loads completions from (relative to the prefix)")
# Debian and Ubuntu's zsh looks in vendor-completions; Fedora's and Arch's in site-functions.
set(POOLJOIN_ZSH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions"
    CACHE STRING "A directory of zsh's fpath for packaged completions (relative to the prefix)")
set(POOLJOIN_FISH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d"
    CACHE STRING "Where fish loads packaged completions from (relative to the prefix)")
install(FILES completions/pooljoin.bash DESTINATION "${POOLJOIN_BASH_COMPLETION_DIR}" RENAME pooljoin)
install(FILES completions/_pooljoin DESTINATION "${POOLJOIN_ZSH_COMPLETION_DIR}")
install(FILES completions/pooljoin.fish DESTINATION "${POOLJOIN_FISH_COMPLETION_DIR}")

# --- The manual page: docs/pooljoin.1 with the version in its .TH line, gzipped as Debian's
# policy asks (gzip -9n: no name or time stamp, so the package is reproducible).
file(READ "${PROJECT_SOURCE_DIR}/docs/pooljoin.1" POOLJOIN_MAN_TEXT)
string(REGEX REPLACE "(\n\\.TH POOLJOIN 1 [^ ]+) \"pooljoin\"" "\\1 \"pooljoin ${PROJECT_VERSION}\""
       POOLJOIN_MAN_TEXT "${POOLJOIN_MAN_TEXT}")
if(NOT POOLJOIN_MAN_TEXT MATCHES "\"pooljoin ${PROJECT_VERSION}\"")
  message(FATAL_ERROR "docs/pooljoin.1: no `.TH POOLJOIN 1 DATE \"pooljoin\"` line to put the version in")
endif()
set(POOLJOIN_MANPAGE "${PROJECT_BINARY_DIR}/docs/pooljoin.1")
file(CONFIGURE OUTPUT "${POOLJOIN_MANPAGE}" CONTENT "${POOLJOIN_MAN_TEXT}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/pooljoin.1")
find_program(GZIP gzip)
if(GZIP)
  add_custom_command(OUTPUT "${POOLJOIN_MANPAGE}.gz"
    COMMAND "${GZIP}" -9 -n -f -k "${POOLJOIN_MANPAGE}"
    DEPENDS "${POOLJOIN_MANPAGE}"
    COMMENT "Compressing the manual page" VERBATIM)
  add_custom_target(manpage ALL DEPENDS "${POOLJOIN_MANPAGE}.gz")
  install(FILES "${POOLJOIN_MANPAGE}.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
else()
  install(FILES "${POOLJOIN_MANPAGE}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
endif()

# --- Documentation: the guide, the README and the cloud-init and Ansible examples.
install(FILES README.md docs/guide.md DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(DIRECTORY docs/examples DESTINATION "${CMAKE_INSTALL_DOCDIR}")

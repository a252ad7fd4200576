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
# Debian and Ubuntu's zsh looks in vendor-completions (its fpath has no share/zsh/site-functions);
# Fedora's, openSUSE's and Arch's in site-functions. The default follows the build machine.
set(_pooljoin_zsh_dir "${CMAKE_INSTALL_DATADIR}/zsh/site-functions")
if(EXISTS /etc/os-release)
  file(STRINGS /etc/os-release _pooljoin_os REGEX "^(ID|ID_LIKE)=")
  if(_pooljoin_os MATCHES "debian|ubuntu")
    set(_pooljoin_zsh_dir "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions")
  endif()
endif()
set(POOLJOIN_ZSH_COMPLETION_DIR "${_pooljoin_zsh_dir}"
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
install(FILES README.md docs/guide.md docs/manual.md DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(DIRECTORY docs/examples DESTINATION "${CMAKE_INSTALL_DOCDIR}")

# --- Packages: `cpack` (or the `package` target) in a build directory, the release preset's for
# a release: build/release/pooljoin_VERSION_ARCH.deb, and an .rpm where rpmbuild exists.
set(POOLJOIN_PACKAGE_CONTACT "pooljoin maintainers <maintainers@pooljoin.invalid>"
    CACHE STRING "The Maintainer (deb) and Packager (rpm) of the packages built here")
set(CPACK_PACKAGE_NAME pooljoin)
set(CPACK_PACKAGE_VENDOR pooljoin)
set(CPACK_PACKAGE_CONTACT "${POOLJOIN_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "pooljoin does what the NTP Pool's guide asks of a server that joins pool.ntp.org: it\n"
  "installs an NTP daemon, chooses 4 to 7 nearby upstream servers pinned by address, writes\n"
  "the daemon's configuration as the pool recommends, restarts it, checks the server the way\n"
  "the pool's monitors will, and says what to enter on the pool's site. Every step prints its\n"
  "plan with --dry-run. `pooljoin join` runs them all, interactively or unattended (--yes,\n"
  "--json) for cloud-init and Ansible.")
set(CPACK_PACKAGE_HOMEPAGE_URL "${PROJECT_HOMEPAGE_URL}")
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build/" "/\\\\.git/")

set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The shared libraries' packages come from dpkg-shlibdeps; the others are what pooljoin needs
# beyond them: libcurl, which it loads at its first request (dlopen, so dpkg-shlibdeps cannot see
# it; 7.85 for CURLOPT_PROTOCOLS_STR), and CA certificates for the pool's site (TLS is always
# verified).
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "dpkg-shlibdeps not found (Debian package dpkg-dev): a .deb built here lists no library dependencies")
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.85.0), ca-certificates")
# pooljoin installs the daemon itself (install-ntp); web-redirect configures one of these.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "ntpsec | chrony, nginx | apache2")

find_program(RPMBUILD rpmbuild)
if(RPMBUILD)
  list(APPEND CPACK_GENERATOR RPM)
endif()
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_LICENSE "unknown")
set(CPACK_RPM_PACKAGE_URL "${PROJECT_HOMEPAGE_URL}")
# Libraries from rpmbuild's automatic requirements; the rest as for the .deb.
set(CPACK_RPM_PACKAGE_REQUIRES "libcurl.so.4()(64bit), ca-certificates")
# Directories that other packages own (the shells', the manual's).
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/share/bash-completion /usr/share/bash-completion/completions /usr/share/zsh
    /usr/share/zsh/vendor-completions /usr/share/zsh/site-functions /usr/share/fish /usr/share/fish/vendor_completions.d
    /usr/share/man /usr/share/man/man1 /usr/share/doc)
include(CPack)

# SPDX-License-Identifier: Apache-2.0
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
# zsh's own convention for packaged completions, which Fedora's, openSUSE's and Arch's fpath
# has. Debian's and Ubuntu's zsh looks in vendor-completions instead: the .deb built here moves
# the file there (cmake/CPackPackagerLayout.cmake), and a Debian packager passes
# -DPOOLJOIN_ZSH_COMPLETION_DIR=share/zsh/vendor-completions. Never chosen from the build
# machine: the same source gives the same install on every machine.
set(POOLJOIN_ZSH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/zsh/site-functions"
    CACHE STRING "A directory of zsh's fpath for packaged completions (relative to the prefix)")
set(POOLJOIN_FISH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d"
    CACHE STRING "Where fish loads packaged completions from (relative to the prefix)")
install(FILES completions/pooljoin.bash DESTINATION "${POOLJOIN_BASH_COMPLETION_DIR}" RENAME pooljoin)
install(FILES completions/_pooljoin DESTINATION "${POOLJOIN_ZSH_COMPLETION_DIR}")
install(FILES completions/pooljoin.fish DESTINATION "${POOLJOIN_FISH_COMPLETION_DIR}")

# --- The manual page: docs/pooljoin.1 as it is (its .TH line carries the version, which
# integration.manpage checks against VERSION). Compressing it is the packager's: the .deb built
# here gzips it (cmake/CPackPackagerLayout.cmake), rpmbuild's brp-compress does the same.
set(POOLJOIN_MANPAGE "${PROJECT_SOURCE_DIR}/docs/pooljoin.1")
install(FILES "${POOLJOIN_MANPAGE}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")

# --- Documentation: the guide, the README and the cloud-init and Ansible examples.
install(FILES README.md docs/guide.md docs/manual.md DESTINATION "${CMAKE_INSTALL_DOCDIR}")
# The licence, as Debian's policy asks: a machine-readable copyright file naming Apache-2.0 (whose
# text every Debian system has in /usr/share/common-licenses); LICENSE holds the full text.
install(FILES packaging/copyright DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(DIRECTORY docs/examples DESTINATION "${CMAKE_INSTALL_DOCDIR}")

# --- Packages: `cpack` (or the `package` target) in a build directory, the release preset's for
# a release: build/release/pooljoin_VERSION_ARCH.deb, and an .rpm where rpmbuild exists.
# The Maintainer (deb) and Packager (rpm): whoever builds and publishes the packages. The
# project's name by default; a packager names themselves with DEBFULLNAME and DEBEMAIL when
# running cpack (cmake/CPackProjectConfig.cmake), or here (-DPOOLJOIN_PACKAGE_CONTACT="Name <mail>").
set(POOLJOIN_PACKAGE_CONTACT "The pooljoin developers"
    CACHE STRING "The Maintainer (deb) and Packager (rpm) of the packages built here")
set(CPACK_PACKAGE_NAME pooljoin)
set(CPACK_PACKAGE_VENDOR pooljoin)
set(CPACK_PACKAGE_CONTACT "${POOLJOIN_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
# Lines of at most 79 characters (lintian's extended-description-line-too-long).
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "pooljoin does what the NTP Pool's guide asks of a server that joins\n"
  "pool.ntp.org: it installs an NTP daemon, chooses 4 to 7 nearby upstream\n"
  "servers pinned by address, writes the daemon's configuration as the pool\n"
  "recommends, restarts it, checks the server the way the pool's monitors will,\n"
  "and says what to enter on the pool's site. Every step prints its plan with\n"
  "--dry-run. `pooljoin join` runs them all, interactively or unattended\n"
  "(--yes, --json) for cloud-init and Ansible.")
# No Homepage/URL: pooljoin has no site of its own yet, and the pool's is not pooljoin's.
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
# Gzipped man page and Debian's zsh directory for the .deb (cmake/CPackPackagerLayout.cmake).
set(CPACK_PROJECT_CONFIG_FILE "${PROJECT_SOURCE_DIR}/cmake/CPackProjectConfig.cmake")
set(CPACK_PRE_BUILD_SCRIPTS "${PROJECT_SOURCE_DIR}/cmake/CPackPackagerLayout.cmake")
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
set(CPACK_RPM_PACKAGE_LICENSE "Apache-2.0")
# Libraries from rpmbuild's automatic requirements; the rest as for the .deb.
set(CPACK_RPM_PACKAGE_REQUIRES "libcurl.so.4()(64bit), ca-certificates")
# Directories that other packages own (the shells', the manual's).
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/share/bash-completion /usr/share/bash-completion/completions /usr/share/zsh
    /usr/share/zsh/vendor-completions /usr/share/zsh/site-functions /usr/share/fish /usr/share/fish/vendor_completions.d
    /usr/share/man /usr/share/man/man1 /usr/share/doc)
include(CPack)

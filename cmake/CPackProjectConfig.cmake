# SPDX-License-Identifier: Apache-2.0
# Read by cpack before each generator (CPACK_PROJECT_CONFIG_FILE): what is only known when the
# package is made. The Maintainer (deb) and Packager (rpm) is whoever makes it: DEBFULLNAME and
# DEBEMAIL, the variables Debian's own tools (dch, debuild) take them from, when set; otherwise
# POOLJOIN_PACKAGE_CONTACT from the configure step ("The pooljoin developers", which has no
# address: lintian reports malformed-contact until a packager names themselves).
if(NOT "$ENV{DEBEMAIL}" STREQUAL "")
  set(_name "$ENV{DEBFULLNAME}")
  if(_name STREQUAL "")
    set(_name "The pooljoin developers")
  endif()
  set(CPACK_PACKAGE_CONTACT "${_name} <$ENV{DEBEMAIL}>")
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
endif()
# rpmbuild takes the Packager tag from the %packager macro (CPack has no variable for it).
set(CPACK_RPM_SPEC_MORE_DEFINE "%define packager ${CPACK_PACKAGE_CONTACT}")

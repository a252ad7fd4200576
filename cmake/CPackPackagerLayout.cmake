# SPDX-License-Identifier: Apache-2.0
# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) on its staging tree, before each package is made: what
# `cmake --install` leaves plain and upstream-shaped, made the way the target distribution wants.
# Both: the man page gzipped (Debian policy 12.1 and Fedora's packaging guidelines; gzip -9n, no
# name or time stamp, so the package stays reproducible; CPack's spec file runs no brp-compress).
# .deb only: the zsh completion in vendor-completions, the directory Debian's zsh has in its
# fpath (Fedora's zsh reads site-functions, where it is installed).
set(_stage "${CPACK_TEMPORARY_DIRECTORY}")
file(GLOB_RECURSE _pages "${_stage}/*/share/man/man[1-9]/*.[1-9]")
foreach(_page IN LISTS _pages)
  execute_process(COMMAND gzip -9 -n -f "${_page}" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "gzip ${_page} failed (${_rc})")
  endif()
endforeach()
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()
# A native package's changelog (Debian policy 12.7): this version's entry, dated from
# SOURCE_DATE_EPOCH when set (string(TIMESTAMP) reads it), so that two builds agree.
string(TIMESTAMP _date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(GLOB _docdirs "${_stage}/*/share/doc/${CPACK_PACKAGE_NAME}")
foreach(_doc IN LISTS _docdirs)
  file(WRITE "${_doc}/changelog"
    "${CPACK_PACKAGE_NAME} (${CPACK_PACKAGE_VERSION}) unstable; urgency=medium\n\n"
    "  * pooljoin ${CPACK_PACKAGE_VERSION}, built with CPack from the pooljoin source tree.\n\n"
    " -- ${CPACK_PACKAGE_CONTACT}  ${_date}\n")
  execute_process(COMMAND gzip -9 -n -f "${_doc}/changelog" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "gzip ${_doc}/changelog failed (${_rc})")
  endif()
endforeach()
file(GLOB_RECURSE _zsh "${_stage}/*/share/zsh/site-functions/*")
foreach(_file IN LISTS _zsh)
  get_filename_component(_name "${_file}" NAME)
  string(REGEX REPLACE "/site-functions/[^/]+$" "/vendor-completions" _to "${_file}")
  file(MAKE_DIRECTORY "${_to}")
  file(RENAME "${_file}" "${_to}/${_name}")
endforeach()
file(GLOB _left LIST_DIRECTORIES true "${_stage}/*/share/zsh/site-functions")
foreach(_dir IN LISTS _left)
  file(GLOB _inside "${_dir}/*")
  if(_inside STREQUAL "")
    file(REMOVE_RECURSE "${_dir}")  # empty now: no files, so nothing else goes with it
  endif()
endforeach()

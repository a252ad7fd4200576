# SPDX-License-Identifier: Apache-2.0
# pooljoin_embed(<target> <name> <file>): compiles <file>'s content into <target> as
# pooljoin::embedded::<name> (a std::string_view); a change to the file reconfigures.
function(pooljoin_embed target name file)
  file(READ "${file}" EMBED_CONTENT)
  if(EMBED_CONTENT MATCHES "\\)pooljoin_embed\"")
    message(FATAL_ERROR "${file} holds the raw-string delimiter )pooljoin_embed\" and cannot be embedded")
  endif()
  set(EMBED_NAME "${name}")
  file(RELATIVE_PATH EMBED_SOURCE "${PROJECT_SOURCE_DIR}" "${file}")
  set(out "${CMAKE_CURRENT_BINARY_DIR}/embedded_${name}.cpp")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/embed.cpp.in" "${out}" @ONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${file}")
  target_sources(${target} PRIVATE "${out}")
endfunction()

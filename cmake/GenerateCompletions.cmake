# SPDX-License-Identifier: Apache-2.0
# Writes completions/ from the built binary: cmake -DPOOLJOIN=BIN -DOUT=DIR -P GenerateCompletions.cmake.
# Run through the `completions` target; the completion test fails until the committed files match.
foreach(var POOLJOIN OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "GenerateCompletions.cmake needs -D${var}=...")
  endif()
endforeach()
# The output must not depend on the caller's environment.
unset(ENV{POOLJOIN_JSON})
unset(ENV{POOLJOIN_QUIET})
foreach(pair "bash;pooljoin.bash" "zsh;_pooljoin" "fish;pooljoin.fish")
  list(GET pair 0 shell)
  list(GET pair 1 file)
  execute_process(COMMAND "${POOLJOIN}" completion ${shell} OUTPUT_FILE "${OUT}/${file}.tmp"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE "${OUT}/${file}.tmp")
    message(FATAL_ERROR "`${POOLJOIN} completion ${shell}` failed (${rc})")
  endif()
  file(RENAME "${OUT}/${file}.tmp" "${OUT}/${file}")
  message(STATUS "completions/${file}")
endforeach()

// SPDX-License-Identifier: Apache-2.0
// SIGINT/SIGTERM handling: the handler only sets a flag and wakes a pipe; long waits poll it,
// stop cleanly, and main turns it into exit code 130. Nothing is ever left half-written by an
// interruption.
#pragma once

#include <cstddef>
#include <string>

#include "pooljoin/error.hpp"

namespace pooljoin {

// Installs the handlers for SIGINT and SIGTERM (without SA_RESTART, so blocking calls wake up).
void install_interrupt_handlers();

// Whether SIGINT or SIGTERM has arrived since the handlers were installed.
bool interrupted();

// A descriptor that becomes readable when SIGINT or SIGTERM arrives (poll it beside the others
// a wait is for); -1 before the handlers are installed.
int interrupt_fd();

// The error of an interrupted `where` (ExitCode::interrupted).
tl::unexpected<Error> interruption(const char* where);

// Reads descriptor `fd` (standard input, a pipe) to its end, waiting as long as it takes, or
// until SIGINT/SIGTERM: then interruption(what), never the part read so far. More than `limit`
// bytes is ExitCode::usage; an unreadable descriptor ExitCode::unavailable.
Result<std::string> read_until_end(int fd, std::size_t limit, const char* what);

// Throws Fatal(ExitCode::interrupted) when interrupted(); `where` says what was stopped.
void throw_if_interrupted(const char* where);

}  // namespace pooljoin

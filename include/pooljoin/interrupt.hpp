// SIGINT/SIGTERM handling: the handler only sets a flag and wakes a pipe; long waits poll it,
// stop cleanly, and main turns it into exit code 130. Nothing is ever left half-written by an
// interruption.
#pragma once

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

// Throws Fatal(ExitCode::interrupted) when interrupted(); `where` says what was stopped.
void throw_if_interrupted(const char* where);

}  // namespace pooljoin

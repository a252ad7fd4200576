// SIGINT/SIGTERM handling: the handler only sets a flag; long waits poll it, stop cleanly, and
// main turns it into exit code 130. Nothing is ever left half-written by an interruption.
#pragma once

namespace pooljoin {

// Installs the handlers for SIGINT and SIGTERM (without SA_RESTART, so blocking calls wake up).
void install_interrupt_handlers();

// Whether SIGINT or SIGTERM has arrived since the handlers were installed.
bool interrupted();

// Throws Fatal(ExitCode::interrupted) when interrupted(); `where` says what was stopped.
void throw_if_interrupted(const char* where);

}  // namespace pooljoin

#include "pooljoin/interrupt.hpp"

#include <atomic>
#include <string>

#include <signal.h>

#include "pooljoin/error.hpp"

namespace pooljoin {
namespace {

// The only process-wide state in pooljoin: a signal handler can reach nothing else.
volatile sig_atomic_t g_interrupted = 0;

extern "C" void on_signal(int) {
  g_interrupted = 1;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() {
  return g_interrupted != 0;
}

void throw_if_interrupted(const char* where) {
  if (interrupted()) {
    throw Fatal(ExitCode::interrupted, std::string("interrupted during ") + where, {},
                "nothing was left half-written; run the same command again to resume");
  }
}

}  // namespace pooljoin

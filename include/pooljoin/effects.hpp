// SPDX-License-Identifier: Apache-2.0
// The seams through which the steps touch the world, bundled: processes, the filesystem under
// --root, the clock, DNS, NTP and HTTP. Plans are computed from facts; only an apply_X (and the
// fact gatherers, which only read) gets Effects. SystemEffects is the real set; the unit tests
// build theirs from fakes.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "pooljoin/clock.hpp"
#include "pooljoin/dns.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/http.hpp"
#include "pooljoin/ntp_probe.hpp"
#include "pooljoin/process.hpp"

namespace pooljoin {

struct Effects {
  ProcessRunner& runner;
  const RootedFs& fs;
  Clock& clock;
  DnsLookup& dns;
  NtpTransport& ntp;
  HttpClient& http;
};

// What a step tells whoever runs it while it works. Every member may be left empty.
struct StepEvents {
  std::function<void(const Command&)> command;      // a command is about to run
  std::function<void(const std::string&)> waiting;  // a wait begins (what for); "" when it ends
  std::function<void(const std::string&)> note;     // what the step does now, for the operator
  std::function<void(const std::string&)> detail;   // more of it, for -v

  void on_command(const Command& c) const {
    if (command) command(c);
  }
  void on_waiting(const std::string& what) const {
    if (waiting) waiting(what);
  }
  void on_note(const std::string& text) const {
    if (note) note(text);
  }
  void on_detail(const std::string& text) const {
    if (detail) detail(text);
  }
};

// The real seams: posix_spawn, the filesystem under `root`, the system clock, c-ares, UDP
// sockets and libcurl (loaded at its first request).
class SystemEffects {
 public:
  SystemEffects(std::filesystem::path root, HttpOptions http, WritePolicy policy = {});
  Effects& effects() { return effects_; }

 private:
  SpawnRunner runner_;
  RootedFs fs_;
  SystemClock clock_;
  CaresDns dns_;
  UdpNtp ntp_;
  CurlHttpClient http_;
  Effects effects_;
};

}  // namespace pooljoin

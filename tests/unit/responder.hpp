// SPDX-License-Identifier: Apache-2.0
// Runs tests/tools/ntp_responder for a test: started with the given --serve specs, stopped
// (SIGTERM, then waited for) when the test ends.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pooljoin/ntp_probe.hpp"

extern char** environ;

namespace pooljoin::test {

class Responder {
 public:
  // `log`: when not empty, the responder appends one line per request received to that file.
  explicit Responder(const std::vector<std::string>& specs, const std::string& log = "") {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    std::vector<std::string> args = {POOLJOIN_NTP_RESPONDER};
    if (!log.empty()) {
      args.push_back("--log");
      args.push_back(log);
    }
    for (const auto& spec : specs) {
      args.push_back("--serve");
      args.push_back(spec);
    }
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("cannot start " + args[0]);
    }
    // The ready line, within 5 s.
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (line.find('\n') == std::string::npos) {
      pollfd p{out[0], POLLIN, 0};
      if (std::chrono::steady_clock::now() > deadline || ::poll(&p, 1, 100) < 0) break;
      char buffer[4096];
      if (p.revents == 0) continue;
      ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;
      line.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    if (line.rfind("ready ", 0) != 0) {
      stop();
      throw std::runtime_error("ntp_responder did not get ready: " + line);
    }
    line = line.substr(6, line.find('\n') - 6);
    std::size_t start = 0;
    while (start < line.size()) {
      auto space = line.find(' ', start);
      endpoints_.push_back(line.substr(start, space - start));
      if (space == std::string::npos) break;
      start = space + 1;
    }
  }
  ~Responder() { stop(); }
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  // The bound endpoints, in the order of the specs: "127.0.0.1:40123", "[::1]:40124".
  const std::vector<std::string>& endpoints() const { return endpoints_; }

  ProbeTarget target(std::size_t i) const {
    const std::string& e = endpoints_.at(i);
    auto colon = e.rfind(':');
    std::string host = e.substr(0, colon);
    if (host.front() == '[') host = host.substr(1, host.size() - 2);
    return {*IpAddress::parse(host), static_cast<std::uint16_t>(std::stoi(e.substr(colon + 1))), e};
  }

  std::vector<ProbeTarget> targets() const {
    std::vector<ProbeTarget> all;
    for (std::size_t i = 0; i < endpoints_.size(); ++i)
      all.push_back(target(i));
    return all;
  }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  std::vector<std::string> endpoints_;
};

}  // namespace pooljoin::test

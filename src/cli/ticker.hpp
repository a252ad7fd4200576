// SPDX-License-Identifier: Apache-2.0
// A status line for a wait of unknown length ("measuring 30 addresses over NTP  4 s"), redrawn
// by a thread of its own while the calling thread blocks in DNS, probes or a child process.
// Only on a terminal and without -q; the caller prints nothing while a line is shown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "context.hpp"

namespace pooljoin::cli {

class Ticker {
 public:
  explicit Ticker(const Console& console) : console_(console) {}
  Ticker(const Console& console, std::string what) : console_(console) { start(std::move(what)); }
  ~Ticker() { stop(); }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  // Shows `what` and the seconds since, until stop() (or the next start()).
  void start(std::string what);
  // Clears the line; the caller may print again.
  void stop();

 private:
  // How often the seconds are redrawn: often enough to look alive, rarely enough to cost nothing.
  static constexpr std::chrono::milliseconds kRedraw{250};

  const Console& console_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace pooljoin::cli

// SPDX-License-Identifier: Apache-2.0
#include "ticker.hpp"

#include <fmt/format.h>

namespace pooljoin::cli {

void Ticker::start(std::string what) {
  stop();
  if (!console_.shows_progress()) return;
  stopping_ = false;
  thread_ = std::thread([this, what = std::move(what)] {
    const auto begin = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    // Nothing for the first second: a short wait needs no line.
    if (wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) return;
    do {
      auto seconds =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - begin)
              .count();
      console_.progress(fmt::format("{}  {} s", what, seconds));
    } while (!wake_.wait_for(lock, kRedraw, [this] { return stopping_; }));
    console_.end_progress();
  });
}

void Ticker::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

}  // namespace pooljoin::cli

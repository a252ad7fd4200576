// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/ntp_probe.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "pooljoin/interrupt.hpp"
#include "pooljoin/unique_fd.hpp"

namespace pooljoin {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Big enough for a mode 6 fragment or a mode 7 item list; an NTP reply needs only 48 bytes and
// a longer datagram is read truncated (MSG_TRUNC), which is harmless for the header.
constexpr std::size_t kReceiveBuffer = 2048;
// Sockets beyond the usual per-target ones: epoll, stdio, the caller's own.
constexpr rlim_t kSpareDescriptors = 64;

// 64 unpredictable bits (getrandom), never 0: a transmit timestamp of 0 is invalid.
NtpTimestamp random_cookie() {
  NtpTimestamp value = 0;
  while (value == 0) {
    if (::getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) {
      std::random_device device;  // getrandom missing (old kernel): the library's own source
      value = static_cast<NtpTimestamp>(device()) << 32 | device();
    }
  }
  return value;
}

struct Opened {
  UniqueFd fd;
  std::string error;
};

Opened open_connected(const ProbeTarget& target) {
  sockaddr_storage address{};
  auto length = static_cast<socklen_t>(target.address.to_sockaddr(target.port, &address));
  int fd = ::socket(address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {UniqueFd(), errno_text(errno)};
  UniqueFd owned(fd);
  int on = 1;
  // Kernel receive timestamps: T4 stays exact however many replies wait in the loop.
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    return {UniqueFd(), errno_text(errno)};
  }
  return {std::move(owned), {}};
}

struct Datagram {
  std::vector<std::uint8_t> bytes;
  NtpTimestamp arrival = 0;
};

enum class Received { datagram, nothing, refused, error };

Received receive(int fd, Datagram& out, int& error) {
  std::uint8_t buffer[kReceiveBuffer];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) * 2];
  iovec iov{buffer, sizeof buffer};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &message, MSG_DONTWAIT);
  if (n < 0) {
    error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) return Received::nothing;
    return error == ECONNREFUSED ? Received::refused : Received::error;
  }
  out.arrival = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      out.arrival = to_ntp(stamp);
    }
  }
  if (out.arrival == 0) out.arrival = ntp_now();
  auto size = std::min(static_cast<std::size_t>(n), sizeof buffer);
  out.bytes.assign(buffer, buffer + size);
  return Received::datagram;
}

// One thing the loop drives: a socket, a deadline, and what to do when either fires.
class Session {
 public:
  virtual ~Session() = default;
  virtual bool done() const = 0;
  // When on_timer must run next; SteadyClock::time_point::max() to wait only for the socket.
  virtual SteadyClock::time_point deadline() const = 0;
  virtual void on_timer(SteadyClock::time_point now) = 0;
  virtual void on_readable(SteadyClock::time_point now) = 0;
  int fd() const { return fd_.get(); }

 protected:
  UniqueFd fd_;
};

class NtpSession final : public Session {
 public:
  NtpSession(ProbeTarget target, const ProbeOptions& options, SteadyClock::time_point start)
      : options_(options), next_(start) {
    report_.target = std::move(target);
    Opened opened = open_connected(report_.target);
    if (!opened.fd) {
      for (int i = 0; i < options_.samples; ++i) {
        NtpSample sample;
        sample.fault = NtpFault::network_error;
        sample.detail = opened.error;
        report_.samples.push_back(sample);
      }
      state_ = State::done;
      return;
    }
    fd_ = std::move(opened.fd);
    if (options_.samples <= 0) state_ = State::done;
  }

  bool done() const override { return state_ == State::done; }
  SteadyClock::time_point deadline() const override { return next_; }

  void on_timer(SteadyClock::time_point now) override {
    if (state_ == State::waiting) {
      NtpSample timed_out;
      timed_out.fault = NtpFault::no_reply;
      finish_sample(std::move(timed_out), now);
    } else if (state_ == State::idle) {
      send(now);
    }
  }

  void on_readable(SteadyClock::time_point now) override {
    Datagram datagram;
    int error = 0;
    for (int budget = 0; budget < 64 && state_ != State::done; ++budget) {
      Received got = receive(fd(), datagram, error);
      if (got == Received::nothing) return;
      if (got == Received::refused || got == Received::error) {
        if (state_ != State::waiting) continue;  // an ICMP error about an earlier sample
        NtpSample failed;
        failed.fault = got == Received::refused ? NtpFault::refused : NtpFault::network_error;
        failed.detail = errno_text(error);
        finish_sample(std::move(failed), now);
        continue;
      }
      handle(datagram, now);
    }
  }

  ProbeReport take_report() {
    summarise();
    return std::move(report_);
  }

 private:
  enum class State { idle, waiting, done };

  void send(SteadyClock::time_point now) {
    cookie_ = random_cookie();
    auto request = client_request(cookie_);
    t1_ = ntp_now();
    ssize_t sent = ::send(fd(), request.data(), request.size(), 0);
    if (sent != static_cast<ssize_t>(request.size())) {
      NtpSample failed;
      int error = sent < 0 ? errno : EMSGSIZE;
      failed.fault = error == ECONNREFUSED ? NtpFault::refused : NtpFault::network_error;
      failed.detail = errno_text(error);
      finish_sample(std::move(failed), now);
      return;
    }
    state_ = State::waiting;
    next_ = now + options_.timeout;
  }

  void handle(const Datagram& datagram, SteadyClock::time_point now) {
    if (state_ != State::waiting) {
      note_stray(datagram);
      return;
    }
    NtpSample sample = evaluate_reply(datagram.bytes, cookie_, t1_, datagram.arrival);
    // A reply to an earlier query of ours, come after its timeout: the monitor asks each query
    // from a socket of its own and would never read it. Anything else that comes first decides
    // the sample, as the first datagram does for the monitor (a spoofed or stale one: invalid).
    if (sample.fault == NtpFault::wrong_origin && is_earlier_cookie(datagram)) {
      ++report_.late_replies;
      return;
    }
    finish_sample(std::move(sample), now);
  }

  void note_stray(const Datagram& datagram) {
    if (is_earlier_cookie(datagram))
      ++report_.late_replies;
    else
      ++report_.ignored_replies;
  }

  bool is_earlier_cookie(const Datagram& datagram) const {
    auto header = decode_ntp(datagram.bytes);
    return header && std::find(sent_.begin(), sent_.end(), header->origin) != sent_.end();
  }

  void finish_sample(NtpSample sample, SteadyClock::time_point now) {
    if (cookie_ != 0) sent_.push_back(cookie_);
    cookie_ = 0;
    bool last = ends_monitor_check(sample) ||
                (options_.give_up_if_first_silent && report_.samples.empty() &&
                 sample.fault == NtpFault::no_reply);
    report_.samples.push_back(std::move(sample));
    if (last || static_cast<int>(report_.samples.size()) >= options_.samples) {
      state_ = State::done;
      next_ = SteadyClock::time_point::max();
      return;
    }
    state_ = State::idle;
    next_ = now + options_.interval;
  }

  // The monitor's choice: a reply that ended the check decides it; else the valid sample with
  // the lowest round trip; else (every query failed: no response) the most telling fault.
  void summarise() {
    const NtpSample* best = nullptr;
    for (const auto& sample : report_.samples) {
      if (!sample.valid()) continue;
      ++report_.valid;
      if (!best || sample.delay_s < best->delay_s) best = &sample;
    }
    if (best) {
      double sum = 0;
      for (const auto& sample : report_.samples) {
        if (sample.valid()) sum += std::pow(sample.offset_s - best->offset_s, 2);
      }
      if (report_.valid > 1) report_.jitter_s = std::sqrt(sum / (report_.valid - 1));
    }
    if (!report_.samples.empty() && ends_monitor_check(report_.samples.back())) {
      best = &report_.samples.back();
    } else if (!best) {
      for (const auto& sample : report_.samples) {
        if (!best || worse(sample.fault, best->fault)) best = &sample;
      }
    }
    if (best) {
      report_.best = *best;
      report_.decided_by = static_cast<int>(best - report_.samples.data());
    }
  }

  ProbeOptions options_;
  ProbeReport report_;
  State state_ = State::idle;
  SteadyClock::time_point next_;
  NtpTimestamp cookie_ = 0;  // the transmit timestamp of the sample in flight
  NtpTimestamp t1_ = 0;      // when it left, local clock
  std::vector<NtpTimestamp> sent_;
};

class QuerySession final : public Session {
 public:
  QuerySession(const QueryRequest& request, SteadyClock::time_point start)
      : request_(request), next_(start) {
    Opened opened = open_connected(request_.target);
    if (!opened.fd) {
      result_.error = opened.error;
      done_ = true;
      return;
    }
    fd_ = std::move(opened.fd);
  }

  bool done() const override { return done_; }
  SteadyClock::time_point deadline() const override { return next_; }

  void on_timer(SteadyClock::time_point now) override {
    if (sent_) {
      done_ = true;  // timed out
      return;
    }
    sent_ = true;
    ssize_t n = ::send(fd(), request_.payload.data(), request_.payload.size(), 0);
    if (n != static_cast<ssize_t>(request_.payload.size())) {
      int error = n < 0 ? errno : EMSGSIZE;
      if (error == ECONNREFUSED)
        result_.refused = true;
      else
        result_.error = errno_text(error);
      done_ = true;
      return;
    }
    next_ = now + request_.timeout;
  }

  void on_readable(SteadyClock::time_point) override {
    Datagram datagram;
    int error = 0;
    for (int budget = 0; budget < 64 && !done_; ++budget) {
      Received got = receive(fd(), datagram, error);
      if (got == Received::nothing) return;
      if (got == Received::refused) {
        result_.refused = true;
        done_ = true;
        return;
      }
      if (got == Received::error) {
        result_.error = errno_text(error);
        done_ = true;
        return;
      }
      result_.replies.push_back(std::move(datagram.bytes));
      bool whole = request_.complete ? request_.complete(result_.replies) : true;
      if (whole) {
        result_.complete = true;
        done_ = true;
      }
    }
  }

  QueryResult take_result() { return std::move(result_); }

 private:
  const QueryRequest& request_;
  QueryResult result_;
  SteadyClock::time_point next_;
  bool sent_ = false;
  bool done_ = false;
};

// One descriptor per target: raise the soft limit toward the hard one when a batch needs more.
void ensure_descriptors(std::size_t needed) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t want = static_cast<rlim_t>(needed) + kSpareDescriptors;
  if (limit.rlim_cur >= want) return;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? want : std::min(want, limit.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

std::string ProbeTarget::endpoint() const {
  return address.is_v4() ? fmt::format("{}:{}", address.to_string(), port)
                         : fmt::format("[{}]:{}", address.to_string(), port);
}

bool ProbeReport::reachable() const {
  return std::any_of(samples.begin(), samples.end(),
                     [](const NtpSample& sample) { return sample.replied(); }) ||
         late_replies > 0;
}

Result<ProbeBatch> run_probes(const std::vector<ProbeTarget>& targets, const ProbeOptions& options,
                              const std::vector<QueryRequest>& queries) {
  ensure_descriptors(targets.size() + queries.size());
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) {
    return fail(ExitCode::unavailable, "cannot probe NTP servers", errno_text(errno),
                "check the process's limits (ulimit -n)");
  }

  SteadyClock::time_point start = SteadyClock::now();
  std::vector<std::unique_ptr<NtpSession>> probes;
  std::vector<std::unique_ptr<QuerySession>> asks;
  std::vector<Session*> sessions;
  for (const auto& target : targets) {
    probes.push_back(std::make_unique<NtpSession>(target, options, start));
    sessions.push_back(probes.back().get());
  }
  for (const auto& request : queries) {
    asks.push_back(std::make_unique<QuerySession>(request, start));
    sessions.push_back(asks.back().get());
  }
  std::vector<bool> watched(sessions.size(), false);
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    if (sessions[i]->done()) continue;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, sessions[i]->fd(), &event) != 0) {
      return fail(ExitCode::unavailable, "cannot probe NTP servers", errno_text(errno));
    }
    watched[i] = true;
  }
  // A finished session's socket leaves the loop at once: more datagrams may still arrive on it
  // and would otherwise keep epoll_wait returning.
  auto retire_if_done = [&](std::size_t i) {
    if (watched[i] && sessions[i]->done()) {
      ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, sessions[i]->fd(), nullptr);
      watched[i] = false;
    }
  };

  std::vector<epoll_event> events(std::min<std::size_t>(256, sessions.size() + 1));
  while (true) {
    if (interrupted()) {
      return fail(ExitCode::interrupted, "interrupted while probing NTP servers", {},
                  "nothing was changed");
    }
    SteadyClock::time_point now = SteadyClock::now();
    SteadyClock::time_point next = SteadyClock::time_point::max();
    bool pending = false;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      Session* session = sessions[i];
      if (session->done()) continue;
      if (session->deadline() <= now) session->on_timer(now);
      retire_if_done(i);
      if (session->done()) continue;
      pending = true;
      next = std::min(next, session->deadline());
    }
    if (!pending) break;
    int timeout_ms = -1;
    if (next != SteadyClock::time_point::max()) {
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - SteadyClock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(wait, 0, 60000));
    }
    int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ExitCode::unavailable, "cannot probe NTP servers", errno_text(errno));
    }
    now = SteadyClock::now();
    for (int e = 0; e < n; ++e) {
      auto i = static_cast<std::size_t>(events[static_cast<std::size_t>(e)].data.u64);
      if (!sessions[i]->done()) sessions[i]->on_readable(now);
      retire_if_done(i);
    }
  }

  ProbeBatch batch;
  for (auto& session : probes)
    batch.probes.push_back(session->take_report());
  for (auto& session : asks)
    batch.queries.push_back(session->take_result());
  return batch;
}

Result<ProbeBatch> UdpNtp::exchange(const std::vector<ProbeTarget>& targets,
                                    const ProbeOptions& options,
                                    const std::vector<QueryRequest>& queries) {
  return run_probes(targets, options, queries);
}

Result<std::vector<ProbeReport>> NtpTransport::probe(const std::vector<ProbeTarget>& targets,
                                                     const ProbeOptions& options) {
  auto batch = exchange(targets, options);
  if (!batch) return tl::unexpected(std::move(batch.error()));
  return std::move(batch->probes);
}

Result<std::vector<QueryResult>> NtpTransport::query(const std::vector<QueryRequest>& requests) {
  auto batch = exchange({}, {}, requests);
  if (!batch) return tl::unexpected(std::move(batch.error()));
  return std::move(batch->queries);
}

}  // namespace pooljoin

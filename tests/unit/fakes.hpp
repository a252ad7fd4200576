// SPDX-License-Identifier: Apache-2.0
// Fakes of the effects seams, for unit tests of plans and outcomes: a runner that records and
// answers from a script, a clock whose sleeps take no time, and NTP, DNS and HTTP peers that
// answer from tables. Each keeps a log of what it was asked, so tests can count.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pooljoin/effects.hpp"

namespace pooljoin::test {

// Runs nothing. Each command gets `answer(command)`, by default a success with no output.
class FakeRunner final : public ProcessRunner {
 public:
  std::function<ProcessResult(const Command&)> answer;

  Result<ProcessResult> run(const Command& command, const RunOptions&) override {
    ran_.push_back(command);
    return answer ? answer(command) : ProcessResult{};
  }
  const std::vector<Command>& recorded() const { return ran_; }

 private:
  std::vector<Command> ran_;
};

// Starts at 2026-11-26T03:22:43Z; sleeping moves both clocks on at once.
class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point wall =
      std::chrono::system_clock::time_point(std::chrono::seconds(1795663363));
  std::chrono::steady_clock::time_point mono{};
  std::chrono::milliseconds slept{0};
  int sleeps = 0;

  std::chrono::system_clock::time_point now() const override { return wall; }
  std::chrono::steady_clock::time_point steady() const override { return mono; }
  Result<void> sleep_for(std::chrono::milliseconds duration, const char*) override {
    advance(duration);
    slept += duration;
    ++sleeps;
    return {};
  }
  void advance(std::chrono::milliseconds duration) {
    wall += duration;
    mono += duration;
  }
};

// Answers each exchange with `answer`; by default every target is silent (its timeouts pass on
// the clock, when one is given) and every query unanswered.
class FakeNtp final : public NtpTransport {
 public:
  std::function<Result<ProbeBatch>(const std::vector<ProbeTarget>&, const ProbeOptions&,
                                   const std::vector<QueryRequest>&)>
      answer;
  FakeClock* clock = nullptr;  // when set, a silent probe costs its timeouts there
  int exchanges = 0;
  std::vector<ProbeTarget> probed;

  Result<ProbeBatch> exchange(const std::vector<ProbeTarget>& targets, const ProbeOptions& options,
                              const std::vector<QueryRequest>& queries) override {
    ++exchanges;
    probed.insert(probed.end(), targets.begin(), targets.end());
    if (answer) return answer(targets, options, queries);
    ProbeBatch batch;
    for (const auto& target : targets) {
      ProbeReport report;
      report.target = target;
      for (int i = 0; i < options.samples; ++i) {
        NtpSample sample;
        sample.fault = NtpFault::no_reply;
        report.samples.push_back(sample);
      }
      report.best = report.samples.empty() ? NtpSample{} : report.samples.front();
      batch.probes.push_back(report);
    }
    batch.queries.resize(queries.size());
    if (clock && !targets.empty()) clock->advance(options.timeout * options.samples);
    return batch;
  }
};

// Answers from `table` (by name); names not in it time out.
class FakeDns final : public DnsLookup {
 public:
  std::map<std::string, NameAnswer> table;
  int lookups = 0;

  Result<DnsLookupResult> lookup(const DnsOptions&,
                                 const std::vector<std::string>& names) override {
    ++lookups;
    DnsLookupResult result;
    result.servers = {"192.0.2.53:53"};
    for (const auto& name : names) {
      auto it = table.find(name);
      if (it != table.end()) {
        result.answers.push_back(it->second);
        result.answers.back().name = name;
        continue;
      }
      NameAnswer silent;
      silent.name = name;
      silent.a.status = silent.aaaa.status = DnsStatus::timeout;
      result.answers.push_back(silent);
    }
    return result;
  }
};

// Answers GETs from `table` (by URL); other URLs get 404.
class FakeHttp final : public HttpClient {
 public:
  std::map<std::string, HttpResponse> table;
  std::vector<HttpRequest> requests;

  Result<HttpResponse> get(const HttpRequest& request) override {
    requests.push_back(request);
    auto it = table.find(request.url);
    if (it != table.end()) return it->second;
    HttpResponse missing;
    missing.status = 404;
    missing.effective_url = request.url;
    return missing;
  }
};

// A whole set of fakes over the files under `root`.
class FakeEffects {
 public:
  explicit FakeEffects(std::filesystem::path root = "/") : fs_(std::move(root)) {
    ntp.clock = &clock;
  }
  FakeEffects(const FakeEffects&) = delete;
  FakeEffects& operator=(const FakeEffects&) = delete;

  FakeRunner runner;
  FakeClock clock;
  FakeDns dns;
  FakeNtp ntp;
  FakeHttp http;

  const RootedFs& fs() const { return fs_; }
  Effects& effects() { return effects_; }

 private:
  RootedFs fs_;
  Effects effects_{runner, fs_, clock, dns, ntp, http};
};

}  // namespace pooljoin::test

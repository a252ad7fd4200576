// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "pooljoin/unique_fd.hpp"
#include "pooljoin/version.hpp"

using namespace pooljoin;
using namespace std::chrono_literals;

TEST_CASE("URLs are validated strictly: http and https only", "[http][url]") {
  struct Row {
    const char* text;
    const char* canonical;  // nullptr: refused
  };
  const Row rows[] = {
      {"https://www.ntppool.org", "https://www.ntppool.org"},
      {"HTTPS://WWW.NTPPOOL.ORG/", "https://www.ntppool.org/"},
      {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
      {"http://[::1]:8080/base", "http://[::1]:8080/base"},
      {"http://[2001:DB8::1]/", "http://[2001:db8::1]/"},
      {"https://mirror.example.org/pool/api", "https://mirror.example.org/pool/api"},
      {"https://manage.ntppool.org/verify?token=a%2Fb&x=1",
       "https://manage.ntppool.org/verify?token=a%2Fb&x=1"},
      {"http://localhost:1/", "http://localhost:1/"},
      {"ftp://www.ntppool.org", nullptr},
      {"file:///etc/passwd", nullptr},
      {"www.ntppool.org", nullptr},
      {"https://", nullptr},
      {"https://:443/", nullptr},
      {"https://user:secret@www.ntppool.org/", nullptr},
      {"https://www.ntppool.org/#top", nullptr},
      {"https://www.ntppool.org:0/", nullptr},
      {"https://www.ntppool.org:65536/", nullptr},
      {"https://www.ntppool.org:443x/", nullptr},
      {"https://www.ntppool.org:/", nullptr},
      {"https://www.ntp pool.org/", nullptr},
      {"https://www.ntppool.org/a b", nullptr},
      {"https://www.ntppool.org/\n", nullptr},
      {"https://www.ntppool.org/%zz", nullptr},
      {"https://www.ntppool.org/%2", nullptr},
      {"https://www.ntppool.org/\"quote\"", nullptr},
      {"https://www.ntppool.org/<script>", nullptr},
      {"https://www.ntppool.org/\\", nullptr},
      {"https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"},
      {"https://bücher.example/", nullptr},
      {"https://-bad-.example/", nullptr},
      {"https://1.2.3/", nullptr},
      {"https://999.1.1.1/", nullptr},
      {"http://2001:db8::1/", nullptr},
      {"http://[192.0.2.1]/", nullptr},
      {"http://[::1/", nullptr},
      {"http://[::1]x/", nullptr},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    auto url = parse_http_url(row.text);
    if (row.canonical) {
      REQUIRE(url);
      CHECK(url->to_string() == row.canonical);
    } else {
      REQUIRE_FALSE(url);
      CHECK(url.error().code == ExitCode::usage);
      CHECK_FALSE(url.error().why.empty());
    }
  }
}

TEST_CASE("a URL is taken apart into scheme, host, port, path and query", "[http][url]") {
  auto url = parse_http_url("https://[2a0a:e5c0::1]:8443/api/x?a=1&b=*");
  REQUIRE(url);
  CHECK(url->scheme == "https");
  CHECK(url->host == "2a0a:e5c0::1");
  CHECK(url->port == 8443);
  CHECK(url->path == "/api/x");
  CHECK(url->query == "a=1&b=*");
}

TEST_CASE("a base URL takes no query, and the reason names what is wrong", "[http][url]") {
  auto base = parse_http_url("https://www.ntppool.org/?x=1", {.allow_query = false});
  REQUIRE_FALSE(base);
  CHECK(base.error().why == "a query (?...) is not allowed in a base URL");
  CHECK(parse_http_url("https://www.ntppool.org/api", {.allow_query = false}));
  CHECK(parse_http_url("gopher://x.org").error().why == "the scheme 'gopher' is not http or https");
  CHECK(parse_http_url("https://u@x.org").error().why ==
        "user information (user@host) is not allowed");
  CHECK(parse_http_url("https://x.org:99999").error().why ==
        "the port '99999' is not a number from 1 to 65535");
}

TEST_CASE("retries: which outcomes are retried, with what delay", "[http][retry]") {
  RetryPolicy policy;  // 3 attempts, 1 s doubled up to 8 s, Retry-After up to 60 s
  using Kind = AttemptOutcome::Kind;
  struct Row {
    Kind kind;
    long status;
    std::optional<std::chrono::seconds> retry_after;
    int attempts_made;
    std::optional<std::chrono::milliseconds> delay;
  };
  const Row rows[] = {
      {Kind::response, 200, std::nullopt, 1, std::nullopt},
      {Kind::response, 301, std::nullopt, 1, std::nullopt},
      {Kind::response, 404, std::nullopt, 1, std::nullopt},
      {Kind::response, 400, std::nullopt, 1, std::nullopt},
      {Kind::response, 501, std::nullopt, 1, std::nullopt},
      {Kind::response, 500, std::nullopt, 1, 1000ms},
      {Kind::response, 502, std::nullopt, 2, 2000ms},
      {Kind::response, 503, std::nullopt, 3, std::nullopt},  // the third attempt was the last
      {Kind::response, 504, std::nullopt, 1, 1000ms},
      {Kind::response, 408, std::nullopt, 1, 1000ms},
      {Kind::response, 429, std::nullopt, 1, 1000ms},
      {Kind::response, 429, 5s, 1, 5000ms},
      {Kind::response, 503, 60s, 2, 60000ms},
      {Kind::response, 429, 61s, 1, std::nullopt},  // longer than the cap: give up now
      {Kind::response, 429, 3600s, 1, std::nullopt},
      {Kind::timeout, 0, std::nullopt, 1, 1000ms},
      {Kind::timeout, 0, std::nullopt, 2, 2000ms},
      {Kind::connect_failed, 0, std::nullopt, 1, 1000ms},
      {Kind::other_error, 0, std::nullopt, 1, std::nullopt},
  };
  for (const auto& row : rows) {
    INFO("status " << row.status << ", attempts " << row.attempts_made);
    CHECK(retry_delay(policy, row.attempts_made, {row.kind, row.status, row.retry_after}) ==
          row.delay);
  }
}

TEST_CASE("backoff doubles and stops at its cap; attempts are bounded", "[http][retry]") {
  RetryPolicy policy;
  policy.max_attempts = 10;
  policy.initial_backoff = 500ms;
  policy.max_backoff = 3000ms;
  AttemptOutcome timeout{AttemptOutcome::Kind::timeout, 0, std::nullopt};
  std::vector<long> delays;
  for (int attempt = 1; attempt <= 10; ++attempt) {
    auto delay = retry_delay(policy, attempt, timeout);
    delays.push_back(delay ? delay->count() : -1);
  }
  CHECK(delays == std::vector<long>{500, 1000, 2000, 3000, 3000, 3000, 3000, 3000, 3000, -1});
  policy.max_attempts = 1;
  CHECK_FALSE(retry_delay(policy, 1, timeout));
}

TEST_CASE("every request says it is pooljoin and which version", "[http]") {
  CHECK(user_agent() == std::string("pooljoin/") + kVersion);
  CHECK(http_status_text(404) == "404 Not Found");
  CHECK(http_status_text(418) == "418");
}

TEST_CASE("the libcurl client is move-only and fails cleanly without a server", "[http]") {
  static_assert(!std::is_copy_constructible_v<CurlHttpClient>);
  static_assert(std::is_nothrow_move_constructible_v<CurlHttpClient>);
  HttpOptions options;
  options.retry.max_attempts = 1;
  options.total_timeout = 2000ms;
  CurlHttpClient first(options);
  CurlHttpClient client(std::move(first));
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  auto response = client.get({"http://127.0.0.1:1/", {}, std::nullopt});
  REQUIRE_FALSE(response);
  CHECK(response.error().code == ExitCode::unavailable);
  CHECK(response.error().what == "cannot connect to 127.0.0.1");
}

TEST_CASE("a connection nobody answers fails at the connect timeout, saying so", "[http]") {
  // A loopback listener whose accept queue (listen backlog 0: one connection) is filled by a
  // client it never accepts: the kernel drops every further SYN, so a connect stalls as it
  // does towards a host that does not answer.
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listener);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  auto* as_sockaddr = reinterpret_cast<sockaddr*>(&address);
  REQUIRE(::bind(listener.get(), as_sockaddr, sizeof address) == 0);
  REQUIRE(::listen(listener.get(), 0) == 0);
  REQUIRE(::getsockname(listener.get(), as_sockaddr, &length) == 0);
  UniqueFd filler(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(::connect(filler.get(), as_sockaddr, sizeof address) == 0);
  {
    // The premise, on this kernel: one more connect does not complete within 300 ms.
    UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    REQUIRE((::connect(probe.get(), as_sockaddr, sizeof address) == -1 && errno == EINPROGRESS));
    pollfd p{probe.get(), POLLOUT, 0};
    REQUIRE(::poll(&p, 1, 300) == 0);
  }

  HttpOptions options;
  options.retry.max_attempts = 1;
  options.connect_timeout = 500ms;
  options.total_timeout = 10000ms;  // the connect timeout must be the one that ends it
  CurlHttpClient client(options);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/";
  auto start = std::chrono::steady_clock::now();
  auto response = client.get({url, {}, std::nullopt});
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(response);
  CHECK(response.error().code == ExitCode::unavailable);
  CHECK(response.error().what == "cannot connect to 127.0.0.1");
  CHECK(response.error().why == "the connection timed out: no answer within 0.5 s");
  CHECK(elapsed >= 450ms);
  CHECK(elapsed < 2000ms);
}

// SPDX-License-Identifier: Apache-2.0
// HTTP for the pool's site: URL validation, the retry policy, and a client over libcurl that
// always verifies TLS, follows redirects, honours the proxy environment and retries with backoff.
// <curl/curl.h> stays in src/core/http.cpp; the libcurl handle lives behind CurlHttpClient.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"

namespace pooljoin {

// An http:// or https:// URL, taken apart. Scheme and host are lower case.
struct HttpUrl {
  std::string scheme;      // "http" or "https"
  std::string host;        // a hostname, an IPv4 literal, or an IPv6 literal without brackets
  std::uint16_t port = 0;  // 0 when the URL names none (the scheme's default)
  std::string path;        // "" or starting with '/'
  std::string query;       // without the '?'; "" when none

  // "scheme://host[:port]path[?query]", IPv6 hosts in brackets.
  std::string to_string() const;
};

struct UrlRules {
  bool allow_query = true;  // false for a base URL that paths are appended to
};

// Parses `text` strictly: http or https only; a valid hostname or address literal; an optional
// port 1-65535; no user information ("user@"), no fragment, no spaces or control characters,
// and only characters RFC 3986 allows in a path or query (percent-escapes must be complete).
// ExitCode::usage with the reason otherwise.
Result<HttpUrl> parse_http_url(std::string_view text, UrlRules rules = {});

// How requests are retried: on 408, 429, 500, 502, 503, 504, on timeouts and on failed
// connections; never on TLS, DNS or other errors, which another attempt would not change.
struct RetryPolicy {
  int max_attempts = 3;                             // attempts in all, the first included
  std::chrono::milliseconds initial_backoff{1000};  // doubled after each attempt
  std::chrono::milliseconds max_backoff{8000};
  // A Retry-After longer than this is not waited for: the request fails with the server's
  // answer, so an unattended run never hangs on a rate-limited site.
  std::chrono::seconds max_retry_after{60};
};

// What one attempt came to, as the retry policy sees it.
struct AttemptOutcome {
  enum class Kind { response, timeout, connect_failed, other_error };
  Kind kind = Kind::response;
  long status = 0;                                  // the HTTP status, for Kind::response
  std::optional<std::chrono::seconds> retry_after;  // the server's Retry-After, when it sent one
};

// The delay before attempt `attempts_made + 1`, or nullopt when the request is not to be retried.
// Backoff is initial_backoff * 2^(attempts_made - 1), capped at max_backoff; a Retry-After
// within max_retry_after replaces it.
std::optional<std::chrono::milliseconds> retry_delay(const RetryPolicy& policy, int attempts_made,
                                                     const AttemptOutcome& outcome);

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Sends from this local address (and over its family only): the ownership proof. The
  // request then also bypasses any proxy, which would hide the source address.
  std::optional<IpAddress> source;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string effective_url;  // after redirects
  std::string local_address;  // the source address of the connection, as curl reports it
  std::optional<std::chrono::seconds> retry_after;
  int attempts = 1;
};

struct RetryNotice {
  std::string url;
  int attempt = 0;  // the attempt that failed, from 1
  std::chrono::milliseconds delay{0};
  std::string reason;  // "HTTP 503", "timed out after 20 s"
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{20000};  // per attempt
  RetryPolicy retry;
  long max_redirects = 5;
  std::size_t max_body = std::size_t{32} << 20;  // bytes; a longer body fails the request
  std::string ca_file;  // PEM file to verify servers against instead of the system's bundle
  std::function<void(const RetryNotice&)> on_retry;  // told before each wait
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // GET `request.url`. Any HTTP status is a response (after the retries the policy allows);
  // failures to get one are errors: ExitCode::unavailable with the cause, or
  // ExitCode::interrupted on SIGINT/SIGTERM.
  virtual Result<HttpResponse> get(const HttpRequest& request) = 0;
};

// The libcurl implementation. One connection cache per client, so successive requests to the
// same site reuse their connection. TLS peer and host verification are always on. Proxies come
// from the environment (http_proxy, https_proxy, no_proxy), as libcurl reads them.
//
// libcurl is loaded (dlopen) and initialised on the first request, not when pooljoin starts: its
// dependencies (TLS, SSH, LDAP, Kerberos: some 30 libraries) would otherwise cost every command
// about 11 ms of dynamic linking, and only status, submit and join talk HTTP. A missing libcurl,
// one older than 7.85.0, or one that refuses a setting the request's safety rests on (the
// protocol allow-lists, TLS verification, redirects) is ExitCode::unavailable naming it, at the
// first request. The binary's .note.dlopen section names libcurl.so.4 for packaging tools.
class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(HttpOptions options = {});
  ~CurlHttpClient() override;
  CurlHttpClient(CurlHttpClient&&) noexcept;
  CurlHttpClient& operator=(CurlHttpClient&&) noexcept;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  Result<HttpResponse> get(const HttpRequest& request) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "pooljoin/VERSION": what every request says it is.
std::string user_agent();

// "200 OK", "404 Not Found", "503 Service Unavailable"; just the number for unusual codes.
std::string http_status_text(long status);

}  // namespace pooljoin

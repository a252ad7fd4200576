// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/http.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <dlfcn.h>

#include <curl/curl.h>
#include <fmt/format.h>

#include "pooljoin/interrupt.hpp"
#include "pooljoin/text.hpp"
#include "pooljoin/version.hpp"

namespace pooljoin {
namespace {

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// RFC 3986 pchar without the percent-escape: unreserved, sub-delims, ':' and '@'.
bool is_pchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("-._~!$&'()*+,;=:@").find(c) != std::string_view::npos;
}

// What is wrong with a path or (`query`) a query, by the characters RFC 3986 allows; "" if nothing.
std::string bad_component(std::string_view text, bool query) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2]))
        return "an incomplete percent-escape";
      i += 2;
      continue;
    }
    if (c == '/' || is_pchar(c)) continue;
    if (query && c == '?') continue;
    return fmt::format("the character '{}', which must be percent-encoded", c);
  }
  return {};
}

tl::unexpected<Error> bad_url(std::string_view text, std::string why) {
  return fail(ExitCode::usage, fmt::format("invalid URL '{}'", text), std::move(why),
              "give an http:// or https:// URL, such as https://www.ntppool.org");
}

// Whether the last label of a name is all digits: such a name is an address or nothing.
bool looks_numeric(std::string_view host) {
  auto dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  return !last.empty() && std::all_of(last.begin(), last.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

// --- libcurl, loaded on first use ------------------------------------------------------------

// The oldest libcurl pooljoin works with: 7.85 named the protocol allow-lists
// (CURLOPT_PROTOCOLS_STR), which pooljoin sets on every request. The .deb depends on it.
constexpr unsigned kMinLibcurl = 0x075500;
constexpr const char* kMinLibcurlText = "7.85.0";
static_assert(LIBCURL_VERSION_NUM >= kMinLibcurl, "pooljoin needs libcurl 7.85.0 or later");
constexpr const char* kLibcurlSoname = "libcurl.so.4";

// The ELF note that tells packaging tools which library pooljoin dlopen()s, as the
// freedesktop.org "ELF dlopen metadata" format defines it
// (https://systemd.io/ELF_DLOPEN_METADATA/): a .note.dlopen section, owner "FDO", type 0x407c0c0a,
// a JSON array of what is loaded.
constexpr char kDlopenJson[] =
    "[{\"feature\":\"http\",\"description\":\"HTTP(S) requests to the pool's site (status, "
    "submit, join)\",\"priority\":\"required\",\"soname\":[\"libcurl.so.4\"]}]";
struct DlopenNote {
  std::uint32_t name_size;
  std::uint32_t desc_size;
  std::uint32_t type;
  char name[4];
  char desc[(sizeof(kDlopenJson) + 3) / 4 * 4];  // padded to 4 bytes
};
constexpr DlopenNote dlopen_note() {
  DlopenNote note{};
  note.name_size = 4;
  note.desc_size = sizeof(kDlopenJson);
  note.type = 0x407c0c0a;
  note.name[0] = 'F', note.name[1] = 'D', note.name[2] = 'O';
  for (std::size_t i = 0; i < sizeof(kDlopenJson); ++i)
    note.desc[i] = kDlopenJson[i];
  return note;
}
[[gnu::used, gnu::section(".note.dlopen"), gnu::aligned(4)]] constexpr DlopenNote kDlopenNote =
    dlopen_note();

// The entry points pooljoin calls, from a dlopen()ed libcurl. The header declares them; nothing
// links them, so a command that makes no request never loads libcurl's dependency tree.
struct CurlApi {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_version_info) version_info;
};

// One loaded and initialised libcurl, for the life of the process. It is never unloaded nor
// cleaned up: its TLS library registers an exit handler of its own, which would run before ours,
// and exit returns the rest to the system.
class CurlLibrary {
 public:
  // libcurl.so.4, loaded, checked and initialised once per process (thread-safe).
  static Result<const CurlApi*> get() {
    static std::mutex mutex;
    static std::optional<Result<std::unique_ptr<CurlLibrary>>> loaded;
    std::lock_guard lock(mutex);
    if (!loaded) loaded = open(kLibcurlSoname);
    if (!*loaded) return tl::unexpected(loaded->error());
    return &(**loaded)->api_;
  }

  CurlLibrary(const CurlLibrary&) = delete;
  CurlLibrary& operator=(const CurlLibrary&) = delete;

 private:
  CurlLibrary() = default;

  static Result<std::unique_ptr<CurlLibrary>> open(const std::string& soname) {
    auto unavailable = [&](std::string why) {
      return fail(ExitCode::unavailable, fmt::format("cannot load libcurl ({})", soname),
                  std::move(why),
                  "install libcurl (Debian and Ubuntu: apt-get install libcurl4; Fedora, RHEL "
                  "and SUSE: the libcurl package)");
    };
    void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return unavailable(dlerror());
    std::unique_ptr<CurlLibrary> library(new CurlLibrary);
    std::string missing;
    auto bind = [&](auto& entry, const char* name) {
      entry = reinterpret_cast<std::remove_reference_t<decltype(entry)>>(dlsym(handle, name));
      if (!entry) missing += missing.empty() ? name : fmt::format(", {}", name);
    };
    CurlApi& api = library->api_;
    bind(api.global_init, "curl_global_init");
    bind(api.easy_init, "curl_easy_init");
    bind(api.easy_cleanup, "curl_easy_cleanup");
    bind(api.easy_reset, "curl_easy_reset");
    bind(api.easy_setopt, "curl_easy_setopt");
    bind(api.easy_perform, "curl_easy_perform");
    bind(api.easy_getinfo, "curl_easy_getinfo");
    bind(api.easy_strerror, "curl_easy_strerror");
    bind(api.slist_append, "curl_slist_append");
    bind(api.slist_free_all, "curl_slist_free_all");
    bind(api.version_info, "curl_version_info");
    if (!missing.empty()) {
      dlclose(handle);
      return unavailable(fmt::format("it lacks {}", missing));
    }
    // Older than the build's minimum: some option pooljoin's safety rests on would be refused
    // (or, older still, unknown to it).
    const curl_version_info_data* info = api.version_info(CURLVERSION_NOW);
    if (!info || info->version_num < kMinLibcurl) {
      std::string found = info && info->version ? info->version : "of an unknown version";
      dlclose(handle);
      return fail(
          ExitCode::unavailable,
          fmt::format("libcurl {} is older than {}, the oldest pooljoin works with", found,
                      kMinLibcurlText),
          fmt::format("{} names protocol allow-lists (CURLOPT_PROTOCOLS_STR), which every "
                      "request of pooljoin sets",
                      kMinLibcurlText),
          fmt::format("upgrade libcurl to {} or later (Debian 12 has 7.88)", kMinLibcurlText));
    }
    if (CURLcode code = api.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK)
      return unavailable(fmt::format("curl_global_init failed: {}", api.easy_strerror(code)));
    return library;
  }

  CurlApi api_{};
};

// --- libcurl handles, owned ------------------------------------------------------------------

class CurlEasy {
 public:
  explicit CurlEasy(const CurlApi& api) : api_(&api), handle_(api.easy_init()) {}
  CurlEasy(CurlEasy&& other) noexcept
      : api_(other.api_), handle_(std::exchange(other.handle_, nullptr)) {}
  CurlEasy& operator=(CurlEasy&& other) noexcept {
    if (this != &other) {
      if (handle_) api_->easy_cleanup(handle_);
      api_ = other.api_;
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  CurlEasy(const CurlEasy&) = delete;
  CurlEasy& operator=(const CurlEasy&) = delete;
  ~CurlEasy() {
    if (handle_) api_->easy_cleanup(handle_);
  }
  CURL* get() const { return handle_; }

 private:
  const CurlApi* api_;
  CURL* handle_;
};

class CurlHeaders {
 public:
  explicit CurlHeaders(const CurlApi& api) : api_(api) {}
  CurlHeaders(const CurlHeaders&) = delete;
  CurlHeaders& operator=(const CurlHeaders&) = delete;
  ~CurlHeaders() { api_.slist_free_all(list_); }
  bool append(const std::string& header) {
    curl_slist* next = api_.slist_append(list_, header.c_str());
    if (!next) return false;
    list_ = next;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  const CurlApi& api_;
  curl_slist* list_ = nullptr;
};

struct BodySink {
  std::string* body;
  std::size_t max;
  bool overflow = false;
};

extern "C" std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  std::size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->max) {
    sink->overflow = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

// Called by libcurl about once a second and on every wake-up: a non-zero answer aborts the
// transfer, which is how SIGINT/SIGTERM stop a request that is waiting on the network.
extern "C" int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return interrupted() ? 1 : 0;
}

std::string seconds_text(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return fmt::format("{} s", ms.count() / 1000);
  return fmt::format("{:.1f} s", static_cast<double>(ms.count()) / 1000.0);
}

struct Attempt {
  std::string refused;  // a setting libcurl refused ("CURLOPT_SSL_VERIFYPEER: ..."): no request
  CURLcode code = CURLE_OK;
  std::string curl_message;  // libcurl's error buffer, or its generic text
  bool body_overflow = false;
  bool connected = true;  // false when no connection was made: a timeout was the connect's
  HttpResponse response;
};

// Sleeps for `delay` in short slices; false when interrupted.
bool sleep_unless_interrupted(std::chrono::milliseconds delay) {
  auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (interrupted()) return false;
    auto left = until - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(100)));
  }
  return !interrupted();
}

AttemptOutcome outcome_of(const Attempt& attempt) {
  AttemptOutcome outcome;
  switch (attempt.code) {
    case CURLE_OK:
      outcome.kind = AttemptOutcome::Kind::response;
      outcome.status = attempt.response.status;
      outcome.retry_after = attempt.response.retry_after;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      outcome.kind = AttemptOutcome::Kind::timeout;
      break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      outcome.kind = AttemptOutcome::Kind::connect_failed;
      break;
    default:
      outcome.kind = AttemptOutcome::Kind::other_error;
      break;
  }
  return outcome;
}

// The connect timeout in effect: the attempt's own bounds it too.
std::chrono::milliseconds connect_timeout(const HttpOptions& options) {
  return std::min(options.connect_timeout, options.total_timeout);
}

std::string retry_reason(const Attempt& attempt, const HttpOptions& options) {
  if (attempt.code == CURLE_OK) return "HTTP " + http_status_text(attempt.response.status);
  if (attempt.code == CURLE_OPERATION_TIMEDOUT && !attempt.connected)
    return "timed out connecting after " + seconds_text(connect_timeout(options));
  if (attempt.code == CURLE_OPERATION_TIMEDOUT)
    return "timed out after " + seconds_text(options.total_timeout);
  return attempt.curl_message;
}

std::string attempts_note(int attempts) {
  return attempts > 1 ? fmt::format(", after {} attempts", attempts) : std::string();
}

// The error for an attempt that got no HTTP response.
Error error_of(const Attempt& attempt, const HttpRequest& request, const HttpOptions& options,
               int attempts) {
  const std::string& url = request.url;
  std::string host = url;
  if (auto parsed = parse_http_url(url)) host = parsed->host;
  switch (attempt.code) {
    case CURLE_ABORTED_BY_CALLBACK:
      return {ExitCode::interrupted,
              fmt::format("interrupted during the request to {}", url),
              {},
              "nothing was changed; run the same command again"};
    case CURLE_OPERATION_TIMEDOUT:
      if (!attempt.connected) {
        return {ExitCode::unavailable, fmt::format("cannot connect to {}", host),
                fmt::format("the connection timed out: no answer within {}{}",
                            seconds_text(connect_timeout(options)), attempts_note(attempts)),
                "check the network, the firewall and any proxy"};
      }
      return {ExitCode::unavailable, fmt::format("the request to {} timed out", url),
              fmt::format("no complete answer within {}{}", seconds_text(options.total_timeout),
                          attempts_note(attempts)),
              "check the network and any proxy (https_proxy); on a slow link raise --api-timeout"};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return {ExitCode::unavailable,
              fmt::format("TLS certificate verification failed for {}", host), attempt.curl_message,
              "pooljoin always verifies certificates: check the system's CA certificates "
              "(package ca-certificates), the system clock, and that the URL names the right "
              "site; a mirror with its own CA can be trusted with --ca-file"};
    case CURLE_SSL_CONNECT_ERROR:
      return {ExitCode::unavailable, fmt::format("TLS handshake with {} failed", host),
              attempt.curl_message, "check that the URL names an HTTPS server"};
    case CURLE_COULDNT_RESOLVE_HOST:
      return {ExitCode::unavailable, fmt::format("cannot resolve {}", host), attempt.curl_message,
              "check the DNS settings (/etc/resolv.conf) and the URL"};
    case CURLE_COULDNT_RESOLVE_PROXY:
      return {ExitCode::unavailable, "cannot resolve the proxy", attempt.curl_message,
              "check the proxy environment variables (http_proxy, https_proxy, all_proxy)"};
    case CURLE_COULDNT_CONNECT:
      return {ExitCode::unavailable, fmt::format("cannot connect to {}", host),
              attempt.curl_message + attempts_note(attempts),
              "check the network, the firewall and any proxy"};
    case CURLE_INTERFACE_FAILED:
      return {ExitCode::unavailable,
              fmt::format("cannot send from {}",
                          request.source ? request.source->to_string() : "the given address"),
              attempt.curl_message,
              "the address must be one of this machine's own (see `pooljoin detect`)"};
    case CURLE_TOO_MANY_REDIRECTS:
      return {ExitCode::unavailable, fmt::format("too many redirects from {}", url),
              attempt.curl_message, "check the URL"};
    case CURLE_UNSUPPORTED_PROTOCOL:
      return {ExitCode::unavailable, fmt::format("refused to follow a redirect from {}", url),
              attempt.curl_message,
              "pooljoin follows redirects to http and https only, and never from https to http"};
    case CURLE_WRITE_ERROR:
      if (attempt.body_overflow) {
        return {ExitCode::unavailable, fmt::format("the answer from {} is too large", url),
                fmt::format("more than {} MiB", options.max_body >> 20), "check the URL"};
      }
      break;
    default:
      break;
  }
  return {ExitCode::unavailable, fmt::format("the request to {} failed", url),
          attempt.curl_message + attempts_note(attempts),
          "check the network and any proxy settings"};
}

}  // namespace

// --- URLs ----------------------------------------------------------------------------------------

std::string HttpUrl::to_string() const {
  std::string text = scheme + "://";
  text += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 0) text += ":" + std::to_string(port);
  text += path;
  if (!query.empty()) text += "?" + query;
  return text;
}

Result<HttpUrl> parse_http_url(std::string_view text, UrlRules rules) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad_url(text, "it contains a space or a control character");
    if (u > 0x7f) return bad_url(text, "non-ASCII characters must be percent-encoded");
  }
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad_url(text, "it has no scheme (http:// or https://)");
  HttpUrl url;
  url.scheme = lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https")
    return bad_url(text, fmt::format("the scheme '{}' is not http or https", url.scheme));
  std::string_view rest = text.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos)
    return bad_url(text, "a fragment (#...) is not allowed");

  auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view after =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos)
    return bad_url(text, "user information (user@host) is not allowed");

  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(text, "an unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    std::string_view tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':') return bad_url(text, "unexpected text after the IPv6 address");
      port = tail.substr(1);
      if (port.empty()) return bad_url(text, "an empty port");
    }
    auto ip = IpAddress::parse(host);
    if (!ip || ip->is_v4()) return bad_url(text, "the host in brackets is not an IPv6 address");
    url.host = ip->to_string();
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad_url(text, "an empty port");
    }
    if (host.empty()) return bad_url(text, "it has no host");
    if (host.find(':') != std::string_view::npos)
      return bad_url(text, "an IPv6 address must be in brackets ([2001:db8::1])");
    if (auto ip = IpAddress::parse(host)) {
      url.host = ip->to_string();
    } else if (looks_numeric(host)) {
      return bad_url(text, fmt::format("'{}' is neither an IPv4 address nor a hostname", host));
    } else if (is_valid_hostname(host)) {
      url.host = lower(host);
    } else {
      return bad_url(text, fmt::format("'{}' is not a valid hostname", host));
    }
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return bad_url(text, fmt::format("the port '{}' is not a number from 1 to 65535", port));
    url.port = static_cast<std::uint16_t>(value);
  }

  auto question = after.find('?');
  std::string_view path = after.substr(0, question);
  if (question != std::string_view::npos) {
    if (!rules.allow_query) return bad_url(text, "a query (?...) is not allowed in a base URL");
    url.query = std::string(after.substr(question + 1));
  }
  if (auto bad = bad_component(path, false); !bad.empty())
    return bad_url(text, "the path contains " + bad);
  if (auto bad = bad_component(url.query, true); !bad.empty())
    return bad_url(text, "the query contains " + bad);
  url.path = std::string(path);
  return url;
}

// --- Retries -------------------------------------------------------------------------------------

std::optional<std::chrono::milliseconds> retry_delay(const RetryPolicy& policy, int attempts_made,
                                                     const AttemptOutcome& outcome) {
  if (attempts_made >= policy.max_attempts) return std::nullopt;
  switch (outcome.kind) {
    case AttemptOutcome::Kind::response: {
      constexpr long kRetryable[] = {408, 429, 500, 502, 503, 504};
      if (std::find(std::begin(kRetryable), std::end(kRetryable), outcome.status) ==
          std::end(kRetryable))
        return std::nullopt;
      if (outcome.retry_after) {
        if (*outcome.retry_after > policy.max_retry_after) return std::nullopt;
        return std::chrono::duration_cast<std::chrono::milliseconds>(*outcome.retry_after);
      }
      break;
    }
    case AttemptOutcome::Kind::timeout:
    case AttemptOutcome::Kind::connect_failed:
      break;
    case AttemptOutcome::Kind::other_error:
      return std::nullopt;
  }
  auto delay = policy.initial_backoff;
  for (int i = 1; i < attempts_made && delay < policy.max_backoff; ++i)
    delay *= 2;
  return std::min(delay, policy.max_backoff);
}

// --- The client ----------------------------------------------------------------------------------

struct CurlHttpClient::Impl {
  HttpOptions options;
  const CurlApi* api = nullptr;  // with `easy`, from the first request on
  std::optional<CurlEasy> easy;

  Result<void> load() {
    if (api) return {};
    auto loaded = CurlLibrary::get();
    if (!loaded) return tl::unexpected(loaded.error());
    api = *loaded;
    easy.emplace(*api);
    return {};
  }

  Attempt perform(const HttpRequest& request) {
    Attempt attempt;
    CURL* h = easy->get();
    if (!h) {
      attempt.code = CURLE_FAILED_INIT;
      attempt.curl_message = "libcurl could not create a handle";
      return attempt;
    }
    api->easy_reset(h);  // keeps the connection cache, drops every option
    char error_buffer[CURL_ERROR_SIZE] = {};
    BodySink sink{&attempt.response.body, options.max_body};
    CurlHeaders headers(*api);
    for (const auto& header : request.headers)
      headers.append(header);
    auto url = parse_http_url(request.url);
    const bool https = !url || url->scheme == "https";  // when in doubt, the stricter rules
    const std::string agent = user_agent();
    std::string interface;

    // Every setting the request's safety rests on must take: a libcurl that refuses one (built
    // without TLS, or too old for an option) makes no request at all.
    auto must = [&](CURLoption option, const char* name, auto value) {
      if (!attempt.refused.empty()) return;
      if (CURLcode code = api->easy_setopt(h, option, value); code != CURLE_OK)
        attempt.refused = fmt::format("{}: {}", name, api->easy_strerror(code));
    };
    must(CURLOPT_URL, "CURLOPT_URL", request.url.c_str());
    // Only http and https, and never from https to http: the answer would no longer be
    // authenticated.
    must(CURLOPT_PROTOCOLS_STR, "CURLOPT_PROTOCOLS_STR", "http,https");
    must(CURLOPT_REDIR_PROTOCOLS_STR, "CURLOPT_REDIR_PROTOCOLS_STR",
         https ? "https" : "http,https");
    must(CURLOPT_FOLLOWLOCATION, "CURLOPT_FOLLOWLOCATION", 1L);
    must(CURLOPT_MAXREDIRS, "CURLOPT_MAXREDIRS", options.max_redirects);
    must(CURLOPT_SSL_VERIFYPEER, "CURLOPT_SSL_VERIFYPEER", 1L);
    must(CURLOPT_SSL_VERIFYHOST, "CURLOPT_SSL_VERIFYHOST", 2L);
    if (!options.ca_file.empty()) must(CURLOPT_CAINFO, "CURLOPT_CAINFO", options.ca_file.c_str());
    must(CURLOPT_CONNECTTIMEOUT_MS, "CURLOPT_CONNECTTIMEOUT_MS",
         static_cast<long>(connect_timeout(options).count()));
    must(CURLOPT_TIMEOUT_MS, "CURLOPT_TIMEOUT_MS",
         static_cast<long>(options.total_timeout.count()));
    must(CURLOPT_NOSIGNAL, "CURLOPT_NOSIGNAL", 1L);
    must(CURLOPT_WRITEFUNCTION, "CURLOPT_WRITEFUNCTION", write_body);  // the body's size limit
    must(CURLOPT_WRITEDATA, "CURLOPT_WRITEDATA", &sink);
    must(CURLOPT_NOPROGRESS, "CURLOPT_NOPROGRESS", 0L);  // the interruption check
    must(CURLOPT_XFERINFOFUNCTION, "CURLOPT_XFERINFOFUNCTION", on_progress);
    if (request.source) {
      interface = "host!" + request.source->to_string();
      must(CURLOPT_INTERFACE, "CURLOPT_INTERFACE", interface.c_str());
      must(CURLOPT_IPRESOLVE, "CURLOPT_IPRESOLVE",
           request.source->is_v4() ? CURL_IPRESOLVE_V4 : CURL_IPRESOLVE_V6);
      must(CURLOPT_PROXY, "CURLOPT_PROXY", "");  // a proxy would hide the source address
    }
    if (!attempt.refused.empty()) return attempt;
    // What only shapes the request: an unknown one changes nothing that matters.
    api->easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());
    api->easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever this libcurl can decode
    api->easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    api->easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);

    attempt.code = api->easy_perform(h);
    attempt.body_overflow = sink.overflow;
    attempt.curl_message = error_buffer[0] ? error_buffer : api->easy_strerror(attempt.code);
    curl_off_t connect_us = 0;  // 0 until a connection is made
    attempt.connected =
        api->easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us) == CURLE_OK && connect_us > 0;
    if (attempt.code == CURLE_OK) {
      long status = 0;
      api->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      attempt.response.status = status;
      char* effective = nullptr;
      if (api->easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
        attempt.response.effective_url = effective;
      char* local = nullptr;
      if (api->easy_getinfo(h, CURLINFO_LOCAL_IP, &local) == CURLE_OK && local)
        attempt.response.local_address = local;
      // Both forms of Retry-After, seconds and an HTTP date, as seconds from now.
      curl_off_t retry_after = 0;
      if (api->easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
        attempt.response.retry_after = std::chrono::seconds(retry_after);
    }
    // The handle keeps pointers to these locals: clear them before they go.
    api->easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    api->easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    return attempt;
  }
};

CurlHttpClient::CurlHttpClient(HttpOptions options)
    : impl_(std::make_unique<Impl>(Impl{std::move(options), nullptr, std::nullopt})) {}
CurlHttpClient::~CurlHttpClient() = default;
CurlHttpClient::CurlHttpClient(CurlHttpClient&&) noexcept = default;
CurlHttpClient& CurlHttpClient::operator=(CurlHttpClient&&) noexcept = default;

Result<HttpResponse> CurlHttpClient::get(const HttpRequest& request) {
  const HttpOptions& options = impl_->options;
  if (auto loaded = impl_->load(); !loaded) return tl::unexpected(loaded.error());
  for (int attempt_number = 1;; ++attempt_number) {
    if (interrupted()) {
      return fail(ExitCode::interrupted,
                  fmt::format("interrupted before the request to {}", request.url), {},
                  "nothing was changed; run the same command again");
    }
    Attempt attempt = impl_->perform(request);
    if (!attempt.refused.empty()) {
      return fail(ExitCode::unavailable,
                  fmt::format("libcurl refused a setting the request to {} needs", request.url),
                  attempt.refused + "; no request was made",
                  "install Debian's libcurl4 (OpenSSL) or another libcurl built with TLS");
    }
    attempt.response.attempts = attempt_number;
    if (attempt.code == CURLE_ABORTED_BY_CALLBACK || interrupted())
      return tl::unexpected(error_of(attempt, request, options, attempt_number));
    auto delay = retry_delay(options.retry, attempt_number, outcome_of(attempt));
    if (!delay) {
      if (attempt.code == CURLE_OK) return std::move(attempt.response);
      return tl::unexpected(error_of(attempt, request, options, attempt_number));
    }
    if (options.on_retry)
      options.on_retry({request.url, attempt_number, *delay, retry_reason(attempt, options)});
    if (!sleep_unless_interrupted(*delay)) {
      return fail(ExitCode::interrupted,
                  fmt::format("interrupted while waiting to retry {}", request.url), {},
                  "nothing was changed; run the same command again");
    }
  }
}

std::string user_agent() {
  return std::string("pooljoin/") + kVersion;
}

std::string http_status_text(long status) {
  switch (status) {
    case 200:
      return "200 OK";
    case 301:
      return "301 Moved Permanently";
    case 302:
      return "302 Found";
    case 400:
      return "400 Bad Request";
    case 401:
      return "401 Unauthorized";
    case 403:
      return "403 Forbidden";
    case 404:
      return "404 Not Found";
    case 408:
      return "408 Request Timeout";
    case 410:
      return "410 Gone";
    case 429:
      return "429 Too Many Requests";
    case 500:
      return "500 Internal Server Error";
    case 502:
      return "502 Bad Gateway";
    case 503:
      return "503 Service Unavailable";
    case 504:
      return "504 Gateway Timeout";
    default:
      return std::to_string(status);
  }
}

}  // namespace pooljoin

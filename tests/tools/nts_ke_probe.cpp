// SPDX-License-Identifier: Apache-2.0
// NTS-KE with one server through pooljoin's client (OpenSslNtsKe), for the integration tests
// until `resolve` makes the exchange itself: prints the session as JSON (the cookies' sizes, the
// NTP server and port it names, the TLS version, the keys in hex) and exits 0, or prints
// {"error": message} and exits with the error's code. With --ntp, then one NTS-authenticated
// NTP exchange with the server NTS-KE named (one of the cookies, the keys; nts_ntp.hpp), its
// result under "ntp".
//
//   nts_ke_probe NAME ADDRESS [--port N] [--ca-file FILE] [--timeout-ms N] [--ntp]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pooljoin/nts_client.hpp"
#include "pooljoin/nts_ntp.hpp"
#include "pooljoin/unique_fd.hpp"

namespace {

std::string hex(const pooljoin::NtsKey& key) {
  std::string out;
  for (auto byte : key)
    out += fmt::format("{:02x}", byte);
  return out;
}

[[noreturn]] void usage() {
  std::fputs(
      "usage: nts_ke_probe NAME ADDRESS [--port N] [--ca-file FILE] [--timeout-ms N] [--ntp]\n",
      stderr);
  std::exit(2);
}

template <std::size_t N>
std::array<std::uint8_t, N> random_bytes() {
  std::array<std::uint8_t, N> out{};
  if (::getrandom(out.data(), out.size(), 0) != static_cast<ssize_t>(out.size())) std::abort();
  return out;
}

// One authenticated exchange: the request with the first cookie, the reply judged as NTP and
// as NTS.
nlohmann::json ntp_exchange(const pooljoin::NtsKeSession& session,
                            std::chrono::milliseconds timeout) {
  using namespace pooljoin;
  nlohmann::json out;
  const auto unique_id = random_bytes<kNtsUniqueIdLength>();
  const auto nonce = random_bytes<kNtsNonceLength>();
  const auto salt = random_bytes<4>();
  const NtpTimestamp cookie = ntp_now() ^ (std::uint64_t{salt[0]} << 8 | salt[1]);
  auto request = nts_request(session.client_to_server, session.answer.cookies.front(), unique_id,
                             nonce, cookie);
  if (!request) return {{"error", request.error().message()}};
  auto server = session.answer.server ? IpAddress::parse(*session.answer.server)
                                      : std::optional<IpAddress>(session.address);
  if (!server) return {{"error", "the NTPv4 server NTS-KE named is not an address"}};
  sockaddr_storage storage{};
  const unsigned length = server->to_sockaddr(session.answer.port.value_or(123), &storage);
  UniqueFd fd(::socket(storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  timeval wait{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0)
    return {{"error", "connect"}};
  const NtpTimestamp t1 = ntp_now();
  if (::send(fd.get(), request->data(), request->size(), 0) < 0) return {{"error", "send"}};
  std::array<std::uint8_t, 2048> reply{};
  const ssize_t got = ::recv(fd.get(), reply.data(), reply.size(), 0);
  const NtpTimestamp t4 = ntp_now();
  if (got < 0) return {{"error", "no reply"}};
  const std::span<const std::uint8_t> datagram(reply.data(), static_cast<std::size_t>(got));
  const NtpSample sample = evaluate_reply(datagram, cookie, t1, t4);
  out["request_bytes"] = request->size();
  out["reply_bytes"] = got;
  out["fault"] = std::string(to_string(sample.fault));
  out["stratum"] = sample.stratum;
  out["kiss"] = sample.kiss;
  out["offset_ms"] = sample.offset_s * 1000;
  auto nts = check_nts_reply(session.server_to_client, datagram, unique_id);
  if (!nts) {
    out["authenticated"] = false;
    out["nts_error"] = nts.error().message();
  } else {
    out["authenticated"] = !nts->nak;
    out["nak"] = nts->nak;
    out["new_cookies"] = nts->cookies.size();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pooljoin;
  if (argc < 3) usage();
  NtsKeTarget target;
  target.name = argv[1];
  target.address = IpAddress::parse(argv[2]);
  if (!target.address) usage();
  NtsKeOptions options;
  bool ntp = false;
  for (int i = 3; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--ntp") {
      ntp = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) usage();
    if (flag == "--port")
      target.port = static_cast<std::uint16_t>(std::stoul(argv[i + 1]));
    else if (flag == "--ca-file")
      options.ca_file = argv[i + 1];
    else if (flag == "--timeout-ms")
      options.timeout = std::chrono::milliseconds(std::stol(argv[i + 1]));
    else
      usage();
  }
  OpenSslNtsKe client;
  auto session = client.establish(target, options);
  nlohmann::json out;
  if (!session) {
    out["error"] = session.error().message();
    std::puts(out.dump().c_str());
    return to_int(session.error().code);
  }
  auto sizes = nlohmann::json::array();
  for (const auto& cookie : session->answer.cookies)
    sizes.push_back(cookie.size());
  out["cookies"] = sizes;
  out["server"] =
      session->answer.server ? nlohmann::json(*session->answer.server) : nlohmann::json();
  out["port"] = session->answer.port ? nlohmann::json(*session->answer.port) : nlohmann::json();
  out["address"] = session->address.to_string();
  out["tls_version"] = session->tls_version;
  out["cipher"] = session->cipher;
  out["c2s"] = hex(session->client_to_server);
  out["s2c"] = hex(session->server_to_client);
  if (ntp) out["ntp"] = ntp_exchange(*session, options.timeout);
  std::puts(out.dump().c_str());
  return 0;
}

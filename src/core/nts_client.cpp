// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/nts_client.hpp"

#include <cerrno>
#include <memory>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "pooljoin/interrupt.hpp"
#include "pooljoin/text.hpp"
#include "pooljoin/unique_fd.hpp"

namespace pooljoin {
namespace {

using Deadline = std::chrono::steady_clock::time_point;

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// The newest error OpenSSL queued (and the queue emptied), or `otherwise`.
std::string openssl_error(const char* otherwise) {
  unsigned long code = ERR_get_error();
  unsigned long next = 0;
  while ((next = ERR_get_error()) != 0)
    code = next;
  if (code == 0) return otherwise;
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

class Exchange {
 public:
  Exchange(const NtsKeTarget& target, const NtsKeOptions& options, IpAddress address)
      : target_(target),
        options_(options),
        address_(address),
        deadline_(std::chrono::steady_clock::now() + options.timeout),
        where_(fmt::format("NTS-KE with {} ({}, port {})", printable(target.name, 80),
                           address.to_string(), target.port)) {}

  Result<NtsKeSession> run();

 private:
  tl::unexpected<Error> failed(std::string why, std::string fix = {}) const {
    return fail(ExitCode::unavailable, fmt::format("no {}", where_), std::move(why),
                std::move(fix));
  }
  tl::unexpected<Error> no_nts_ke() const {
    return failed("the server did not agree to NTS-KE (ALPN ntske/1)",
                  "this port serves something else than NTS-KE");
  }
  // Waits until the socket is ready for `events`: false (with the error in `error_`) when the
  // deadline passes or a signal arrives.
  bool wait_for(short events);
  Result<void> connect();
  Result<SslCtxPtr> context() const;
  Result<void> handshake();
  Result<void> send(const std::vector<std::uint8_t>& bytes);
  Result<std::vector<std::uint8_t>> receive();
  // An SSL_* call that returned `rc`: retried after a wait when OpenSSL wants one, else an error.
  enum class Step { again, done, failed };
  Step after(int rc, const char* doing);

  const NtsKeTarget& target_;
  const NtsKeOptions& options_;
  IpAddress address_;
  Deadline deadline_;
  std::string where_;
  UniqueFd socket_;
  SslPtr ssl_;
  std::optional<Error> error_;
};

bool Exchange::wait_for(short events) {
  for (;;) {
    if (interrupted()) {
      error_ = interruption(where_.c_str()).value();
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      error_ = failed(fmt::format("no answer within {} ms", options_.timeout.count()),
                      "check that the server offers NTS-KE on this port (4460 unless its "
                      "operator says otherwise)")
                   .value();
      return false;
    }
    std::array<pollfd, 2> fds{{{socket_.get(), events, 0}, {interrupt_fd(), POLLIN, 0}}};
    const nfds_t count = interrupt_fd() >= 0 ? 2 : 1;
    const int ready = ::poll(fds.data(), count, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      error_ = failed(fmt::format("poll: {}", errno_text(errno))).value();
      return false;
    }
    if (ready > 0 && fds[0].revents != 0) return true;
  }
}

Result<void> Exchange::connect() {
  sockaddr_storage storage{};
  const unsigned length = address_.to_sockaddr(target_.port, &storage);
  socket_ = UniqueFd(::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket_) return failed(fmt::format("socket: {}", errno_text(errno)));
  if (::connect(socket_.get(), reinterpret_cast<sockaddr*>(&storage), length) == 0) return {};
  if (errno != EINPROGRESS) return failed(fmt::format("connecting: {}", errno_text(errno)));
  if (!wait_for(POLLOUT)) return tl::unexpected(*error_);
  int err = 0;
  socklen_t size = sizeof err;
  if (::getsockopt(socket_.get(), SOL_SOCKET, SO_ERROR, &err, &size) != 0) err = errno;
  if (err == ECONNREFUSED)
    return failed("connection refused", "the server does not offer NTS-KE on this port");
  if (err != 0) return failed(fmt::format("connecting: {}", errno_text(err)));
  return {};
}

Result<SslCtxPtr> Exchange::context() const {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return failed(openssl_error("OpenSSL could not make a TLS context"));
  // RFC 8915 section 3: TLS 1.3 or newer, and nothing else.
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1)
    return failed(openssl_error("OpenSSL refused TLS 1.3 as the minimum"));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int loaded = options_.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                              : SSL_CTX_load_verify_locations(
                                                    ctx.get(), options_.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return fail(ExitCode::unavailable,
                options_.ca_file.empty()
                    ? std::string("cannot read the system's trusted certificates")
                    : fmt::format("cannot read {}", printable(options_.ca_file)),
                openssl_error("no certificate in it"),
                options_.ca_file.empty() ? "install ca-certificates"
                                         : "give a PEM file of CA certificates");
  }
  // ALPN's wire form: each protocol preceded by its length (SSL_CTX_set_alpn_protos returns 0 on
  // success, unlike the rest of OpenSSL).
  std::vector<unsigned char> alpn{static_cast<unsigned char>(kNtsKeAlpn.size())};
  alpn.insert(alpn.end(), kNtsKeAlpn.begin(), kNtsKeAlpn.end());
  if (SSL_CTX_set_alpn_protos(ctx.get(), alpn.data(), static_cast<unsigned>(alpn.size())) != 0)
    return failed(openssl_error("OpenSSL refused the ALPN protocol list"));
  return ctx;
}

Exchange::Step Exchange::after(int rc, const char* doing) {
  if (rc > 0) return Step::done;
  const int reason = SSL_get_error(ssl_.get(), rc);
  if (reason == SSL_ERROR_WANT_READ) return wait_for(POLLIN) ? Step::again : Step::failed;
  if (reason == SSL_ERROR_WANT_WRITE) return wait_for(POLLOUT) ? Step::again : Step::failed;
  if (reason == SSL_ERROR_ZERO_RETURN || (reason == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
    error_ = failed(fmt::format("the server closed the connection while {}", doing)).value();
    return Step::failed;
  }
  if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) {
    // The server refused the handshake over ALPN: it speaks TLS, but not NTS-KE.
    ERR_clear_error();
    error_ = no_nts_ke().value();
    return Step::failed;
  }
  const long verify = SSL_get_verify_result(ssl_.get());
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    ERR_clear_error();
    error_ =
        failed(fmt::format("certificate not valid for the name {}", printable(target_.name, 80)),
               "the server's certificate names other hosts: use the name it was issued for")
            .value();
  } else if (verify != X509_V_OK) {
    ERR_clear_error();
    error_ =
        failed(fmt::format("certificate not trusted: {}", X509_verify_cert_error_string(verify)),
               options_.ca_file.empty() ? "" : "check --ca-file")
            .value();
  } else {
    error_ = failed(fmt::format("TLS failed while {}: {}", doing, openssl_error("unknown error")))
                 .value();
  }
  return Step::failed;
}

Result<void> Exchange::handshake() {
  auto ctx = context();
  if (!ctx) return tl::unexpected(ctx.error());
  ssl_.reset(SSL_new(ctx->get()));
  if (!ssl_ || SSL_set_fd(ssl_.get(), socket_.get()) != 1)
    return failed(openssl_error("OpenSSL could not start a session"));
  // The name the certificate must be valid for: a DNS name (also sent as SNI), or an address.
  const bool literal = IpAddress::parse(target_.name).has_value();
  if (literal) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), target_.name.c_str()) != 1)
      return failed(openssl_error("OpenSSL refused the address to verify"));
  } else {
    SSL_set_hostflags(ssl_.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    // SNI: what SSL_set_tlsext_host_name does, without its C cast.
    if (SSL_set1_host(ssl_.get(), target_.name.c_str()) != 1 ||
        SSL_ctrl(ssl_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(target_.name.c_str())) != 1)
      return failed(openssl_error("OpenSSL refused the name to verify"));
  }
  for (;;) {
    const Step step = after(SSL_connect(ssl_.get()), "negotiating TLS");
    if (step == Step::done) break;
    if (step == Step::failed) return tl::unexpected(*error_);
  }
  const unsigned char* chosen = nullptr;
  unsigned chosen_length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &chosen, &chosen_length);
  if (std::string_view(reinterpret_cast<const char*>(chosen), chosen ? chosen_length : 0) !=
      kNtsKeAlpn)
    return no_nts_ke();
  return {};
}

Result<void> Exchange::send(const std::vector<std::uint8_t>& bytes) {
  for (;;) {
    const Step step = after(SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size())),
                            "sending the request");
    if (step == Step::done) return {};
    if (step == Step::failed) return tl::unexpected(*error_);
  }
}

Result<std::vector<std::uint8_t>> Exchange::receive() {
  std::vector<std::uint8_t> message;
  std::array<std::uint8_t, 4096> buffer{};
  for (;;) {
    if (auto length = nts_ke_message_length(message)) {
      message.resize(*length);
      return message;
    }
    if (message.size() > kNtsKeMaxMessage)
      return failed(fmt::format("its answer is longer than {} bytes", kNtsKeMaxMessage));
    const int rc = SSL_read(ssl_.get(), buffer.data(), static_cast<int>(buffer.size()));
    if (rc > 0) {
      message.insert(message.end(), buffer.begin(), buffer.begin() + rc);
      continue;
    }
    const Step step = after(rc, "reading the answer");
    if (step == Step::failed) return tl::unexpected(*error_);
  }
}

Result<NtsKeSession> Exchange::run() {
  if (auto connected = connect(); !connected) return tl::unexpected(connected.error());
  if (auto agreed = handshake(); !agreed) return tl::unexpected(agreed.error());
  if (auto sent = send(nts_ke_request()); !sent) return tl::unexpected(sent.error());
  auto message = receive();
  if (!message) return tl::unexpected(message.error());
  auto answer = parse_nts_ke_answer(*message);
  if (!answer) return failed(answer.error().why);

  NtsKeSession session;
  session.answer = std::move(*answer);
  session.address = address_;
  session.tls_version = SSL_get_version(ssl_.get());
  session.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_.get()));
  for (bool server_to_client : {false, true}) {
    const auto context = nts_exporter_context(server_to_client);
    NtsKey& key = server_to_client ? session.server_to_client : session.client_to_server;
    if (SSL_export_keying_material(ssl_.get(), key.data(), key.size(), kNtsExporterLabel.data(),
                                   kNtsExporterLabel.size(), context.data(), context.size(),
                                   1) != 1)
      return failed(openssl_error("OpenSSL could not export the keys"));
  }
  // A polite end: close_notify, not waiting for the server's.
  SSL_shutdown(ssl_.get());
  return session;
}

}  // namespace

Result<NtsKeSession> OpenSslNtsKe::establish(const NtsKeTarget& target,
                                             const NtsKeOptions& options) {
  std::optional<IpAddress> address =
      target.address ? target.address : IpAddress::parse(target.name);
  if (!address) {
    return fail(ExitCode::internal,
                fmt::format("no address to reach {} at", printable(target.name, 80)),
                "NTS-KE is given the addresses resolve found");
  }
  ERR_clear_error();
  Exchange exchange(target, options, *address);
  return exchange.run();
}

}  // namespace pooljoin

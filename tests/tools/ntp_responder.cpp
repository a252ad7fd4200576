// SPDX-License-Identifier: Apache-2.0
// A test NTP server that answers as told: a given offset, stratum, leap, refid, kiss code (in
// ntpd's layout), or a fault (wrong origin, wrong mode, truncated, oversized, transmit 0, receive
// after transmit, a stale datagram first, extra delay, silence), each query its own way with
// script=; also mode 6
// READVAR and mode 7 monlist answers. Serves many addresses from one thread. Deliberately
// independent of pooljoin's own NTP code, so that a bug there cannot cancel out here.
//
//   ntp_responder --serve 127.0.0.1:0,offset=0.3 --serve [::1]:0,kod=RATE ...
//
// Prints "ready ADDR:PORT ..." (the bound endpoints, in the order given) on stdout once every
// socket is bound; exits 0 on SIGTERM or SIGINT after printing "served ENDPOINT N" per server
// on stderr. `--log FILE` appends "ENDPOINT mode=N transmit=0xHEX" for every request received
// (the request's transmit field, bytes 40..47), so tests can see what a client sent.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace {

volatile sig_atomic_t g_stop = 0;
extern "C" void on_stop(int) {
  g_stop = 1;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "ntp_responder: %s\n", message.c_str());
  std::exit(2);
}

constexpr std::uint64_t kUnixToNtp = 2208988800ULL;

struct Server {
  std::string spec;
  sockaddr_storage address{};
  socklen_t length = 0;
  int fd = -1;
  std::string bound;  // "ADDR:PORT" after bind

  double offset = 0;       // seconds added to the server's timestamps
  double offset_step = 0;  // added to offset after each reply
  int stratum = 2;
  int leap = 0;
  int poll = 6;
  int precision = -20;
  int version = 0;  // 0: echo the request's
  double root_delay = 0.001;
  double root_dispersion = 0.002;
  std::string refid = "192.0.2.1";
  std::string kod;
  bool wrong_origin = false, wrong_mode = false, truncated = false, oversized = false;
  bool silent = false, mode6 = false, monlist = false;
  bool transmit_zero = false;           // transmit timestamp 0
  bool receive_after_transmit = false;  // receive timestamp later than transmit
  bool stale_first = false;             // a datagram with a wrong origin first, then the reply
  // script=A;B;C: the Nth NTP query is answered with the options of the Nth entry ("+" between
  // options, "-" for none) on top of the others; the last entry goes on repeating.
  std::vector<std::string> script;
  long ntp_queries = 0;
  int delay_ms = 0;
  int delay_step_ms = 0;  // added to delay_ms after each NTP request
  int drop = 0;           // ignore this many NTP requests first
  long served = 0;
};

struct Pending {
  timespec due{};
  std::size_t server = 0;
  sockaddr_storage peer{};
  socklen_t peer_length = 0;
  std::vector<std::uint8_t> request;
  timespec received{};  // kernel receive time
  int delay_ms = 0;     // this request's simulated path delay
  Server look;          // the server's options for this query (its script entry applied)
};

timespec now() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

double seconds(const timespec& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

timespec plus_ms(timespec t, int ms) {
  long long ns = t.tv_nsec + static_cast<long long>(ms) * 1000000LL;
  t.tv_sec += static_cast<time_t>(ns / 1000000000LL);
  t.tv_nsec = static_cast<long>(ns % 1000000000LL);
  return t;
}

bool before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// NTP 32.32 of a Unix time in seconds (as a long double: the fraction survives).
std::uint64_t ntp_time(long double unix_seconds) {
  long double ntp = unix_seconds + static_cast<long double>(kUnixToNtp);
  auto whole = static_cast<std::uint64_t>(std::floor(ntp));
  auto fraction = static_cast<std::uint64_t>((ntp - std::floor(ntp)) * 4294967296.0L);
  return (whole << 32) | (fraction & 0xffffffffULL);
}

long double precise(const timespec& t) {
  return static_cast<long double>(t.tv_sec) + static_cast<long double>(t.tv_nsec) / 1e9L;
}

void put32(std::uint8_t* out, std::uint32_t v) {
  out[0] = static_cast<std::uint8_t>(v >> 24);
  out[1] = static_cast<std::uint8_t>(v >> 16);
  out[2] = static_cast<std::uint8_t>(v >> 8);
  out[3] = static_cast<std::uint8_t>(v);
}

void put64(std::uint8_t* out, std::uint64_t v) {
  put32(out, static_cast<std::uint32_t>(v >> 32));
  put32(out + 4, static_cast<std::uint32_t>(v));
}

std::uint32_t refid_bits(const std::string& text) {
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return ntohl(v4.s_addr);
  std::uint8_t bytes[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < 4 && i < text.size(); ++i)
    bytes[i] = static_cast<std::uint8_t>(text[i]);
  return static_cast<std::uint32_t>(bytes[0]) << 24 | static_cast<std::uint32_t>(bytes[1]) << 16 |
         static_cast<std::uint32_t>(bytes[2]) << 8 | bytes[3];
}

std::uint32_t short_format(double s) {
  return static_cast<std::uint32_t>(std::llround(s * 65536.0));
}

int to_number(const std::string& text, const std::string& what) {
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end) die("bad number for " + what + ": " + text);
  return static_cast<int>(value);
}

double to_real(const std::string& text, const std::string& what) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end) die("bad number for " + what + ": " + text);
  return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto at = text.find(separator, start);
    parts.push_back(text.substr(start, at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return parts;
}

void apply_option(Server& server, const std::string& key, const std::string& value,
                  const std::string& spec) {
  if (key == "offset")
    server.offset = to_real(value, key);
  else if (key == "offset-step")
    server.offset_step = to_real(value, key);
  else if (key == "stratum")
    server.stratum = to_number(value, key);
  else if (key == "leap")
    server.leap = to_number(value, key);
  else if (key == "poll")
    server.poll = to_number(value, key);
  else if (key == "precision")
    server.precision = to_number(value, key);
  else if (key == "version")
    server.version = to_number(value, key);
  else if (key == "root-delay")
    server.root_delay = to_real(value, key);
  else if (key == "root-disp")
    server.root_dispersion = to_real(value, key);
  else if (key == "refid")
    server.refid = value;
  else if (key == "kod")
    server.kod = value;
  else if (key == "delay")
    server.delay_ms = to_number(value, key);
  else if (key == "delay-step")
    server.delay_step_ms = to_number(value, key);
  else if (key == "drop")
    server.drop = to_number(value, key);
  else if (key == "wrong-origin")
    server.wrong_origin = true;
  else if (key == "wrong-mode")
    server.wrong_mode = true;
  else if (key == "truncated")
    server.truncated = true;
  else if (key == "oversized")
    server.oversized = true;
  else if (key == "silent")
    server.silent = true;
  else if (key == "mode6")
    server.mode6 = true;
  else if (key == "monlist")
    server.monlist = true;
  else if (key == "transmit0")
    server.transmit_zero = true;
  else if (key == "rec-after-xmt")
    server.receive_after_transmit = true;
  else if (key == "stale-first")
    server.stale_first = true;
  else if (key == "script")
    server.script = split(value, ';');
  else
    die("unknown option " + key + " in " + spec);
}

Server parse_spec(const std::string& spec) {
  Server server;
  server.spec = spec;
  std::vector<std::string> parts = split(spec, ',');
  const std::string& endpoint = parts[0];
  std::string host, port;
  if (!endpoint.empty() && endpoint[0] == '[') {
    auto close = endpoint.find("]:");
    if (close == std::string::npos) die("expected [IPv6]:PORT in " + spec);
    host = endpoint.substr(1, close - 1);
    port = endpoint.substr(close + 2);
  } else {
    auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) die("expected ADDR:PORT in " + spec);
    host = endpoint.substr(0, colon);
    port = endpoint.substr(colon + 1);
  }
  int port_number = to_number(port, "port");
  if (port_number < 0 || port_number > 65535) die("bad port in " + spec);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&server.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&server.address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port_number));
    server.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port_number));
    server.length = sizeof(sockaddr_in6);
  } else {
    die("bad address in " + spec);
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string& option = parts[i];
    auto eq = option.find('=');
    apply_option(server, option.substr(0, eq), eq == std::string::npos ? "" : option.substr(eq + 1),
                 spec);
  }
  return server;
}

std::string endpoint_text(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

void bind_server(Server& server) {
  server.fd = socket(server.address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (server.fd < 0) die("socket: " + std::string(std::strerror(errno)));
  int on = 1;
  if (server.address.ss_family == AF_INET6)
    setsockopt(server.fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  setsockopt(server.fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (bind(server.fd, reinterpret_cast<sockaddr*>(&server.address), server.length) != 0)
    die("cannot bind " + server.spec + ": " + std::strerror(errno));
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(server.fd, reinterpret_cast<sockaddr*>(&bound), &length);
  server.bound = endpoint_text(bound);
}

// A mode 6 READVAR answer: the variable list in two fragments, as ntpd sends a long one.
std::vector<std::vector<std::uint8_t>> mode6_answer(const Server& server,
                                                    const std::vector<std::uint8_t>& request) {
  std::string vars = "version=\"ntp_responder 1\", processor=\"x86_64\", system=\"Linux\", leap=" +
                     std::to_string(server.leap) + ", stratum=" + std::to_string(server.stratum) +
                     ", precision=" + std::to_string(server.precision) +
                     ", rootdelay=1.000, rootdisp=2.000, refid=" + server.refid +
                     ", reftime=0xeeb22b34.66bd0e12, clock=0xeeb22b34.66bd0e12, peer=0, tc=6, "
                     "mintc=3, offset=" +
                     std::to_string(server.offset * 1000) +
                     ", frequency=0.000, sys_jitter=0.000, clk_jitter=0.001, clk_wander=0.000";
  std::vector<std::vector<std::uint8_t>> fragments;
  std::size_t half = (vars.size() / 2) & ~std::size_t{3};
  for (int i = 0; i < 2; ++i) {
    std::size_t begin = i == 0 ? 0 : half;
    std::size_t end = i == 0 ? half : vars.size();
    std::vector<std::uint8_t> out(12, 0);
    out[0] = static_cast<std::uint8_t>(2 << 3 | 6);
    out[1] = static_cast<std::uint8_t>(0x80 | (i == 0 ? 0x20 : 0) | (request[1] & 0x1f));
    out[2] = request[2];
    out[3] = request[3];
    out[8] = static_cast<std::uint8_t>(begin >> 8);
    out[9] = static_cast<std::uint8_t>(begin);
    out[10] = static_cast<std::uint8_t>((end - begin) >> 8);
    out[11] = static_cast<std::uint8_t>(end - begin);
    out.insert(out.end(), vars.begin() + static_cast<long>(begin),
               vars.begin() + static_cast<long>(end));
    while (out.size() % 4)
      out.push_back(0);
    fragments.push_back(std::move(out));
  }
  // Fragments may arrive in any order: send the last one first.
  std::swap(fragments[0], fragments[1]);
  return fragments;
}

// A mode 7 MON_GETLIST_1 answer with 6 entries of 72 bytes (what an open classic ntpd sends).
std::vector<std::uint8_t> monlist_answer() {
  constexpr int kItems = 6, kItemSize = 72;
  std::vector<std::uint8_t> out(8 + kItems * kItemSize, 0);
  out[0] = static_cast<std::uint8_t>(0x80 | 2 << 3 | 7);
  out[2] = 3;
  out[3] = 42;
  out[4] = 0;  // no error, item count high bits
  out[5] = kItems;
  out[7] = kItemSize;
  for (int i = 0; i < kItems; ++i)
    out[8 + static_cast<std::size_t>(i * kItemSize) + 16] = static_cast<std::uint8_t>(192 + i);
  return out;
}

void send_to(const Server& server, const Pending& p, const std::uint8_t* data, std::size_t size) {
  sendto(server.fd, data, size, 0, reinterpret_cast<const sockaddr*>(&p.peer), p.peer_length);
}

// The options for the Nth NTP query: the server's own, with its script's entry on top.
Server look_for(const Server& server, long query) {
  Server look = server;
  if (server.script.empty()) return look;
  std::size_t entry = std::min(static_cast<std::size_t>(query), server.script.size() - 1);
  const std::string& options = server.script[entry];
  if (options == "-" || options.empty()) return look;
  for (const auto& option : split(options, '+')) {
    auto eq = option.find('=');
    apply_option(look, option.substr(0, eq), eq == std::string::npos ? "" : option.substr(eq + 1),
                 server.spec);
  }
  return look;
}

void answer_ntp(Server& server, const Pending& p) {
  const Server& look = p.look;
  const auto& q = p.request;
  std::uint8_t out[48 + 1000] = {};
  int request_version = (q[0] >> 3) & 7;
  int version = look.version ? look.version : request_version;
  int mode = look.wrong_mode ? 3 : 4;
  bool kiss = !look.kod.empty();
  std::uint64_t client_transmit = 0;
  for (std::size_t i = 0; i < 8; ++i)
    client_transmit = client_transmit << 8 | q[40 + i];
  // A kiss-o'-death as ntpd sends it: leap 3, stratum 0, the code as refid, and the client's
  // transmit timestamp in origin, receive and transmit.
  int leap = kiss ? 3 : look.leap;
  out[0] = static_cast<std::uint8_t>((leap & 3) << 6 | (version & 7) << 3 | mode);
  out[1] = static_cast<std::uint8_t>(kiss ? 0 : look.stratum);
  out[2] = static_cast<std::uint8_t>(look.poll);
  out[3] = static_cast<std::uint8_t>(look.precision);
  put32(out + 4, short_format(look.root_delay));
  put32(out + 8, short_format(look.root_dispersion));
  put32(out + 12, refid_bits(kiss ? look.kod : look.refid));
  std::uint64_t origin = client_transmit;
  if (look.wrong_origin) origin ^= 0x5a5a5a5a00000001ULL;
  // Simulated symmetric path: the request "arrives" delay/2 after the kernel received it, the
  // reply "leaves" delay/2 before it is sent.
  long double half = static_cast<long double>(p.delay_ms) / 2000.0L;
  long double receive = precise(p.received) + half + static_cast<long double>(look.offset);
  long double transmit = precise(now()) - half + static_cast<long double>(look.offset);
  transmit = std::max(transmit, receive);
  std::uint64_t receive_field = ntp_time(receive), transmit_field = ntp_time(transmit);
  if (kiss) receive_field = transmit_field = client_transmit;
  if (look.receive_after_transmit) receive_field = transmit_field + (1ULL << 32);
  if (look.transmit_zero) transmit_field = 0;
  put64(out + 16, kiss ? 0 : ntp_time(receive - 16));  // reference time: a while ago
  put64(out + 24, origin);
  put64(out + 32, receive_field);
  put64(out + 40, transmit_field);
  std::size_t size = 48;
  if (look.truncated) size = 40;
  if (look.oversized) {
    for (std::size_t i = 48; i < sizeof out; ++i)
      out[i] = static_cast<std::uint8_t>(i * 7);
    size = sizeof out;
  }
  if (look.stale_first) {
    // What came back to an earlier query (or a spoofer's guess) arrives first.
    std::uint8_t stale[48];
    std::memcpy(stale, out, sizeof stale);
    put64(stale + 24, client_transmit ^ 0x0123456789abcdefULL);
    send_to(server, p, stale, sizeof stale);
  }
  send_to(server, p, out, size);
  server.offset += server.offset_step;
}

void answer(Server& server, const Pending& p) {
  int mode = p.request[0] & 7;
  if (mode == 6 && p.request.size() >= 12) {
    if (server.mode6) {
      for (const auto& fragment : mode6_answer(server, p.request))
        send_to(server, p, fragment.data(), fragment.size());
    }
    return;
  }
  if (mode == 7) {
    if (server.monlist) {
      auto reply = monlist_answer();
      send_to(server, p, reply.data(), reply.size());
    }
    return;
  }
  if (mode == 3 && p.request.size() >= 48) answer_ntp(server, p);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Server> servers;
  std::FILE* log = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--serve" && i + 1 < argc) {
      servers.push_back(parse_spec(argv[++i]));
    } else if (arg == "--log" && i + 1 < argc) {
      log = std::fopen(argv[++i], "a");
      if (!log) die(std::string("cannot open log ") + argv[i] + ": " + std::strerror(errno));
    } else if (arg == "-h" || arg == "--help") {
      std::puts(
          "usage: ntp_responder --serve ADDR:PORT[,OPTION...] [--serve ...]\n"
          "options: offset=S offset-step=S stratum=N leap=N refid=TEXT kod=CODE poll=N\n"
          "         precision=N version=N root-delay=S root-disp=S delay=MS delay-step=MS drop=N\n"
          "         wrong-origin wrong-mode truncated oversized silent mode6 monlist\n"
          "         transmit0 rec-after-xmt stale-first\n"
          "         script=OPTS;OPTS;...: the Nth NTP query's options on top (OPTS: A=1+B, or -);\n"
          "         the last entry repeats\n"
          "--log FILE: one line per request: ENDPOINT mode=N transmit=0xHEX");
      return 0;
    } else {
      die("unknown argument " + arg + " (try --help)");
    }
  }
  if (servers.empty()) die("nothing to serve: give --serve ADDR:PORT");

  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, &previous);  // delivered only inside epoll_pwait
  struct sigaction action {};
  action.sa_handler = on_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  int epoll = epoll_create1(EPOLL_CLOEXEC);
  std::string ready = "ready";
  for (std::size_t i = 0; i < servers.size(); ++i) {
    bind_server(servers[i]);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    epoll_ctl(epoll, EPOLL_CTL_ADD, servers[i].fd, &event);
    ready += " " + servers[i].bound;
  }
  std::printf("%s\n", ready.c_str());
  std::fflush(stdout);

  std::vector<Pending> pending;  // replies held back by delay=
  std::vector<epoll_event> events(64);
  while (!g_stop) {
    int timeout_ms = -1;
    if (!pending.empty()) {
      auto first = std::min_element(pending.begin(), pending.end(),
                                    [](auto& a, auto& b) { return before(a.due, b.due); });
      double wait = seconds(first->due) - seconds(now());
      timeout_ms = std::max(0, static_cast<int>(std::ceil(wait * 1000)));
    }
    int n =
        epoll_pwait(epoll, events.data(), static_cast<int>(events.size()), timeout_ms, &previous);
    if (n < 0 && errno != EINTR) die("epoll_pwait: " + std::string(std::strerror(errno)));
    for (int e = 0; e < n; ++e) {
      Server& server = servers[events[static_cast<std::size_t>(e)].data.u64];
      for (int budget = 0; budget < 64; ++budget) {
        Pending p;
        std::uint8_t buffer[2048];
        alignas(cmsghdr) char control[256];
        iovec iov{buffer, sizeof buffer};
        msghdr message{};
        message.msg_name = &p.peer;
        message.msg_namelen = sizeof p.peer;
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        ssize_t got = recvmsg(server.fd, &message, MSG_DONTWAIT);
        if (got < 0) break;
        p.peer_length = message.msg_namelen;
        p.received = now();
        for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
            std::memcpy(&p.received, CMSG_DATA(c), sizeof p.received);
        }
        p.request.assign(buffer, buffer + got);
        p.server = events[static_cast<std::size_t>(e)].data.u64;
        if (p.request.empty()) continue;
        ++server.served;
        int mode = p.request[0] & 7;
        if (log) {
          std::uint64_t transmit = 0;
          for (std::size_t b = 40; b < 48 && b < p.request.size(); ++b)
            transmit = transmit << 8 | p.request[b];
          std::fprintf(log, "%s mode=%d transmit=0x%016llx\n", server.bound.c_str(), mode,
                       static_cast<unsigned long long>(transmit));
          std::fflush(log);
        }
        p.look = mode == 3 ? look_for(server, server.ntp_queries++) : server;
        if (p.look.silent) continue;
        if (mode == 3 && server.drop > 0) {
          --server.drop;
          continue;
        }
        p.delay_ms = p.look.delay_ms;
        if (mode == 3) server.delay_ms = std::max(0, server.delay_ms + server.delay_step_ms);
        p.due = plus_ms(p.received, p.delay_ms);
        if (p.delay_ms > 0)
          pending.push_back(std::move(p));
        else
          answer(server, p);
      }
    }
    timespec t = now();
    for (std::size_t i = 0; i < pending.size();) {
      if (!before(t, pending[i].due)) {
        answer(servers[pending[i].server], pending[i]);
        pending.erase(pending.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
  }
  for (const auto& server : servers)
    std::fprintf(stderr, "served %s %ld\n", server.bound.c_str(), server.served);
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/dns.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>

#include <fmt/format.h>

#include "pooljoin/interrupt.hpp"

namespace pooljoin {
namespace {

// Most records one answer is read for; pool zones return 4, catalogue hosts a handful.
constexpr int kMaxRecords = 64;

DnsStatus status_of(int code) {
  switch (code) {
    case ARES_SUCCESS:
      return DnsStatus::ok;
    case ARES_ENOTFOUND:
      return DnsStatus::nxdomain;
    case ARES_ENODATA:
      return DnsStatus::nodata;
    case ARES_ESERVFAIL:
      return DnsStatus::servfail;
    case ARES_EREFUSED:
      return DnsStatus::refused;
    case ARES_ETIMEOUT:
      return DnsStatus::timeout;
    case ARES_ECONNREFUSED:
      return DnsStatus::unreachable;
    case ARES_EBADNAME:
      return DnsStatus::bad_name;
    default:
      return DnsStatus::other;
  }
}

struct Query {
  FamilyAnswer* answer;
  bool v6;
  const char* name;
  int* outstanding;  // the count of queries sent and not yet answered
};

constexpr int kMaxQueriesInFlight = 128;

void add_unique(std::vector<IpAddress>& list, const IpAddress& address) {
  if (std::find(list.begin(), list.end(), address) == list.end()) list.push_back(address);
}

// Fills `answer` from a raw DNS response; CNAME chains inside the answer are followed by c-ares.
void parse_answer(const Query& query, unsigned char* buffer, int length) {
  int count = kMaxRecords;
  int status;
  if (query.v6) {
    ares_addr6ttl records[kMaxRecords];
    status = ares_parse_aaaa_reply(buffer, length, nullptr, records, &count);
    for (int i = 0; status == ARES_SUCCESS && i < count; ++i) {
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      std::memcpy(&sa.sin6_addr, &records[i].ip6addr, sizeof sa.sin6_addr);
      add_unique(query.answer->addresses,
                 IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&sa)));
    }
  } else {
    ares_addrttl records[kMaxRecords];
    status = ares_parse_a_reply(buffer, length, nullptr, records, &count);
    for (int i = 0; status == ARES_SUCCESS && i < count; ++i) {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr = records[i].ipaddr;
      add_unique(query.answer->addresses,
                 IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&sa)));
    }
  }
  if (status == ARES_SUCCESS && query.answer->addresses.empty()) status = ARES_ENODATA;
  query.answer->status = status_of(status);
  if (status != ARES_SUCCESS) query.answer->message = ares_strerror(status);
}

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* buffer, int length) {
  auto* query = static_cast<Query*>(arg);
  --*query->outstanding;
  if (status == ARES_SUCCESS) {
    parse_answer(*query, buffer, length);
  } else {
    query->answer->status = status_of(status);
    query->answer->message = ares_strerror(status);
  }
}

std::string format_servers(const std::vector<Endpoint>& servers) {
  std::string csv;
  for (const auto& server : servers) {
    auto ip = IpAddress::parse(server.host);
    std::string host = ip && !ip->is_v4() ? "[" + server.host + "]" : server.host;
    csv += fmt::format("{}{}:{}", csv.empty() ? "" : ",", host, server.port);
  }
  return csv;
}

}  // namespace

std::string_view to_string(DnsStatus status) {
  switch (status) {
    case DnsStatus::ok:
      return "ok";
    case DnsStatus::nxdomain:
      return "NXDOMAIN";
    case DnsStatus::nodata:
      return "no data";
    case DnsStatus::servfail:
      return "SERVFAIL";
    case DnsStatus::refused:
      return "REFUSED";
    case DnsStatus::timeout:
      return "timeout";
    case DnsStatus::unreachable:
      return "server unreachable";
    case DnsStatus::bad_name:
      return "bad name";
    case DnsStatus::other:
      break;
  }
  return "error";
}

std::vector<IpAddress> NameAnswer::addresses() const {
  std::vector<IpAddress> all = aaaa.addresses;
  for (const auto& address : a.addresses)
    add_unique(all, address);
  return all;
}

bool NameAnswer::server_answered() const {
  auto silent = [](const FamilyAnswer& f) {
    return f.status == DnsStatus::timeout || f.status == DnsStatus::unreachable;
  };
  return !(silent(a) && silent(aaaa));
}

struct Resolver::Channel {
  ares_channel handle = nullptr;
  ~Channel() {
    if (handle) ares_destroy(handle);
  }
};

Resolver::Resolver(std::unique_ptr<Channel> channel) : channel_(std::move(channel)) {}
Resolver::Resolver(Resolver&&) noexcept = default;
Resolver& Resolver::operator=(Resolver&&) noexcept = default;
Resolver::~Resolver() = default;

Result<Resolver> Resolver::create(const DnsOptions& options) {
  static std::once_flag once;
  static int library_status = ARES_SUCCESS;
  std::call_once(once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (library_status != ARES_SUCCESS) {
    return fail(ExitCode::unavailable, "cannot initialise c-ares", ares_strerror(library_status));
  }

  ares_options opts{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  // Hand SERVFAIL and REFUSED answers to the callback as they are: c-ares 1.18 otherwise fails
  // over and reports them as "connection refused". The price: no failover to the next server
  // on those two answers (a timeout still fails over).
  opts.flags = ARES_FLAG_NOCHECKRESP;
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = options.tries;
  std::string resolv_conf = options.resolv_conf;
  if (options.servers.empty() && !resolv_conf.empty()) {
    opts.resolvconf_path = resolv_conf.data();
    mask |= ARES_OPT_RESOLVCONF;
  }
  auto channel = std::make_unique<Channel>();
  int status = ares_init_options(&channel->handle, &opts, mask);
  if (status != ARES_SUCCESS) {
    return fail(ExitCode::unavailable, "cannot set up DNS lookups", ares_strerror(status),
                resolv_conf.empty() ? "" : "check " + resolv_conf);
  }
  if (!options.servers.empty()) {
    status = ares_set_servers_ports_csv(channel->handle, format_servers(options.servers).c_str());
    if (status != ARES_SUCCESS) {
      return fail(ExitCode::usage, "cannot use the DNS servers given", ares_strerror(status),
                  "give each as ADDRESS or ADDRESS:PORT ([IPv6]:PORT)");
    }
  }
  return Resolver(std::move(channel));
}

std::vector<std::string> Resolver::servers() const {
  std::vector<std::string> list;
  ares_addr_port_node* nodes = nullptr;
  if (ares_get_servers_ports(channel_->handle, &nodes) != ARES_SUCCESS) return list;
  for (auto* node = nodes; node; node = node->next) {
    IpAddress address;
    if (node->family == AF_INET) {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr = node->addr.addr4;
      address = IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&sa));
    } else {
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      std::memcpy(&sa.sin6_addr, &node->addr.addr6, sizeof sa.sin6_addr);
      address = IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&sa));
    }
    int port = node->udp_port ? node->udp_port : 53;
    list.push_back(address.is_v4() ? fmt::format("{}:{}", address.to_string(), port)
                                   : fmt::format("[{}]:{}", address.to_string(), port));
  }
  ares_free_data(nodes);
  return list;
}

std::vector<NameAnswer> Resolver::resolve(const std::vector<std::string>& names) {
  std::vector<NameAnswer> answers(names.size());
  std::deque<Query> queries;  // stable addresses: c-ares holds pointers to them
  int outstanding = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    answers[i].name = names[i];
    if (!is_valid_hostname(names[i])) {
      for (auto* family : {&answers[i].a, &answers[i].aaaa}) {
        family->status = DnsStatus::bad_name;
        family->message = "not a valid host name";
      }
      continue;
    }
    for (bool v6 : {false, true})
      queries.push_back(
          {v6 ? &answers[i].aaaa : &answers[i].a, v6, names[i].c_str(), &outstanding});
  }

  // At most kMaxQueriesInFlight at a time, the next sent as one is answered: a resolver drops
  // what it cannot take (dnsmasq forwards at most 150 queries at once, and its socket's default
  // buffer holds about 270), and each drop costs a whole timeout.
  std::size_t next = 0;
  ares_channel channel = channel_->handle;
  auto send_more = [&] {
    while (next < queries.size() && outstanding < kMaxQueriesInFlight) {
      Query& query = queries[next++];
      ++outstanding;
      ares_query(channel, query.name, ns_c_in, query.v6 ? ns_t_aaaa : ns_t_a, on_answer, &query);
    }
  };
  send_more();

  // One event loop for every query. Wake at least once a second to notice an interrupt.
  while (outstanding > 0) {
    if (interrupted()) {
      ares_cancel(channel);
      for (; next < queries.size(); ++next) {
        queries[next].answer->status = status_of(ARES_ECANCELLED);
        queries[next].answer->message = ares_strerror(ARES_ECANCELLED);
      }
      break;
    }
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events) fds[count++] = {sockets[i], events, 0};
    }
    timeval max{1, 0}, tv{};
    timeval* wait = ares_timeout(channel, &max, &tv);
    int wait_ms = static_cast<int>(wait->tv_sec * 1000 + wait->tv_usec / 1000);
    int ready = ::poll(fds, count, std::max(wait_ms, 1));
    if (ready <= 0) {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // time out what is due
      send_more();
      continue;
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (!fds[i].revents) continue;
      bool readable = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
      bool writable = fds[i].revents & POLLOUT;
      ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD,
                      writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
    send_more();
  }
  return answers;
}

Result<DnsLookupResult> CaresDns::lookup(const DnsOptions& options,
                                         const std::vector<std::string>& names) {
  auto resolver = Resolver::create(options);
  if (!resolver) return tl::unexpected(std::move(resolver.error()));
  DnsLookupResult result;
  result.servers = resolver->servers();
  result.answers = resolver->resolve(names);
  if (interrupted()) return interruption("DNS lookups");
  return result;
}

}  // namespace pooljoin

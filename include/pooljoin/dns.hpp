// SPDX-License-Identifier: Apache-2.0
// DNS lookups with c-ares: many names, A and AAAA, all at once in one event loop, each with a
// precise outcome per family. <ares.h> stays inside dns.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "pooljoin/error.hpp"
#include "pooljoin/net.hpp"

namespace pooljoin {

enum class DnsStatus {
  ok,           // addresses found
  nxdomain,     // the name does not exist
  nodata,       // the name exists, with no record of this family
  servfail,     // the server failed (SERVFAIL)
  refused,      // the server refused (REFUSED)
  timeout,      // no answer in time, after every try
  unreachable,  // the server could not be reached (connection refused)
  bad_name,     // not a name that can be looked up
  other,        // anything else; see the message
};

std::string_view to_string(DnsStatus status);

struct FamilyAnswer {
  DnsStatus status = DnsStatus::other;
  std::string message;               // c-ares' text for the failure; empty when ok
  std::vector<IpAddress> addresses;  // in the order of the answer, without duplicates
};

struct NameAnswer {
  std::string name;
  FamilyAnswer a, aaaa;
  // Both families' addresses, IPv6 first, without duplicates.
  std::vector<IpAddress> addresses() const;
  // Whether any server answered for this name at all (even NXDOMAIN): false on timeout or
  // unreachable for both families.
  bool server_answered() const;
};

struct DnsOptions {
  std::vector<Endpoint> servers;            // empty: the resolv.conf below
  std::string resolv_conf;                  // host path of resolv.conf; empty: c-ares' default
  std::chrono::milliseconds timeout{2000};  // per try, per server (c-ares doubles it per round)
  int tries = 2;
};

class Resolver {
 public:
  // ExitCode::unavailable when c-ares cannot be set up (bad server list, out of memory).
  static Result<Resolver> create(const DnsOptions& options);
  Resolver(Resolver&&) noexcept;
  Resolver& operator=(Resolver&&) noexcept;
  ~Resolver();

  // Looks every name up, A and AAAA, concurrently; returns one answer per name in input order.
  // Stops early (remaining lookups cancelled) when interrupted.
  std::vector<NameAnswer> resolve(const std::vector<std::string>& names);

  // The servers in use, as "address:port".
  std::vector<std::string> servers() const;

 private:
  struct Channel;
  explicit Resolver(std::unique_ptr<Channel> channel);
  std::unique_ptr<Channel> channel_;
};

// What one round of lookups gave: the servers asked ("address:port") and an answer per name,
// in the order of the names.
struct DnsLookupResult {
  std::vector<std::string> servers;
  std::vector<NameAnswer> answers;
};

// The seam for DNS: CaresDns asks the servers of `options` with c-ares; tests answer from a
// table. ExitCode::unavailable when no lookup could be set up; ExitCode::interrupted on Ctrl-C.
class DnsLookup {
 public:
  virtual ~DnsLookup() = default;
  virtual Result<DnsLookupResult> lookup(const DnsOptions& options,
                                         const std::vector<std::string>& names) = 0;
};

class CaresDns final : public DnsLookup {
 public:
  Result<DnsLookupResult> lookup(const DnsOptions& options,
                                 const std::vector<std::string>& names) override;
};

}  // namespace pooljoin

// SPDX-License-Identifier: Apache-2.0
#include "pooljoin/ntp_config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <utility>

#include <stdlib.h>
#include <unistd.h>

#include "render_template.hpp"
#include <fmt/format.h>

#include "pooljoin/detect.hpp"
#include "pooljoin/fs.hpp"
#include "pooljoin/install.hpp"
#include "pooljoin/net.hpp"
#include "pooljoin/process.hpp"
#include "pooljoin/selection.hpp"
#include "pooljoin/text.hpp"

namespace pooljoin {
namespace {

// How long chronyd may take to parse a config with -p.
constexpr auto kChronydParseTimeout = std::chrono::seconds(10);

// The owner's files in a directory of its own under /tmp: the only place, besides its packaged
// paths, where the AppArmor profile of Debian's and Ubuntu's ntpd (/etc/apparmor.d/usr.sbin.ntpd,
// through abstractions/user-tmp) lets it read a config and write a log and a pid file.
class NtpdCheckFiles {
 public:
  static Result<NtpdCheckFiles> make(const RootedFs& fs) {
    if (!fs.is_directory("/tmp")) {
      std::error_code ec;
      std::filesystem::create_directory(fs.host("/tmp"), ec);
      std::filesystem::permissions(
          fs.host("/tmp"), std::filesystem::perms::all | std::filesystem::perms::sticky_bit, ec);
    }
    std::string host = fs.host(kNtpdCheckDir).string();
    if (::mkdtemp(host.data()) == nullptr) {
      return fail(ExitCode::cant_write, "cannot check the new config with ntpd",
                  fmt::format("cannot make a directory like {}: {}", host, std::strerror(errno)),
                  "make /tmp writable, or add --no-daemon-check");
    }
    const std::string dir =
        std::string(kNtpdCheckDir).substr(0, std::string_view(kNtpdCheckDir).rfind('/') + 1) +
        std::filesystem::path(host).filename().string();
    return NtpdCheckFiles(fs, dir);
  }
  NtpdCheckFiles(NtpdCheckFiles&& other) noexcept
      : config(other.config),
        pid(other.pid),
        log(other.log),
        fs_(other.fs_),
        dir_(std::exchange(other.dir_, {})) {}
  NtpdCheckFiles(const NtpdCheckFiles&) = delete;
  NtpdCheckFiles& operator=(const NtpdCheckFiles&) = delete;
  NtpdCheckFiles& operator=(NtpdCheckFiles&&) = delete;
  ~NtpdCheckFiles() {
    if (dir_.empty()) return;
    for (const auto& file : {config, pid, log})
      ::unlink(fs_.host(file).c_str());
    ::rmdir(fs_.host(dir_).c_str());
  }

  const std::string config, pid, log;  // system paths

 private:
  NtpdCheckFiles(const RootedFs& fs, const std::string& dir)
      : config(dir + "/ntp.conf"),
        pid(dir + "/ntpd.pid"),
        log(dir + "/ntpd.log"),
        fs_(fs),
        dir_(dir) {}
  const RootedFs& fs_;
  std::string dir_;
};

bool well_formed_time(std::string_view text) {
  // "2026-11-26T03:22:43Z"
  if (text.size() != 20) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = (i == 4 || i == 7)     ? c == '-'
              : i == 10              ? c == 'T'
              : (i == 13 || i == 16) ? c == ':'
              : i == 19              ? c == 'Z'
                                     : std::isdigit(static_cast<unsigned char>(c)) != 0;
    if (!ok) return false;
  }
  return true;
}

std::string last_lines(std::string_view text, std::size_t count) {
  ProcessResult shaped;
  shaped.out = std::string(text);
  return shaped.output_tail(count);
}

}  // namespace

bool is_pool_ntp_name(std::string_view host) {
  std::string name = lower(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  constexpr std::string_view kSuffix = ".pool.ntp.org";
  return name == "pool.ntp.org" ||
         (name.size() > kSuffix.size() &&
          name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0);
}

Result<Upstream> parse_upstream(std::string_view text) {
  auto refuse = [&](std::string why) {
    return fail(ExitCode::usage, fmt::format("\"{}\" is refused", printable(text)), std::move(why),
                "give an IPv4 or IPv6 address (or a server's hostname) and nothing else");
  };
  if (text.empty()) return refuse("it is empty");
  // Judged as the daemon will read it: getaddrinfo takes inet_aton's forms ("0x7f7f0100" is
  // 127.127.1.0, the LOCAL clock) and an IPv4-mapped address is the IPv4 address it carries.
  if (auto read = IpAddress::parse_as_resolver(text)) {
    const IpAddress address = read->unmapped();
    const bool as_written = IpAddress::parse(text) && *read == address;
    const std::string reading =
        as_written ? std::string()
                   : fmt::format(" (the daemon reads it as {})", address.to_string());
    auto refuse_as = [&](std::string_view why) {
      return refuse(fmt::format("{}{}", why, reading));
    };
    if (address.in_prefix(*IpAddress::parse("127.0.0.0"), 8)) {
      return refuse_as(address.in_prefix(*IpAddress::parse("127.127.0.0"), 16)
                           ? "127.127.x.x addresses select ntpd's reference clock drivers, and "
                             "127.127.1.x is the LOCAL clock the pool forbids"
                           : "it is a loopback address");
    }
    if (address == *IpAddress::parse("::1")) return refuse_as("it is a loopback address");
    if (address == *IpAddress::parse("0.0.0.0") || address == *IpAddress::parse("::"))
      return refuse_as("it is the unspecified address");
    if (address.in_prefix(*IpAddress::parse("0.0.0.0"), 8))
      return refuse_as("it is in \"this network\" (0.0.0.0/8), no server's address");
    if (address == *IpAddress::parse("255.255.255.255"))
      return refuse_as("it is the broadcast address");
    if (address.in_prefix(*IpAddress::parse("224.0.0.0"), 4) ||
        address.in_prefix(*IpAddress::parse("ff00::"), 8)) {
      return refuse_as("it is a multicast address");
    }
    // Written the one way everybody reads it.
    Upstream upstream{address.to_string()};
    upstream.local_network = address.is_local_network();
    return upstream;
  }
  if (const std::string name = lower(text); name == "localhost" || name == "localhost." ||
                                            name.ends_with(".localhost") ||
                                            name.ends_with(".localhost.")) {
    return refuse("names under localhost are this machine's loopback (RFC 6761)");
  }
  if (!is_valid_hostname(text)) {
    bool has_space = text.find_first_of(" \t\r\n") != std::string_view::npos;
    return refuse(has_space ? "it contains white space or a line break"
                            : "it is neither an IP address nor a hostname of valid labels "
                              "(letters, digits and hyphens, 1 to 63 characters each)");
  }
  if (is_pool_ntp_name(text)) {
    return fail(ExitCode::usage, fmt::format("{} is refused", text),
                "a pool server must not follow pool.ntp.org names: its upstreams change at "
                "every lookup",
                "run `pooljoin resolve` to pin servers by address, or give their addresses");
  }
  return Upstream{std::string(text)};
}

Result<std::vector<Upstream>> upstreams_from(const Selection& selection) {
  std::vector<Upstream> servers;
  for (const auto& server : selection.servers) {
    auto parsed = parse_upstream(server.address.to_string());
    if (!parsed) {
      return fail(ExitCode::unavailable, fmt::format("cannot use {}", kSelectionPath),
                  fmt::format("its server {} is refused: {}", server.address.to_string(),
                              parsed.error().why),
                  "run `pooljoin resolve` again, or give the servers with --upstream");
    }
    Upstream upstream = std::move(*parsed);
    if (is_valid_hostname(server.host)) upstream.note = lower(server.host);
    servers.push_back(std::move(upstream));
  }
  return servers;
}

std::string selection_origin(const Selection& selection) {
  std::string text = "the selection saved by `pooljoin resolve`";
  if (well_formed_time(selection.created)) text += " at " + selection.created;
  if (is_valid_hostname(selection.zone)) text += " from " + lower(selection.zone);
  return text + fmt::format(" ({})", kSelectionPath);
}

Result<void> check_upstream_count(const std::vector<Upstream>& servers, bool force) {
  if (servers.empty()) {
    return fail(ExitCode::usage, "no upstream servers",
                fmt::format("no --upstream given and no saved selection in {}", kSelectionPath),
                "run `pooljoin resolve` first, or give --upstream ADDRESS 4 to 7 times");
  }
  for (std::size_t i = 0; i < servers.size(); ++i) {
    for (std::size_t j = i + 1; j < servers.size(); ++j) {
      if (lower(servers[i].address) == lower(servers[j].address)) {
        return fail(ExitCode::usage, fmt::format("upstream {} is given twice", servers[i].address),
                    {}, "give each server once");
      }
    }
  }
  if ((std::ssize(servers) < kMinUpstreams || std::ssize(servers) > kMaxUpstreams) && !force) {
    return fail(ExitCode::usage, fmt::format("{} upstream servers", servers.size()),
                fmt::format("the pool asks for {} to {}", kMinUpstreams, kMaxUpstreams),
                "give --upstream 4 to 7 times (or --force to write it anyway)");
  }
  return {};
}

Result<void> check_not_own_address(const std::vector<Upstream>& servers,
                                   const std::vector<LocalAddress>& own, bool from_selection) {
  for (const auto& server : servers) {
    auto address = IpAddress::parse(server.address);
    if (!address) continue;
    auto local = std::find_if(own.begin(), own.end(),
                              [&](const LocalAddress& l) { return l.address == *address; });
    if (local == own.end()) continue;
    const std::string whose =
        fmt::format("{} is this machine's own address{}", server.address,
                    local->interface.empty() ? "" : " (on " + local->interface + ")");
    if (from_selection) {
      return fail(ExitCode::unavailable, fmt::format("cannot use {}", kSelectionPath),
                  fmt::format("its server {}: a server cannot be its own upstream", whose),
                  "run `pooljoin resolve` again (it leaves this machine's addresses out), or give "
                  "the servers with --upstream");
    }
    return fail(ExitCode::usage, fmt::format("--upstream {}", whose),
                "a server cannot be its own upstream: it would follow its own clock",
                "leave it out and give 4 to 7 other servers");
  }
  return {};
}

bool same_apart_from_generation_time(std::string_view current, std::string_view rendered) {
  auto body = [](std::string_view text) -> std::optional<std::string_view> {
    if (!text.starts_with(kGeneratedMarker)) return std::nullopt;
    auto nl = text.find('\n');
    return nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  };
  auto a = body(current), b = body(rendered);
  return a && b && *a == *b;
}

bool reads_leap_list(const DaemonSpec& spec) {
  return !spec.leapfile.empty() && (spec.daemon != Daemon::chrony || spec.leapfile.front() == '/');
}

std::string leap_data_path(const DaemonSpec& spec) {
  if (spec.leapfile.empty()) return {};
  if (!reads_leap_list(spec)) return "/usr/share/zoneinfo/" + spec.leapfile;
  return spec.leapfile;
}

Result<std::string> render_config(const std::filesystem::path& templates_dir,
                                  const ConfigRequest& request) {
  namespace mustache = kainjow::mustache;
  mustache::data data;
  data.set("generated_at", request.generated_at);
  data.set("origin", request.origin);
  data.set("config_name", std::filesystem::path(request.spec.config_path).filename().string());
  data.set("driftfile", request.spec.driftfile);
  // Lists of none or one: a false section would leave its line empty. ntpd's templates take
  // `leapfiles`; chrony's a time zone (`leapsectz`) or a leap-seconds.list (`leapseclist`).
  mustache::data leapfiles{mustache::data::type::list};
  mustache::data leapzones{mustache::data::type::list};
  mustache::data leaplists{mustache::data::type::list};
  if (request.leapfile && !request.spec.leapfile.empty()) {
    mustache::data leap;
    leap.set("path", request.spec.leapfile);
    leapfiles.push_back(leap);
    (reads_leap_list(request.spec) ? leaplists : leapzones).push_back(leap);
  }
  data.set("leapfiles", leapfiles);
  data.set("leapzones", leapzones);
  data.set("leaplists", leaplists);
  mustache::data servers{mustache::data::type::list};
  for (const auto& server : request.servers) {
    mustache::data entry;
    entry.set("address", server.address);
    std::string comment = server.note.empty() ? "" : "resolved from " + server.note;
    if (server.local_network) comment += comment.empty() ? "local network" : ", local network";
    entry.set("has_comment", mustache_bool(!comment.empty()));
    entry.set("comment", comment);
    servers.push_back(entry);
  }
  data.set("servers", servers);
  mustache::data kept{mustache::data::type::list};
  for (const auto& line : request.kept) {
    mustache::data entry;
    entry.set("text", line);
    kept.push_back(entry);
  }
  data.set("has_kept", mustache_bool(!request.kept.empty()));
  data.set("kept", kept);
  return render_template(templates_dir,
                         fmt::format("{}.conf.mustache", to_string(request.spec.daemon)), data);
}

std::optional<std::string> daemon_program(const RootedFs& fs, Daemon daemon) {
  return find_program(fs, daemon_program_name(daemon));
}

std::vector<std::string> ntpd_config_errors(std::string_view log) {
  std::vector<std::string> errors;
  std::istringstream lines{std::string(log)};
  for (std::string line; std::getline(lines, line);) {
    bool config = line.find("CONFIG:") != std::string::npos;
    bool harmless =
        line.find("readconfig: parsing file") != std::string::npos ||
        (config && line.find(" ignored") != std::string::npos &&
         (line.find("nopeer") != std::string::npos || line.find("notrap") != std::string::npos));
    bool error = line.find("syntax error") != std::string::npos || config ||
                 (line.find("ERR:") != std::string::npos &&
                  line.find("exiting on signal") == std::string::npos);
    if (error && !harmless) errors.push_back(line);
  }
  return errors;
}

namespace {

// A daemon started only to check a config: it dies with pooljoin (a parent-death SIGKILL, so that a
// killed pooljoin leaves no checking ntpd under PID 1), and it cannot set the clock: CAP_SYS_TIME
// is out of its bounding, inheritable and ambient sets (a caller holding it in the inheritable
// set would otherwise hand it on, since root's execve grants the inheritable capabilities).
Command checking_daemon(Command command) {
  command.argv.insert(command.argv.begin(),
                      {"setpriv", "--pdeathsig", "KILL", "--bounding-set", "-sys_time",
                       "--inh-caps", "-sys_time", "--ambient-caps", "-sys_time", "--"});
  return command;
}

// The run of a checking daemon: its process group goes with it.
RunOptions checking_run(std::chrono::milliseconds window) {
  RunOptions options;
  options.timeout = window;
  options.kill_group_after_exit = true;
  return options;
}

}  // namespace

Result<std::string> check_with_daemon(const RootedFs& fs, ProcessRunner& runner, Daemon daemon,
                                      const std::string& program, const std::string& candidate) {
  const std::string shown = fs.host(candidate).string();
  if (daemon == Daemon::chrony) {
    auto result = runner.run(
        checking_daemon(in_root(fs, {{program, "-p", "-f", candidate}})),
        checking_run(std::chrono::duration_cast<std::chrono::milliseconds>(kChronydParseTimeout)));
    if (!result) return tl::unexpected(result.error());
    if (!result->ok()) {
      return fail(ExitCode::check_failed, fmt::format("chronyd rejected the new config"),
                  fmt::format("`{} -p` ended with {}", program, result->status_text()),
                  "the previous file is unchanged; please report this with the output below",
                  result->output_tail());
    }
    return fmt::format("{} -p parsed it without an error", program);
  }

  // ntpd: started for a moment in a network namespace of its own, which disappears with it, and
  // without CAP_SYS_TIME (checking_daemon), so that it can neither serve nor touch the clock.
  // Its files go where the distributions' AppArmor profile lets a confined ntpd read and write.
  auto files = NtpdCheckFiles::make(fs);
  if (!files) return tl::unexpected(std::move(files.error()));
  auto content = fs.read_file(candidate);
  if (!content) return tl::unexpected(std::move(content.error()));
  WriteOptions copy;
  copy.backup = false;
  copy.create_parents = false;
  copy.mode_if_new = 0600;
  if (auto copied = fs.write_atomic(files->config, *content, copy); !copied)
    return tl::unexpected(std::move(copied.error()));
  const std::string& log = files->log;
  Command command =
      in_root(fs, {{program, "-n", "-c", files->config, "-p", files->pid, "-l", files->log}});
  command.argv.insert(command.argv.begin(), {"unshare", "--net"});
  command = checking_daemon(std::move(command));

  std::string text;
  for (auto window : {kNtpdCheckWindow, kNtpdCheckSlowWindow}) {
    ::unlink(fs.host(log).c_str());
    auto result = runner.run(command, checking_run(window));
    if (!result) return tl::unexpected(result.error());
    text = fs.read(log).value_or("");
    if (!result->timed_out) {
      // ntpd never exits by itself while its config is usable.
      return fail(ExitCode::check_failed, "ntpd did not run on the new config",
                  fmt::format("`{}` ended with {}", display(command), result->status_text()),
                  "the previous file is unchanged; see ntpd's words below",
                  last_lines(text.empty() ? result->err + result->out : text, 15));
    }
    // Both open their sockets ("Listen normally on", "Listen and drop on") once the config is
    // read; ntpsec also says when it began to read it, classic ntpd (4.2.8) does not.
    bool parsed =
        text.find("Listen") != std::string::npos &&
        (daemon == Daemon::ntp || text.find("readconfig: parsing file") != std::string::npos);
    if (!parsed) continue;
    auto errors = ntpd_config_errors(text);
    if (!errors.empty()) {
      std::string details;
      for (const auto& line : errors)
        details += line + '\n';
      return fail(
          ExitCode::check_failed, "ntpd reports errors in the new config",
          fmt::format("{} error line{} in its log", errors.size(), errors.size() == 1 ? "" : "s"),
          "the previous file is unchanged; please report this with the lines below", details);
    }
    return fmt::format(
        "{} read it without a config error (a copy in {}, where AppArmor lets ntpd read it; run "
        "for {} ms in a throwaway network namespace)",
        program, files->config, window.count());
  }
  return fail(ExitCode::unavailable, "cannot tell whether ntpd accepts the new config",
              fmt::format("its log does not show it finished reading {} within {} ms", shown,
                          kNtpdCheckSlowWindow.count()),
              "the previous file is unchanged; run again when the machine is less busy",
              last_lines(text, 15));
}

}  // namespace pooljoin

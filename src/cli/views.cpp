#include "views.hpp"

namespace pooljoin::cli {
namespace {

nlohmann::json addresses_json(const std::vector<LocalAddress>& addresses, bool with_reason) {
  auto list = nlohmann::json::array();
  for (const auto& a : addresses) {
    nlohmann::json entry = {{"address", a.address.to_string()},
                            {"family", to_string(a.address.family())},
                            {"interface", a.interface}};
    if (with_reason) entry["reason"] = a.excluded_because;
    list.push_back(std::move(entry));
  }
  return list;
}

}  // namespace

nlohmann::json to_json(const SystemFacts& facts) {
  return {
      {"distro",
       {{"id", facts.distro.id},
        {"id_like", facts.distro.id_like},
        {"version_id", facts.distro.version_id},
        {"pretty_name", facts.distro.pretty_name},
        {"family", to_string(facts.distro.family)}}},
      {"package_manager",
       facts.package_manager.empty() ? nlohmann::json() : nlohmann::json(facts.package_manager)},
      {"init_system", to_string(facts.init)},
      {"virtualization", facts.virtualization},
      {"daemons",
       {{"installed", facts.daemons_installed},
        {"running", facts.daemons_running},
        {"recommended",
         facts.recommended ? nlohmann::json(to_string(*facts.recommended)) : nlohmann::json()}}},
      {"addresses", addresses_json(facts.addresses, false)},
      {"excluded_addresses", addresses_json(facts.excluded, true)},
  };
}

nlohmann::json to_json(const std::vector<Command>& commands) {
  auto list = nlohmann::json::array();
  for (const auto& command : commands)
    list.push_back(command.argv);
  return list;
}

nlohmann::json to_json(const InstallPlan& plan) {
  return {{"daemon", to_string(plan.spec.daemon)},
          {"package", plan.spec.package},
          {"service", plan.spec.service},
          {"config_path", plan.spec.config_path},
          {"already_installed", plan.already_installed},
          {"commands", to_json(plan.commands)},
          {"removes", plan.removes},
          {"notes", plan.notes}};
}

}  // namespace pooljoin::cli

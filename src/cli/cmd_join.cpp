// SPDX-License-Identifier: Apache-2.0
// `pooljoin join`: the guide end to end, composed of the steps' own plan and apply calls. The
// facts are gathered once and each step's outcome is handed to the next in memory (the daemons
// installed, the servers selected, whether the config changed); what is done and verified is
// left as it is. Each step's part is defined with its subcommand (join_<step>); JoinDriver
// records, asks and reports.
#include "commands.hpp"
#include "join_driver.hpp"
#include "steps.hpp"

namespace pooljoin::cli {
namespace {

int run_join(Context& ctx, const JoinOptions& options) {
  JoinRun j(ctx, options);
  j.driver.resume_words() = resume_words(options);
  try {
    j.driver.step("detect", [&] {
      j.facts = detect(ctx.fs, ctx.effects.runner);
      show_facts(ctx, j.facts);
      warn_facts(ctx, j.facts);
      return StepOutcome{"done", summary(j.facts), to_json(j.facts)};
    });
    j.driver.step("install-ntp", [&] { return join_install(j); });
    j.driver.step("resolve", [&] { return join_resolve(j); });
    j.driver.step("gen-conf", [&] { return join_gen_conf(j); });
    j.driver.step("restart", [&] { return join_restart(j); });
    j.driver.step("firewall", [&] { return join_firewall(j); });
    j.driver.step("check", [&] { return join_check(j); });
    j.driver.step("web-redirect", [&] { return join_web_redirect(j); });
    j.driver.step("submit", [&] { return join_submit(j); });
  } catch (const Stop& stop) {
    return j.driver.finish(stop);
  } catch (const Fatal& fatal) {
    j.driver.finish(fatal);
    throw;
  }
  return j.driver.finish();
}

}  // namespace

Action add_join(CLI::App& sub) {
  auto options = std::make_shared<JoinOptions>();
  add_join_options(sub, *options);
  return [options](Context& ctx) {
    begin_change(ctx, "join");
    return run_join(ctx, *options);
  };
}

}  // namespace pooljoin::cli

// SPDX-License-Identifier: Apache-2.0
#include "completion.hpp"

#include <catch2/catch.hpp>

using namespace pooljoin::cli;

namespace {

// A command line shaped like pooljoin's: global options, a subcommand with every kind of value.
struct Fixture {
  CLI::App app{"test", "tool"};
  std::string text;
  std::vector<std::string> list;
  int count = 0;
  bool flag = false;

  Fixture() {
    app.add_option("--root", text, "Operate on DIR")->type_name("DIR");
    app.add_flag("-v,--verbose", count, "Say more");
    app.add_flag("--hidden-flag", flag, "Not shown")->group("");
    CLI::App* sub = app.add_subcommand("gen", "Generate it");
    sub->add_option("--daemon", text, "Whose config")->check(CLI::IsMember({"auto", "chrony"}));
    sub->add_option("--server", list, "An upstream server")->type_name("ADDR");
    sub->add_option("--output", text, "Write to FILE, or - for stdout")->type_name("FILE|-");
    sub->add_option("--lint", text, "Check FILE")->expected(0, 1)->type_name("[FILE]");
    sub->add_option("--limit", count, "How many")->check(CLI::Range(1, 9));
    sub->add_option("shell", text, "The shell")->check(CLI::IsMember({"bash", "zsh"}));
  }
};

const CompletionOption& option(const std::vector<CompletionOption>& options,
                               const std::string& name) {
  for (const auto& o : options) {
    if (o.main_name() == name) return o;
  }
  FAIL("no option " << name);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("the model: values, choices, repetition, hidden options", "[completion]") {
  Fixture f;
  CompletionModel model = completion_model(f.app);
  CHECK(model.program == "tool");
  REQUIRE(model.commands.size() == 1);
  const auto& gen = model.commands.front();
  CHECK(gen.name == "gen");
  CHECK(gen.description == "Generate it");

  const auto& root = option(model.global_options, "--root");
  CHECK(root.value == ValueKind::directory);
  CHECK(root.value_name == "DIR");
  const auto& verbose = option(model.global_options, "--verbose");
  CHECK(verbose.short_names == std::vector<std::string>{"v"});
  CHECK(verbose.value == ValueKind::none);
  CHECK(verbose.repeatable);  // a counted flag
  for (const auto& o : model.global_options)
    CHECK(o.main_name() != "--hidden-flag");

  const auto& daemon = option(gen.options, "--daemon");
  CHECK(daemon.value == ValueKind::choice);
  CHECK(daemon.choices == std::vector<std::string>{"auto", "chrony"});
  CHECK(daemon.value_name == "DAEMON");  // not CLI11's TEXT
  CHECK_FALSE(daemon.repeatable);
  const auto& server = option(gen.options, "--server");
  CHECK(server.value == ValueKind::text);
  CHECK(server.repeatable);
  CHECK(option(gen.options, "--output").value == ValueKind::file);
  const auto& lint = option(gen.options, "--lint");
  CHECK(lint.value == ValueKind::file);
  CHECK(lint.value_optional);
  CHECK(lint.value_name == "FILE");
  const auto& limit = option(gen.options, "--limit");
  CHECK(limit.value == ValueKind::text);  // a Range is not a set of choices
  CHECK(limit.value_name == "LIMIT");

  REQUIRE(gen.operands.size() == 1);
  CHECK(gen.operands.front().value == ValueKind::choice);
  CHECK(gen.operands.front().choices == std::vector<std::string>{"bash", "zsh"});
}

TEST_CASE("descriptions are quoted for each shell", "[completion]") {
  Fixture f;
  f.app.get_subcommand("gen")->add_flag("--quote", f.flag, "The pool's [site]: a \\ test");
  CompletionModel model = completion_model(f.app);
  std::string zsh = zsh_completion(model);
  CHECK(zsh.find(R"('--quote[The pool'\''s \[site\]\: a \\ test]')") != std::string::npos);
  std::string fish = fish_completion(model);
  CHECK(fish.find(R"(-l quote -d 'The pool\'s [site]: a \\ test')") != std::string::npos);
  // bash shows no descriptions; the option is offered in its subcommand only.
  std::string bash = bash_completion(model);
  CHECK(bash.find("gen) echo \"-h --help --daemon --server --output --lint --limit --quote") !=
        std::string::npos);
}

TEST_CASE("a name that would need quoting is refused, not written", "[completion]") {
  CLI::App app{"test", "tool"};
  std::string value;
  app.add_subcommand("bad$(name)", "A subcommand the shell would expand");
  CHECK_THROWS_WITH(bash_completion(completion_model(app)),
                    Catch::Contains("not a plain word: 'bad$(name)'"));
  CLI::App choices{"test", "tool"};
  choices.add_option("--mode", value, "")->check(CLI::IsMember({"a;b", "c"}));
  CHECK_THROWS_WITH(fish_completion(completion_model(choices)),
                    Catch::Contains("not a plain word: 'a;b'"));
}

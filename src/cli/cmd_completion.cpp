// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
#include "completion.hpp"
#include <nlohmann/json.hpp>

namespace pooljoin::cli {

Action add_completion(CLI::App& sub) {
  auto shell = std::make_shared<std::string>();
  sub.add_option("shell", *shell, "The shell to write the completion script for")
      ->type_name("SHELL")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  sub.footer(
      "The packages install the scripts where each shell looks for them. To try one without "
      "installing:\n"
      "  bash: source <(pooljoin completion bash)\n"
      "  zsh:  pooljoin completion zsh >~/.zfunc/_pooljoin (a directory in $fpath), then compinit\n"
      "  fish: pooljoin completion fish | source");
  // The root, with every subcommand, is complete by the time the action runs.
  CLI::App* root = &sub;
  while (root->get_parent())
    root = root->get_parent();
  return [shell, root](Context& ctx) {
    CompletionModel model = completion_model(*root);
    std::string script = *shell == "bash"  ? bash_completion(model)
                         : *shell == "zsh" ? zsh_completion(model)
                                           : fish_completion(model);
    if (ctx.console.json())
      ctx.console.emit_json({{"shell", *shell}, {"script", script}});
    else
      ctx.console.print(script);
    return to_int(ExitCode::ok);
  };
}

}  // namespace pooljoin::cli

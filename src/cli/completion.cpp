// SPDX-License-Identifier: Apache-2.0
#include "completion.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

namespace pooljoin::cli {
namespace {

constexpr const char* kRegenerate =
    "Regenerate with `cmake --build --preset dev --target completions`.";

// Everything that appears unquoted in a script (names, choices) is a plain word; anything else
// would need quoting rules of three shells, so it is a bug in the command line's definition.
const std::string& plain_word(const std::string& word) {
  bool ok = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/' || c == '+';
  });
  if (!ok) throw std::logic_error("completion: not a plain word: '" + word + "'");
  return word;
}

std::string joined(const std::vector<std::string>& words, std::string_view separator = " ") {
  std::string text;
  for (const auto& word : words) {
    if (!text.empty()) text += separator;
    text += plain_word(word);
  }
  return text;
}

// CLI11 has no count of an option's validators: it throws past the last one.
std::vector<CLI::Validator*> validators_of(CLI::Option& option) {
  std::vector<CLI::Validator*> validators;
  try {
    for (int i = 0;; ++i)
      validators.push_back(option.get_validator(i));
  } catch (const CLI::OptionNotFound&) {
  }
  return validators;
}

// IsMember's description is its set, "{auto,ntpsec,ntp,chrony}".
std::vector<std::string> choices_of(CLI::Option& option) {
  for (CLI::Validator* validator : validators_of(option)) {
    std::string text = validator->get_description();
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') continue;
    std::vector<std::string> choices;
    std::string current;
    for (char c : text.substr(1, text.size() - 2)) {
      if (c == ',') {
        choices.push_back(std::move(current));
        current.clear();
      } else {
        current += c;
      }
    }
    choices.push_back(std::move(current));
    return choices;
  }
  return {};
}

// The type name as given to type_name(), without the validators' descriptions CLI11 appends.
std::string base_type_name(CLI::Option& option) {
  std::string name = option.get_type_name();
  std::vector<std::string> suffixes;
  for (CLI::Validator* validator : validators_of(option)) {
    std::string text = validator->get_description();
    if (!text.empty()) suffixes.push_back(":" + text);
  }
  for (auto it = suffixes.rbegin(); it != suffixes.rend(); ++it) {
    if (name.ends_with(*it)) name.resize(name.size() - it->size());
  }
  if (name.size() > 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  return name;
}

ValueKind kind_of(const std::string& type_name, const std::vector<std::string>& choices) {
  if (!choices.empty()) return ValueKind::choice;
  if (type_name.find("DIR") != std::string::npos) return ValueKind::directory;
  if (type_name.find("FILE") != std::string::npos) return ValueKind::file;
  return ValueKind::text;
}

// CLI11's own type names say nothing to a user: the option's name says more (--daemon: DAEMON).
std::string value_name(const std::string& type_name, const CLI::Option& option) {
  static const std::vector<std::string> generic = {"", "TEXT", "INT", "UINT", "FLOAT", "NUMBER"};
  if (std::find(generic.begin(), generic.end(), type_name) == generic.end()) return type_name;
  std::string name =
      option.get_lnames().empty() ? option.get_name(true) : option.get_lnames().front();
  for (char& c : name)
    c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

bool repeatable(const CLI::Option& option) {
  return option.get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll ||
         option.get_expected_max() > 1;
}

void add_options(CLI::App& app, std::vector<CompletionOption>& options,
                 std::vector<CompletionOperand>* operands) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    std::vector<std::string> choices = choices_of(*option);
    std::string type_name = base_type_name(*option);
    if (!option->nonpositional()) {
      if (!operands) continue;
      CompletionOperand operand;
      operand.value_name = value_name(type_name, *option);
      operand.value = kind_of(type_name, choices);
      operand.repeatable = option->get_expected_max() > 1;
      operand.choices = std::move(choices);
      operands->push_back(std::move(operand));
      continue;
    }
    CompletionOption entry;
    entry.short_names = option->get_snames();
    entry.long_names = option->get_lnames();
    entry.description = option->get_description();
    entry.repeatable = repeatable(*option);
    if (option->get_items_expected_max() > 0) {
      entry.value = kind_of(type_name, choices);
      entry.value_optional = option->get_items_expected_min() == 0;
      entry.value_name = value_name(type_name, *option);
      entry.choices = std::move(choices);
    }
    options.push_back(std::move(entry));
  }
}

bool shares_a_name(const CompletionOption& a, const CompletionOption& b) {
  auto names = b.all_names();
  for (const auto& name : a.all_names()) {
    if (std::find(names.begin(), names.end(), name) != names.end()) return true;
  }
  return false;
}

// The global options that are not shadowed by one of the subcommand's own (its -h/--help).
std::vector<const CompletionOption*> globals_for(const CompletionModel& model,
                                                 const CompletionCommand& command) {
  std::vector<const CompletionOption*> globals;
  for (const auto& global : model.global_options) {
    bool shadowed =
        std::any_of(command.options.begin(), command.options.end(),
                    [&](const CompletionOption& own) { return shares_a_name(own, global); });
    if (!shadowed) globals.push_back(&global);
  }
  return globals;
}

std::string header(std::string_view comment, std::string_view shell, std::string_view program) {
  return fmt::format(
      "{0} {1} completion for {2}. Generated from {2}'s command line by `{2} completion {1}`;\n"
      "{0} do not edit. {3}\n",
      comment, shell, program, kRegenerate);
}

// ---------------------------------------------------------------------------------------------
// bash

// How the bash script describes a value: "none", "text", "file", "dir", "choice WORD...", with
// "optional-" in front when the value may be left out.
std::string bash_kind(ValueKind kind, const std::vector<std::string>& choices, bool optional) {
  std::string word;
  switch (kind) {
    case ValueKind::none:
      return "none";
    case ValueKind::text:
      word = "text";
      break;
    case ValueKind::file:
      word = "file";
      break;
    case ValueKind::directory:
      word = "dir";
      break;
    case ValueKind::choice:
      word = "choice " + joined(choices);
      break;
  }
  return optional ? "optional-" + word : word;
}

std::string bash_names(const std::vector<const CompletionOption*>& options) {
  std::vector<std::string> names;
  for (const auto* option : options) {
    for (auto& name : option->all_names())
      names.push_back(std::move(name));
  }
  return joined(names);
}

}  // namespace

std::string CompletionOption::main_name() const {
  return long_names.empty() ? "-" + short_names.front() : "--" + long_names.front();
}

std::vector<std::string> CompletionOption::all_names() const {
  std::vector<std::string> names;
  for (const auto& name : short_names)
    names.push_back("-" + name);
  for (const auto& name : long_names)
    names.push_back("--" + name);
  return names;
}

CompletionModel completion_model(CLI::App& app) {
  CompletionModel model;
  model.program = app.get_name();
  add_options(app, model.global_options, nullptr);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    CompletionCommand command;
    command.name = sub->get_name();
    command.description = sub->get_description();
    add_options(*sub, command.options, &command.operands);
    model.commands.push_back(std::move(command));
  }
  return model;
}

std::string bash_completion(const CompletionModel& model) {
  const std::string& program = plain_word(model.program);
  std::string fn = "_" + program;
  std::replace(fn.begin(), fn.end(), '-', '_');

  std::vector<std::string> command_names;
  for (const auto& command : model.commands)
    command_names.push_back(command.name);
  std::vector<const CompletionOption*> all_globals;
  for (const auto& option : model.global_options)
    all_globals.push_back(&option);

  std::string options_cases;
  std::string value_cases;
  std::string operand_cases;
  for (const auto& command : model.commands) {
    std::vector<const CompletionOption*> options;
    for (const auto& option : command.options)
      options.push_back(&option);
    for (const auto* global : globals_for(model, command))
      options.push_back(global);
    options_cases +=
        fmt::format("    {}) echo \"{}\" ;;\n", plain_word(command.name), bash_names(options));
    for (const auto& option : command.options) {
      if (option.value == ValueKind::none) continue;
      for (const auto& name : option.all_names()) {
        value_cases += fmt::format("    \"{} {}\") echo \"{}\" ;;\n", command.name, name,
                                   bash_kind(option.value, option.choices, option.value_optional));
      }
    }
    if (!command.operands.empty()) {
      const auto& operand = command.operands.front();
      operand_cases += fmt::format("    {}) echo \"{}\" ;;\n", command.name,
                                   bash_kind(operand.value, operand.choices, false));
    }
  }
  for (const auto& option : model.global_options) {
    if (option.value == ValueKind::none) continue;
    for (const auto& name : option.all_names()) {
      value_cases += fmt::format("    *\" {}\") echo \"{}\" ;;\n", name,
                                 bash_kind(option.value, option.choices, option.value_optional));
    }
  }

  std::string out = header("#", "bash", program);
  out += fmt::format(R"SH(
# {0}_options SUBCOMMAND: the options valid there, the subcommand's and the global ones.
{0}_options() {{
  case $1 in
{1}    *) echo "{2}" ;;
  esac
}}

# {0}_value SUBCOMMAND OPTION: what the option's value is: none (a flag), text, file, dir or
# "choice WORD...", with "optional-" in front when the value may be left out.
{0}_value() {{
  case "$1 $2" in
{3}    *) echo none ;;
  esac
}}

# {0}_operand SUBCOMMAND: what the subcommand's operands are.
{0}_operand() {{
  case $1 in
{4}    *) echo none ;;
  esac
}}

# {0}_offer KIND WORD: fills COMPREPLY with the values of KIND that start with WORD.
{0}_offer() {{
  case $1 in
    file)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$2")
      ;;
    dir)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$2")
      ;;
    choice\ *) mapfile -t COMPREPLY < <(compgen -W "${{1#choice }}" -- "$2") ;;
    *) COMPREPLY=() ;;
  esac
}}

{0}() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD - 1]}}
  local sub="" word kind i
  COMPREPLY=()
  # The subcommand: the first word that is neither an option nor an option's value. bash splits
  # `--option=value` into three words, "--option", "=" and "value".
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${{COMP_WORDS[i]}}
    [[ $word == -- ]] && break
    if [[ $word == -* ]]; then
      if [[ ${{COMP_WORDS[i + 1]:-}} == = ]]; then
        ((i += 2))
        continue
      fi
      kind=$({0}_value "$sub" "$word")
      case $kind in
        none) ;;
        optional-*) [[ $((i + 1)) -lt $COMP_CWORD && ${{COMP_WORDS[i + 1]}} != -* ]] && ((i++)) ;;
        *) ((i++)) ;;
      esac
    elif [[ -z $sub ]]; then
      sub=$word
    fi
  done

  # The value of an option: `--option VALUE`, `--option=VALUE`.
  local option="" value=$cur
  if [[ $cur == = && $prev == -* ]]; then
    option=$prev
    value=""
  elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
    option=${{COMP_WORDS[COMP_CWORD - 2]}}
  elif [[ $prev == -* ]]; then
    option=$prev
  fi
  if [[ -n $option ]]; then
    kind=$({0}_value "$sub" "$option")
    if [[ $kind == optional-* ]]; then
      if [[ $value == -* ]]; then kind=none; else kind=${{kind#optional-}}; fi
    fi
    if [[ $kind != none ]]; then
      {0}_offer "$kind" "$value"
      return 0
    fi
  fi

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$({0}_options "$sub")" -- "$cur")
  elif [[ -z $sub ]]; then
    mapfile -t COMPREPLY < <(compgen -W "{5}" -- "$cur")
  else
    {0}_offer "$({0}_operand "$sub")" "$cur"
  fi
  return 0
}}

complete -F {0} {6}
)SH",
                     fn, options_cases, bash_names(all_globals), value_cases, operand_cases,
                     joined(command_names), program);
  return out;
}

// ---------------------------------------------------------------------------------------------
// zsh

namespace {

// A word in single quotes.
std::string zsh_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Text inside an _arguments spec: brackets and colons are its syntax.
std::string zsh_spec_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '[' || c == ']' || c == ':') out += '\\';
    out += c;
  }
  return out;
}

std::string zsh_action(ValueKind kind, const std::vector<std::string>& choices) {
  switch (kind) {
    case ValueKind::file:
      return "_files";
    case ValueKind::directory:
      return "_files -/";
    case ValueKind::choice:
      return "(" + joined(choices) + ")";
    case ValueKind::none:
    case ValueKind::text:
      break;
  }
  return " ";
}

// One option as _arguments specs: '(-y --yes)'{-y,--yes}'[Never prompt]'.
std::string zsh_option_spec(const CompletionOption& option) {
  std::vector<std::string> names = option.all_names();
  std::string prefix;
  bool exits = std::any_of(names.begin(), names.end(), [](const std::string& name) {
    return name == "--help" || name == "--version";
  });
  if (exits)
    prefix = "(- *)";
  else if (option.repeatable)
    prefix = "*";
  else if (names.size() > 1)
    prefix = "(" + joined(names) + ")";

  std::string suffix = "[" + zsh_spec_text(option.description) + "]";
  if (option.value != ValueKind::none) {
    suffix += option.value_optional ? "::" : ":";
    suffix += zsh_spec_text(option.value_name) + ":" + zsh_action(option.value, option.choices);
  }

  auto with_value_form = [&](const std::string& name) {
    if (option.value == ValueKind::none) return name;
    return name + (name.starts_with("--") ? "=" : "+");
  };
  if (names.size() == 1) return zsh_quoted(prefix + with_value_form(names.front()) + suffix);
  std::string braces;
  for (const auto& name : names)
    braces += (braces.empty() ? "" : ",") + with_value_form(name);
  return zsh_quoted(prefix) + "{" + braces + "}" + zsh_quoted(suffix);
}

std::string zsh_operand_spec(const CompletionOperand& operand) {
  return zsh_quoted((operand.repeatable ? "*:" : ":") + zsh_spec_text(operand.value_name) + ":" +
                    zsh_action(operand.value, operand.choices));
}

}  // namespace

std::string zsh_completion(const CompletionModel& model) {
  const std::string& program = plain_word(model.program);
  std::string fn = "_" + program;
  std::replace(fn.begin(), fn.end(), '-', '_');

  // $global holds the global options that no subcommand shadows (all but -h/--help): the same
  // specs in every context. The others are written out where they apply.
  auto shadowed_somewhere = [&](const CompletionOption& global) {
    return std::any_of(model.commands.begin(), model.commands.end(), [&](const auto& command) {
      return std::any_of(command.options.begin(), command.options.end(),
                         [&](const CompletionOption& own) { return shares_a_name(own, global); });
    });
  };
  std::string globals;
  std::vector<std::string> root_specs;
  for (const auto& option : model.global_options) {
    if (shadowed_somewhere(option))
      root_specs.push_back(zsh_option_spec(option));
    else
      globals += "    " + zsh_option_spec(option) + "\n";
  }

  std::string commands;
  for (const auto& command : model.commands) {
    commands +=
        "        " + zsh_quoted(plain_word(command.name) + ":" + command.description) + "\n";
  }

  auto arguments = [](std::string_view indent, std::string_view flags,
                      const std::vector<std::string>& specs, std::string_view tail) {
    std::string text = fmt::format("{}_arguments {} $global", indent, flags);
    for (const auto& spec : specs)
      text += fmt::format(" \\\n{}  {}", indent, spec);
    return text + std::string(tail);
  };

  std::string cases;
  for (const auto& command : model.commands) {
    std::vector<std::string> specs;
    for (const auto& option : command.options)
      specs.push_back(zsh_option_spec(option));
    for (const auto* global : globals_for(model, command)) {
      if (shadowed_somewhere(*global)) specs.push_back(zsh_option_spec(*global));
    }
    for (const auto& operand : command.operands)
      specs.push_back(zsh_operand_spec(operand));
    cases += fmt::format("        {})\n{}\n          ;;\n", command.name,
                         arguments("          ", "-S", specs, " && ret=0"));
  }
  root_specs.push_back("'(-): :->command'");
  root_specs.push_back("'(-)*:: :->argument'");

  std::string out = "#compdef " + program + "\n";
  out += header("#", "zsh", program);
  out += fmt::format(R"SH(
{0}() {{
  local curcontext=$curcontext state state_descr line ret=1
  typeset -A opt_args
  local -a global=(
{1}  )

{2}

  case $state in
    command)
      local -a commands=(
{3}      )
      _describe -t commands '{4} subcommand' commands && ret=0
      ;;
    argument)
      curcontext=${{curcontext%:*:*}}:{4}-$words[1]:
      case $words[1] in
{5}      esac
      ;;
  esac
  return ret
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  {0} "$@"
else
  compdef {0} {4}
fi
)SH",
                     fn, globals, arguments("  ", "-C -S", root_specs, " && ret=0"), commands,
                     program, cases);
  return out;
}

// ---------------------------------------------------------------------------------------------
// fish

namespace {

std::string fish_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string fish_value_args(ValueKind kind, const std::vector<std::string>& choices) {
  switch (kind) {
    case ValueKind::file:
      return " -r -F";
    case ValueKind::directory:
      return " -x -a '(__fish_complete_directories (commandline -ct) \"\")'";
    case ValueKind::choice:
      return " -x -a " + fish_quoted(joined(choices));
    case ValueKind::text:
      return " -x";
    case ValueKind::none:
      break;
  }
  return "";
}

std::string fish_option(const std::string& program, const std::string& condition,
                        const CompletionOption& option) {
  std::string line = "complete -c " + program;
  if (!condition.empty()) line += " -n " + fish_quoted(condition);
  for (const auto& name : option.short_names)
    line += " -s " + plain_word(name);
  for (const auto& name : option.long_names)
    line += " -l " + plain_word(name);
  // fish has no optional value in the next word: such an option is completed as a flag, and
  // its value as an operand right after it (below).
  if (!option.value_optional) line += fish_value_args(option.value, option.choices);
  return line + " -d " + fish_quoted(option.description) + "\n";
}

std::string fish_operand(const std::string& program, const std::string& condition, ValueKind kind,
                         const std::vector<std::string>& choices) {
  std::string line = "complete -c " + program + " -n " + fish_quoted(condition);
  switch (kind) {
    case ValueKind::file:
      return line + " -F\n";
    case ValueKind::directory:
      return line + " -a '(__fish_complete_directories (commandline -ct) \"\")'\n";
    case ValueKind::choice:
      return line + " -a " + fish_quoted(joined(choices)) + "\n";
    case ValueKind::text:
    case ValueKind::none:
      break;
  }
  return "";
}

}  // namespace

std::string fish_completion(const CompletionModel& model) {
  const std::string& program = plain_word(model.program);
  std::string fn = "__" + program;
  std::replace(fn.begin(), fn.end(), '-', '_');

  std::vector<std::string> global_value_options;
  for (const auto& option : model.global_options) {
    if (option.value == ValueKind::none || option.value_optional) continue;
    for (const auto& name : option.all_names())
      global_value_options.push_back(name);
  }

  std::string out = header("#", "fish", program);
  out +=
      fmt::format(R"SH(
# The subcommand on the command line: the first word that is neither an option nor the value of
# a global option.
function {0}_subcommand
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for word in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case {1}
                set skip 1
            case '-*'
            case '*'
                echo $word
                return 0
        end
    end
    return 1
end

function {0}_needs_subcommand
    not {0}_subcommand >/dev/null
end

# {0}_using SUBCOMMAND [OPTION]: the subcommand is SUBCOMMAND (and the word before the cursor
# is OPTION).
function {0}_using
    set -l sub ({0}_subcommand)
    or return 1
    test "$sub" = $argv[1]
    or return 1
    if set -q argv[2]
        set -l words (commandline -opc)
        test "$words[-1]" = $argv[2]
    end
end

complete -c {2} -f
)SH",
                  fn, global_value_options.empty() ? "''" : joined(global_value_options), program);

  out += "\n# Global options, before or after the subcommand.\n";
  for (const auto& option : model.global_options)
    out += fish_option(program, "", option);

  out += "\n# Subcommands.\n";
  for (const auto& command : model.commands) {
    out += fmt::format("complete -c {} -n {} -a {} -d {}\n", program,
                       fish_quoted(fn + "_needs_subcommand"), plain_word(command.name),
                       fish_quoted(command.description));
  }

  for (const auto& command : model.commands) {
    std::string lines;
    std::string using_it = fn + "_using " + command.name;
    for (const auto& option : command.options) {
      bool global_too = std::any_of(
          model.global_options.begin(), model.global_options.end(),
          [&](const CompletionOption& global) { return shares_a_name(option, global); });
      if (!global_too) lines += fish_option(program, using_it, option);
      if (option.value_optional) {
        lines += fish_operand(program, using_it + " " + option.main_name(), option.value,
                              option.choices);
      }
    }
    for (const auto& operand : command.operands)
      lines += fish_operand(program, using_it, operand.value, operand.choices);
    if (!lines.empty()) out += "\n# " + command.name + "\n" + lines;
  }
  return out;
}

}  // namespace pooljoin::cli

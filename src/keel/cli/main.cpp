// cli/main.cpp — the keel command: global options, the registered verbs, and the
// mapping of every outcome onto the three documented exit codes. The only file
// that includes CLI11.
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>

#include <CLI/CLI.hpp>

#include "common.hpp"

#ifndef KEEL_VERSION
#define KEEL_VERSION "0.0.0"
#endif

namespace keel::cli {
namespace {

constexpr const char* kExitCodes =
    "Exit codes: 0 ok; 1 the check or operation failed; 2 usage or configuration error.";

constexpr const char* kGlobalsHint =
    "Global options (before or after the verb): --config FILE, --url URL, --json.";

constexpr const char* kConfigHelp =
    "Configuration, lowest to highest precedence: built-in default\n"
    "(sqlite:///./data/app.db), the `database:` section of --config FILE (default\n"
    "./keel.yaml when present), the DATABASE_URL environment variable, --url.";

void add_args(CLI::App& app, const std::vector<Arg>& args) {
  for (const Arg& arg : args) {
    CLI::Option* option = std::visit(
        [&](auto* target) -> CLI::Option* {
          if constexpr (std::is_same_v<decltype(target), bool*>)
            return app.add_flag(arg.names, *target, arg.help);
          else
            return app.add_option(arg.names, *target, arg.help);
        },
        arg.target);
    if (arg.required) option->required();
    if (!arg.value_name.empty()) option->type_name(arg.value_name);
  }
}

// Builds the CLI11 subcommand for `verb` under `parent`, remembering which Verb it is.
void add_verb(CLI::App& parent, const Verb& verb, std::map<const CLI::App*, const Verb*>& verbs) {
  CLI::App* sub = parent.add_subcommand(verb.name, verb.summary);
  // Unknown options fall through to the parent, which is how --url, --config and
  // --json are accepted after the verb as well as before it.
  sub->fallthrough();
  sub->group("Verbs");
  std::string footer = verb.details.empty() ? "" : verb.details + "\n\n";
  sub->footer(footer + kGlobalsHint + "\n" + kExitCodes);
  add_args(*sub, verb.args);
  for (const Verb& child : verb.subverbs) add_verb(*sub, child, verbs);
  if (!verb.subverbs.empty()) sub->require_subcommand(0, 1);
  verbs[sub] = &verb;
}

// Maps CLI11's outcome to ours: help and --version → 0 on stdout, anything else → 2.
int parse_error_exit(const CLI::App& app, const CLI::ParseError& error) {
  std::ostringstream out, err;
  int code = app.exit(error, out, err);
  std::cout << scrub_passwords(out.str());
  if (code == 0) return kExitOk;
  // A word where a verb belongs is far more often a typo'd verb than a stray argument.
  auto extras = app.remaining();
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr && app.get_subcommands().empty() &&
      !extras.empty() && !extras.front().empty() && extras.front().front() != '-') {
    std::string known;
    for (const CLI::App* sub : app.get_subcommands({})) known += " " + sub->get_name();
    print_error("unknown verb '" + extras.front() + "' (verbs:" + known +
                ")\nRun 'keel --help' for more information.");
    return kExitUsage;
  }
  std::string message = err.str();
  while (!message.empty() && message.back() == '\n') message.pop_back();
  print_error(message);
  return kExitUsage;
}

int run(int argc, char** argv) {
  Globals globals;
  CLI::App app{"keel — one database toolkit over SQLite and PostgreSQL", "keel"};
  app.footer(std::string(kConfigHelp) + "\n\n" + kExitCodes);
  app.get_formatter()->label("SUBCOMMAND", "VERB");
  app.set_version_flag("--version", std::string("keel ") + KEEL_VERSION);
  // No default is ever captured into the help text: a DATABASE_URL or --url with a
  // password must not show up there.
  app.add_option("--config", globals.config_file,
                 "YAML file with a `database:` section (default ./keel.yaml if present)")
      ->type_name("FILE");
  app.add_option("--url", globals.url,
                 "Database URL; overrides the file and DATABASE_URL")
      ->type_name("URL");
  app.add_flag("--json", globals.json, "Machine-readable output on stdout");
  app.require_subcommand(0, 1);

  std::vector<Verb> registered = registered_verbs();
  std::map<const CLI::App*, const Verb*> verbs;
  for (const Verb& verb : registered) add_verb(app, verb, verbs);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return parse_error_exit(app, error);
  }

  // Descend to the innermost chosen verb.
  const CLI::App* chosen = &app;
  while (true) {
    auto subs = chosen->get_subcommands();
    if (subs.empty()) break;
    chosen = subs.front();
  }
  auto it = verbs.find(chosen);
  if (it == verbs.end() || !it->second->run) {
    std::cerr << scrub_passwords(chosen->help());
    if (chosen == &app) print_error("no verb given");
    else print_error("'" + chosen->get_name() + "' needs one of its verbs");
    return kExitUsage;
  }
  return it->second->run(globals);
}

}  // namespace
}  // namespace keel::cli

int main(int argc, char** argv) {
  try {
    return keel::cli::run(argc, argv);
  } catch (const std::exception& e) {
    keel::cli::print_error(e.what());
    return keel::cli::kExitFailed;
  }
}

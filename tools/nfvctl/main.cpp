// nfvctl: a thin command-line client for nfv-switch's JSON-RPC socket
// (docs/switch-rpc.md) and, for the vnf/vm verbs, the `nfv up` launcher's
// (docs/topology.md). Each verb calls one method and prints its result as a
// table, or as JSON with --json. The verbs are listed in verbs.cpp.
//
// Exit codes: 0 ok, 1 the program answered with an error (or the call failed
// after connecting), 2 bad command line, 3 cannot connect to the socket.
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>

#include "nfv/control/jsonrpc.hpp"
#include "printers.hpp"
#include "verbs.hpp"

namespace {

using nfvctl::kExitCannotConnect;
using nfvctl::kExitOk;
using nfvctl::kExitServerError;
using nfvctl::kExitUsage;

constexpr const char* kDefaultSocket = "/run/nfv/switch.sock";
constexpr const char* kDefaultNfvSocket = "/run/nfv/nfv.sock";  // `nfv up --socket`'s default

struct GlobalOptions {
  std::string socket = kDefaultSocket;
  std::string nfv_socket = kDefaultNfvSocket;
  bool json = false;
  double timeout_s = 5.0;
};

// A verb's subcommand, found again after parsing.
struct Command {
  CLI::App* app;
  const nfvctl::Verb* verb;
};

std::vector<Command> add_verbs(CLI::App& app, nfvctl::VerbOptions& options) {
  std::map<std::string, CLI::App*> groups;
  std::vector<Command> commands;
  for (const nfvctl::Verb& verb : nfvctl::verb_table()) {
    CLI::App* parent = &app;
    std::string group_path;
    for (size_t i = 0; i + 1 < verb.words.size(); ++i) {
      group_path += verb.words[i] + " ";
      auto& group = groups[group_path];
      if (group == nullptr) {
        group = parent->add_subcommand(verb.words[i], nfvctl::group_help(verb.words[i]));
        group->require_subcommand(1);
      }
      parent = group;
    }
    CLI::App* cmd = parent->add_subcommand(verb.words.back(), verb.help);
    if (verb.add_options != nullptr) verb.add_options(*cmd, options);
    commands.push_back(Command{cmd, &verb});
  }
  return commands;
}

std::string connect_hint(nfv::Errc code, nfvctl::Target target) {
  if (target == nfvctl::Target::launcher_socket) {
    return code == nfv::Errc::not_found || code == nfv::Errc::disconnected
               ? "is `nfv up` running? (--nfv-socket or NFV_SOCKET select another socket)"
               : "check the socket path and your permissions on it";
  }
  switch (code) {
    case nfv::Errc::not_found:
    case nfv::Errc::disconnected:
      return "is nfv-switch running? (--socket or NFV_SWITCH_SOCKET select another socket)";
    case nfv::Errc::timeout:
      return "the switch is not accepting connections; is it stuck?";
    default:
      return "check the socket path and your permissions on it";
  }
}

}  // namespace

std::optional<nfv::control::JsonRpcClient> nfvctl::connect_switch(const RunContext& ctx) {
  auto client = nfv::control::JsonRpcClient::connect(ctx.socket, ctx.timeout);
  if (!client) {
    std::cerr << "nfvctl: " << client.error().message << "; " << connect_hint(client.error().code, ctx.target)
              << '\n';
    return std::nullopt;
  }
  return std::move(client).value();
}

namespace {

int run_verb(const GlobalOptions& global, const Command& command,
             const nfvctl::VerbOptions& options, const CLI::App& root) {
  const nfvctl::Verb& verb = *command.verb;
  const bool launcher = verb.target == nfvctl::Target::launcher_socket;
  // vnf restart and vm stop are answered once the old process has exited, which nfv
  // allows 10 s before SIGKILL: wait longer than that unless --timeout says otherwise.
  double timeout_s = global.timeout_s;
  if ((verb.method == "vnf.restart" || verb.method == "vm.stop") && root.get_option("--timeout")->count() == 0)
    timeout_s = 20.0;
  const nfvctl::RunContext ctx{launcher ? global.nfv_socket : global.socket,
                               std::chrono::milliseconds(std::llround(timeout_s * 1000.0)),
                               global.json, &root, verb.target, global.nfv_socket};
  if (verb.run != nullptr) {
    try {
      return verb.run(ctx, *command.app, options);
    } catch (const CLI::ValidationError& e) {
      std::cerr << "nfvctl: " << e.what() << '\n';
      return kExitUsage;
    }
  }

  auto client = nfvctl::connect_switch(ctx);
  if (!client) return kExitCannotConnect;

  const std::string& method = verb.method.empty() ? options.method : verb.method;
  nfvctl::Json params;
  try {
    params = verb.params != nullptr ? verb.params(*command.app, options) : nfvctl::Json(nullptr);
  } catch (const CLI::ValidationError& e) {
    std::cerr << "nfvctl: " << e.what() << '\n';
    return kExitUsage;
  }
  auto result = client->call(method, params);
  if (!result) {
    std::cerr << "nfvctl: " << result.error().message << '\n';
    return kExitServerError;
  }

  if (global.json) {
    nfvctl::print_json(*result, std::cout);
    return kExitOk;
  }
  try {
    verb.print(*result, std::cout);
  } catch (const nfvctl::Json::exception&) {
    // The switch answered something this nfvctl does not know how to tabulate.
    std::cout.flush();
    std::cerr << "nfvctl: unexpected result shape for " << method << "; printing it as JSON\n";
    nfvctl::print_json(*result, std::cout);
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nfvctl: control a running nfv-switch (and the VNFs of `nfv up`) through their JSON-RPC sockets"};
  app.fallthrough();  // global options may also follow the verb
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 the program answered with an error, 2 bad command line, "
      "3 cannot connect.");

  GlobalOptions global;
  app.add_option("--socket", global.socket,
                 "control socket of the program to talk to (the switch by default)")
      ->envname("NFV_SWITCH_SOCKET")
      ->capture_default_str();
  app.add_option("--nfv-socket", global.nfv_socket,
                 "control socket of the `nfv up` launcher (the vnf and vm verbs)")
      ->envname("NFV_SOCKET")
      ->capture_default_str();
  app.add_flag("--json", global.json, "print the method's result as JSON");
  app.add_option("--timeout", global.timeout_s, "seconds to wait for the switch")
      ->check(CLI::Validator(
          [](std::string& text) {
            const double seconds = std::strtod(text.c_str(), nullptr);
            return seconds > 0 && seconds <= 86400 ? std::string()
                                                   : "expected seconds in (0, 86400]";
          },
          "SECONDS"))
      ->capture_default_str();

  nfvctl::VerbOptions options;
  const std::vector<Command> commands = add_verbs(app, options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;  // --help is a "parse error" that succeeds
  }

  for (const Command& command : commands) {
    if (command.app->parsed()) return run_verb(global, command, options, app);
  }
  std::cerr << "nfvctl: no command given; see nfvctl --help\n";
  return kExitUsage;
}

// The nfvctl verb table: each verb is a command-line path ("port add"), the
// method it calls (on the switch's socket, or on the `nfv up` launcher's for
// the vnf/vm verbs), how its options become params, and how its result is
// printed. main.cpp builds the CLI from this table; nothing else lists verbs.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "nfv/control/jsonrpc.hpp"
#include "text_table.hpp"

namespace nfvctl {

// Everything the verbs' options write into. One instance per run; only the
// chosen verb's options are set.
struct VerbOptions {
  std::string name;  // port show/add/del NAME, vm stop VM, vnf restart VNF
  std::string type;
  std::string path;
  std::string mode;
  std::string devargs;
  unsigned queues = 1;
  unsigned vlan = 0;
  std::vector<unsigned> trunk;
  std::vector<std::string> allowed_macs;
  std::string port;        // mac flush --port, capture PORT
  std::string method;      // call METHOD
  std::string raw_params;  // call [JSON-PARAMS]
  // rule add/del
  unsigned priority = 32768;
  std::vector<std::string> rule_words;  // MATCH... actions=ACTIONS
  unsigned rule_id = 0;
  // stats --watch
  bool watch = false;
  double interval_s = 1.0;
  unsigned iterations = 0;  // 0: until interrupted
  // capture
  unsigned count = 100;
  std::string write_file;
  std::string direction = "both";
  unsigned snaplen = 65535;
  double duration_s = 0;  // 0: until --count frames
  std::string shell;      // completion SHELL
};

// Whose control socket a verb talks to: --socket (the switch by default) or
// --nfv-socket (the `nfv up` launcher, /run/nfv/nfv.sock by default).
enum class Target { switch_socket, launcher_socket };

// What a verb with its own run function gets (verbs that make several calls,
// or none).
struct RunContext {
  std::string socket;
  std::chrono::milliseconds timeout;
  bool json = false;
  const CLI::App* root = nullptr;  // for completion
  Target target = Target::switch_socket;  // for the hint when connecting fails
  std::string nfv_socket;                 // the launcher's (--nfv-socket), for status
};

// Connects to ctx.socket; on failure prints the error with a hint and returns
// an error (the verb then exits with 3).
std::optional<nfv::control::JsonRpcClient> connect_switch(const RunContext& ctx);
inline constexpr int kExitOk = 0, kExitServerError = 1, kExitUsage = 2, kExitCannotConnect = 3;

struct Verb {
  std::vector<std::string> words;  // e.g. {"port", "add"}
  std::string method;              // empty: the method is VerbOptions::method ("call")
  std::string help;
  // Registers the verb's options on its subcommand; may be null.
  void (*add_options)(CLI::App& cmd, VerbOptions& options);
  // Builds the params from the parsed options; null means no params.
  Json (*params)(const CLI::App& cmd, const VerbOptions& options);
  void (*print)(const Json& result, std::ostream& out);
  // When set, the verb runs this instead of one call + print; returns the exit code.
  int (*run)(const RunContext& ctx, const CLI::App& cmd, const VerbOptions& options) = nullptr;
  Target target = Target::switch_socket;
};

const std::vector<Verb>& verb_table();

// Verbs with their own run function (watch.cpp, capture.cpp, completion.cpp).
int run_stats(const RunContext& ctx, const CLI::App& cmd, const VerbOptions& options);
int run_status(const RunContext& ctx, const CLI::App& cmd, const VerbOptions& options);
int run_capture(const RunContext& ctx, const CLI::App& cmd, const VerbOptions& options);
int run_completion(const RunContext& ctx, const CLI::App& cmd, const VerbOptions& options);
// "in_port=a,udp actions=output:b" (as words) -> rule.add params; throws CLI::ValidationError.
Json rule_add_params(const CLI::App& cmd, const VerbOptions& options);

// One-line description of a verb group ("port", "mac", "pmd").
std::string group_help(const std::string& word);

}  // namespace nfvctl

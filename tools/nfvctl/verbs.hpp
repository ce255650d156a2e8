// The nfvctl verb table: each verb is a command-line path ("port add"), the
// switch method it calls, how its options become params, and how its result is
// printed. main.cpp builds the CLI from this table; nothing else lists verbs.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "text_table.hpp"

namespace nfvctl {

// Everything the verbs' options write into. One instance per run; only the
// chosen verb's options are set.
struct VerbOptions {
  std::string name;  // port show/add/del NAME
  std::string type;
  std::string path;
  std::string mode;
  std::string devargs;
  unsigned queues = 1;
  unsigned vlan = 0;
  std::vector<unsigned> trunk;
  std::vector<std::string> allowed_macs;
  std::string port;        // mac flush --port
  std::string method;      // call METHOD
  std::string raw_params;  // call [JSON-PARAMS]
};

struct Verb {
  std::vector<std::string> words;  // e.g. {"port", "add"}
  std::string method;              // empty: the method is VerbOptions::method ("call")
  std::string help;
  // Registers the verb's options on its subcommand; may be null.
  void (*add_options)(CLI::App& cmd, VerbOptions& options);
  // Builds the params from the parsed options; null means no params.
  Json (*params)(const CLI::App& cmd, const VerbOptions& options);
  void (*print)(const Json& result, std::ostream& out);
};

const std::vector<Verb>& verb_table();

// One-line description of a verb group ("port", "mac", "pmd").
std::string group_help(const std::string& word);

}  // namespace nfvctl

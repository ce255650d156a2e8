// The key tables of [[vnf]], [[chain]] and [generator]: each key has one
// setter that checks its value (type, range, format, a file that must exist).
// References to other sections are checked later (topology_checks.cpp).
#pragma once

#include <toml++/toml.h>

#include "topology.hpp"
#include "topology_checker.hpp"

namespace nfv::topo {

Result<VnfSpec> check_vnf(const Checker& c, const toml::table& table, const CheckEnv& env);
Result<ChainSpec> check_chain(const Checker& c, const toml::table& table);
Result<GeneratorSpec> check_generator(const Checker& c, const toml::table& table);

}  // namespace nfv::topo

// Human-readable output for each nfv-switch method's result (docs/switch-rpc.md)
// and the launcher's (launcher_printers.cpp).
// A printer may throw Json::exception on a result of an unexpected shape; the
// caller then prints the JSON instead.
#pragma once

#include <ostream>

#include "text_table.hpp"

namespace nfvctl {

void print_status(const Json& result, std::ostream& out);
void print_port_list(const Json& result, std::ostream& out);
void print_port(const Json& result, std::ostream& out);
void print_port_deleted(const Json& result, std::ostream& out);
void print_stats(const Json& result, std::ostream& out);
void print_mac_list(const Json& result, std::ostream& out);
void print_mac_flushed(const Json& result, std::ostream& out);
void print_pmd_stats(const Json& result, std::ostream& out);
void print_rule(const Json& result, std::ostream& out);
void print_rule_list(const Json& result, std::ostream& out);
void print_rule_deleted(const Json& result, std::ostream& out);
void print_json(const Json& result, std::ostream& out);
// The `nfv up` launcher's methods (launcher_printers.cpp).
void print_vnf_list(const Json& result, std::ostream& out);
void print_vnf_restarted(const Json& result, std::ostream& out);
void print_vm_list(const Json& result, std::ostream& out);
void print_vm_stopped(const Json& result, std::ostream& out);

}  // namespace nfvctl

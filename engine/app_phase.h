// What an app is doing, so that failures whose message names nothing (std::bad_alloc,
// std::length_error "vector::_M_default_append" from a size read from an input) can say where they
// happened: apps set the phase as they go and print describe_failure(e) when they stop.
#pragma once
#include <exception>
#include <string>

namespace lpl {

void set_app_phase(const std::string& what);  // e.g. "building the network"
const std::string& app_phase();
// e.what(), or for the anonymous standard exceptions a sentence naming the phase.
std::string describe_failure(const std::exception& e);

}  // namespace lpl

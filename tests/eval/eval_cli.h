// Test helpers for eval_linear as users run it: the built program (build/bin/eval_linear) with its
// output and exit status, and a temporary folder.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli_util.h"
#include "test_util.h"

namespace lpl::test {

using CliResult = CmdResult;

inline std::string eval_binary() { return built_program("eval_linear"); }
inline CliResult run_eval(const std::string& args) { return run_cmd(eval_binary() + " " + args); }

struct EvalTmpDir : TmpDir {
  EvalTmpDir() : TmpDir("eval") {}
};

}  // namespace lpl::test

// Runs one of the repository's matplotlib scripts (tools/<name>.py) on a program's output files, so
// every program draws its figures the same way. A plot that cannot be drawn never fails the program
// that wrote the numbers: the caller reports the returned reason and keeps its files.
#pragma once
#include <string>
#include <vector>

namespace lpl {

// The script's path: $LPL_SOURCE_DIR/tools/<rel>, then tools/<rel> beside the binary's build tree,
// then ./tools/<rel>; "" when none exists.
std::string find_tool_script(const std::string& rel);

// Runs python3 (LPL_PYTHON, else /usr/bin/python3, else python3 on PATH) on tools/<rel> with args.
// Returns "" on success, else why no plot was drawn (script missing, matplotlib missing: the
// scripts exit 3, or the script's failure status).
std::string run_plot_tool(const std::string& rel, const std::vector<std::string>& args);

// run_plot_tool, then one line on stdout: "plots: <drawn>" or "plots skipped: <why>" (the figure
// programs' convention; their numbers are written before and stay either way).
void plot_and_report(const std::string& rel, const std::vector<std::string>& args, const std::string& drawn);

}  // namespace lpl

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "engine/csv_table.h"
#include "engine/file_util.h"
#include "engine/plot_tool.h"

using namespace lpl;

TEST_CASE("csv_table: numbers round-trip, text cells are quoted, row width is checked") {
  CsvTable t({"step", "angle", "name"});
  t.add_cells({"1", csv_number(0.1), "a,b"});
  t.add_cells({"2", csv_number(std::nan("")), "say \"hi\""});
  CHECK(t.text() == "step,angle,name\n1,0.1,\"a,b\"\n2,nan,\"say \"\"hi\"\"\"\n");
  CHECK(csv_number(1.0 / 3.0) == "0.3333333333333333");
  CHECK(std::stod(csv_number(1.0 / 3.0)) == 1.0 / 3.0);
  CHECK(csv_number(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK_THROWS_WITH(t.add({1.0}), doctest::Contains("a row of 1 cells for 3 columns"));
  const std::string path = (std::filesystem::temp_directory_path() / "lpl_test_csv_table.csv").string();
  t.write(path);
  CHECK(read_file(path) == t.text());
  std::filesystem::remove(path);
}

TEST_CASE("plot_tool: a missing script is reported, not run") {
  const std::string why = run_plot_tool("no_such_plot_script.py", {"x"});
  CHECK(why.find("tools/no_such_plot_script.py not found") != std::string::npos);
  CHECK(!find_tool_script("plot_eval.py").empty());
}

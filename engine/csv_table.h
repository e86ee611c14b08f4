// A small CSV table: named columns, rows of numbers or text, written atomically (engine/file_util.h).
// The figure programs write their numbers with it, so tools/ plot scripts and users read one format.
#pragma once
#include <string>
#include <vector>

namespace lpl {

struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  explicit CsvTable(std::vector<std::string> cols) : columns(std::move(cols)) {}
  // One row of numbers (shortest round-trip form; NaN as "nan", infinities as "inf" / "-inf").
  void add(const std::vector<double>& values);
  // One row of cells as they are (quoted when they hold a comma, quote or newline).
  void add_cells(std::vector<std::string> cells);
  std::string text() const;
  void write(const std::string& path) const;
};

std::string csv_number(double v);

}  // namespace lpl

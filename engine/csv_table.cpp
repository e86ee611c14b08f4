#include "engine/csv_table.h"

#include <cmath>

#include <fmt/format.h>

#include "engine/common.h"
#include "engine/file_util.h"

namespace lpl {

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

namespace {
std::string quoted(const std::string& c) {
  if (c.find_first_of(",\"\n\r") == std::string::npos) return c;
  std::string q(1, '"');
  for (char ch : c) {
    if (ch == '"') q += '"';
    q += ch;
  }
  q += '"';
  return q;
}
}  // namespace

void CsvTable::add(const std::vector<double>& values) {
  std::vector<std::string> cells;
  cells.reserve(values.size());
  for (double v : values) cells.push_back(csv_number(v));
  add_cells(std::move(cells));
}

void CsvTable::add_cells(std::vector<std::string> cells) {
  LPL_CHECK(cells.size() == columns.size(),
            fmt::format("CsvTable: a row of {} cells for {} columns", cells.size(), columns.size()));
  rows.push_back(std::move(cells));
}

std::string CsvTable::text() const {
  std::string s;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) s += ',';
      s += quoted(cells[i]);
    }
    s += '\n';
  };
  line(columns);
  for (const auto& r : rows) line(r);
  return s;
}

void CsvTable::write(const std::string& path) const { atomic_write_file(path, text()); }

}  // namespace lpl

// The small apps that take --threads or numbers share engine/flags.h: a non-numeric value names the
// flag and the value, and thread counts beyond the machine are refused with the bound.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli_util.h"
#include "test_util.h"

using lpl::test::check_refused;

TEST_CASE("apps with --threads refuse counts beyond the machine, naming the bound") {
  check_refused("bench_data", "--threads 100000", "--threads 100000 is too many: at most ");
  check_refused("bench_ops", "--threads 100000", "--threads 100000 is too many: at most ");
  check_refused("probe_vgg11", "--threads 100000", "--threads 100000 is too many: at most ");
}

TEST_CASE("non-numeric flag values name the flag and the value") {
  check_refused("bench_data", "--threads x", "--threads: expected an integer, got 'x'");
  check_refused("bench_data", "--seconds y", "--seconds: expected a finite number, got 'y'");
  check_refused("vgg11_features", "--input a --out b --seed z", "--seed: expected an integer, got 'z'");
}

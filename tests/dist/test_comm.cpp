// Collectives of a multi-rank job (engine/comm.h). Runs under mpirun with 2 and 3 ranks
// (ctest dist.test_comm.np2 / .np3); every rank runs every case and checks its own results.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/comm.h"
#include "engine/tensor.h"
#include "test_util.h"

using namespace lpl;

namespace {

// The launcher's job size, read from the environment: doctest's skip decorators are evaluated
// before main (and init_distributed) runs. 1 when not launched by mpirun.
int launcher_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return 1;
}

// NCCL needs a GPU per rank (two ranks on one GPU are refused), so the GPU cases need as many.
bool gpu_per_rank() { return cuda_device_count() >= launcher_size() && cuda_device_count() > 0; }

Communicator& comm() {
  Communicator* c = world_comm();
  REQUIRE_MESSAGE(c != nullptr, "no communicator: run this test under mpirun with 2 or more ranks");
  return *c;
}

// Every rank's GPU: the one its local rank binds.
Device my_gpu() { return cuda(dist_info().local_rank % cuda_device_count()); }

// Rank r's value at i: rank + 1 + i / 2 (halves and small integers: float sums are exact).
double value(int r, int64_t i) { return r + 1 + 0.5 * static_cast<double>(i); }
// Sum over ranks 0..N-1 of value(r, i) = N(N+1)/2 + N i / 2.
double sum_over_ranks(int n, int64_t i) { return n * (n + 1) / 2.0 + n * 0.5 * static_cast<double>(i); }

}  // namespace

TEST_CASE("dist_info matches MPI and the launcher") {
  const DistInfo& info = dist_info();
  CHECK(mpi_built());
  CHECK(info.size == launcher_size());
  CHECK(info.size >= 2);
  Communicator& c = comm();
  CHECK(c.size() == info.size);
  CHECK(c.rank() == info.rank);
  CHECK(info.rank >= 0);
  CHECK(info.rank < info.size);
  CHECK(info.local_rank >= 0);
  CHECK(info.local_rank < info.local_size);
  CHECK(info.local_size <= info.size);
  // Ranks are distinct and cover 0..N-1: gather them (as floats, exact for small integers).
  const float mine = static_cast<float>(info.rank);
  std::vector<float> all(static_cast<size_t>(info.size), -1.f);
  c.all_gather(&mine, all.data(), 1, cpu());
  for (int r = 0; r < info.size; ++r) CHECK(all[static_cast<size_t>(r)] == static_cast<float>(r));
}

TEST_CASE("all_reduce_sum float on the CPU") {
  Communicator& c = comm();
  const int n_ranks = c.size();
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{1000}}) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(value(c.rank(), i));
    c.all_reduce_sum(v.data(), n, cpu());
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += v[static_cast<size_t>(i)] != static_cast<float>(sum_over_ranks(n_ranks, i));
    CHECK_MESSAGE(bad == 0, "rank " << c.rank() << ": " << bad << " of " << n << " sums wrong; v[0] = " << v[0]
                                    << ", expected " << sum_over_ranks(n_ranks, 0));
  }
}

TEST_CASE("all_reduce_sum double on the CPU") {
  Communicator& c = comm();
  const int64_t n = 513;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = value(c.rank(), i);
  c.all_reduce_sum(v.data(), n, cpu());
  for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{256}, n - 1})
    CHECK(v[static_cast<size_t>(i)] == sum_over_ranks(c.size(), i));
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += v[static_cast<size_t>(i)] != sum_over_ranks(c.size(), i);
  CHECK(bad == 0);
  // n = 0 is a no-op that every rank may call.
  c.all_reduce_sum(v.data(), 0, cpu());
  CHECK(v[0] == sum_over_ranks(c.size(), 0));
}

TEST_CASE("all_gather on the CPU, in rank order") {
  Communicator& c = comm();
  const int64_t n = 5;
  std::vector<float> in(n), out(static_cast<size_t>(n * c.size()), -99.f);
  for (int64_t i = 0; i < n; ++i) in[static_cast<size_t>(i)] = static_cast<float>(10 * c.rank() + i);
  c.all_gather(in.data(), out.data(), n, cpu());
  for (int r = 0; r < c.size(); ++r)
    for (int64_t i = 0; i < n; ++i)
      CHECK_MESSAGE(out[static_cast<size_t>(r * n + i)] == static_cast<float>(10 * r + i),
                    "rank " << c.rank() << ": slot " << r << "," << i);
}

TEST_CASE("broadcast from rank 0 and from the last rank") {
  Communicator& c = comm();
  for (int root : {0, c.size() - 1}) {
    CAPTURE(root);
    // A struct of bytes: the root's values, every other rank's different beforehand.
    struct Payload {
      int32_t root_rank;
      double x;
      char tag[16];
    } p{};
    if (c.rank() == root) {
      p.root_rank = root;
      p.x = 0.25 + root;
      std::strcpy(p.tag, "from-the-root");
    } else {
      p.root_rank = -1;
      p.x = -7;
      std::strcpy(p.tag, "not-the-root");
    }
    c.broadcast(&p, sizeof p, root);
    CHECK(p.root_rank == root);
    CHECK(p.x == 0.25 + root);
    CHECK(std::string(p.tag) == "from-the-root");
  }
  // A root outside the job is an error that names the rank, and makes no MPI call.
  CHECK_THROWS_WITH_AS(c.broadcast(nullptr, 0, c.size()), doctest::Contains("rank"), lpl::Error);
}

TEST_CASE("barrier, then a collective still lines up") {
  Communicator& c = comm();
  c.barrier();
  c.barrier();
  double one = 1;
  c.all_reduce_sum(&one, 1, cpu());
  CHECK(one == static_cast<double>(c.size()));
}

TEST_CASE("all_reduce_sum [cuda]" * doctest::skip(!gpu_per_rank())) {
  Communicator& c = comm();
  const Device d = my_gpu();
  const int64_t n = 4097;
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(value(c.rank(), i % 64));
  Tensor t = Tensor::from_vector(v, {n}, d);
  c.all_reduce_sum(t.f(), n, d);
  const std::vector<float> got = t.to_vector();  // ordered after the collective on d's stream
  std::vector<double> want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = sum_over_ranks(c.size(), i % 64);
  test::check_close(got, want, 0, 0, "all_reduce_sum float on " + d.str());

  // float64 through raw device memory.
  std::vector<double> h(64);
  for (int64_t i = 0; i < 64; ++i) h[static_cast<size_t>(i)] = value(c.rank(), i);
  void* p = device_alloc(d, h.size() * sizeof(double));
  memcpy_bytes(p, d, h.data(), cpu(), h.size() * sizeof(double));
  c.all_reduce_sum(static_cast<double*>(p), 64, d);
  std::vector<double> back(64, -1);
  memcpy_bytes(back.data(), cpu(), p, d, back.size() * sizeof(double));  // waits for d's stream
  device_free(d, p, h.size() * sizeof(double));
  int64_t bad = 0;
  for (int64_t i = 0; i < 64; ++i) bad += back[static_cast<size_t>(i)] != sum_over_ranks(c.size(), i);
  CHECK(bad == 0);
}

TEST_CASE("all_gather [cuda]" * doctest::skip(!gpu_per_rank())) {
  Communicator& c = comm();
  const Device d = my_gpu();
  const int64_t n = 33;
  std::vector<float> in(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) in[static_cast<size_t>(i)] = static_cast<float>(100 * c.rank() + i);
  Tensor tin = Tensor::from_vector(in, {n}, d);
  Tensor tout = Tensor::full({n * c.size()}, -99.f, d);
  c.all_gather(tin.f(), tout.f(), n, d);
  const std::vector<float> got = tout.to_vector();
  std::vector<double> want(static_cast<size_t>(n * c.size()));
  for (int r = 0; r < c.size(); ++r)
    for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(r * n + i)] = 100.0 * r + static_cast<double>(i);
  test::check_close(got, want, 0, 0, "all_gather on " + d.str());
}

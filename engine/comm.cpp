#include "engine/comm.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "engine/common.h"

#if LPL_HAVE_MPI
// The C API only: OpenMPI's mpi.h otherwise pulls in its C++ bindings (a library MPI::MPI_C lacks).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif
#if LPL_HAVE_NCCL
#include "engine/comm_nccl.h"
#endif

namespace lpl {

bool mpi_built() { return LPL_HAVE_MPI != 0; }
bool nccl_built() { return LPL_HAVE_NCCL != 0; }

namespace {

DistInfo g_info;
bool g_initialised = false;  // init_distributed ran (MPI_Init called when launched by mpirun)

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  return (end && *end == '\0' && x >= 0 && x <= INT_MAX) ? static_cast<int>(x) : fallback;
}

// What the launcher put in the environment (OpenMPI, MPICH/Hydra PMI, PMIx); size -1 when unknown.
struct LauncherEnv {
  bool launched = false;
  int rank = 0, size = -1;
};
LauncherEnv launcher_env() {
  LauncherEnv e;
  e.launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  e.size = env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", -1));
  e.rank = env_int("OMPI_COMM_WORLD_RANK", env_int("PMI_RANK", env_int("PMIX_RANK", 0)));
  return e;
}

#if LPL_HAVE_MPI
bool g_mpi_initialised = false;  // by us (finalize_distributed undoes only that)

void mpi_check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) std::snprintf(msg, sizeof msg, "MPI error %d", rc);
  fail(strf("%s failed on rank %d of %d: %s", call, g_info.rank, g_info.size, msg));
}

// MPI counts are int: longer buffers go in pieces.
constexpr int64_t kMaxCount = int64_t{1} << 30;

template <class T>
void mpi_all_reduce_host(T* p, int64_t n, MPI_Datatype type) {
  for (int64_t off = 0; off < n; off += kMaxCount) {
    const int count = static_cast<int>(std::min(kMaxCount, n - off));
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, p + off, count, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
}

void mpi_bcast_bytes(void* p, size_t bytes, int root) {
  auto* b = static_cast<char*>(p);
  for (size_t off = 0; off < bytes; off += static_cast<size_t>(kMaxCount)) {
    const int count = static_cast<int>(std::min(static_cast<size_t>(kMaxCount), bytes - off));
    mpi_check(MPI_Bcast(b + off, count, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

#if LPL_HAVE_NCCL
void bcast_from_rank0(void* p, size_t bytes) { mpi_bcast_bytes(p, bytes, 0); }
detail::NcclJob nccl_job() { return {g_info.rank, g_info.size, &bcast_from_rank0}; }
#endif

class MpiCommunicator final : public Communicator {
 public:
  int rank() const override { return g_info.rank; }
  int size() const override { return g_info.size; }

  void all_reduce_sum(float* p, int64_t n, Device d) override { reduce(p, n, d, MPI_FLOAT); }
  void all_reduce_sum(double* p, int64_t n, Device d) override { reduce(p, n, d, MPI_DOUBLE); }
#if LPL_HAVE_NCCL
  void all_reduce_sum_async(float* p, int64_t n, Device d) override {
    check_count(n, "all_reduce_sum_async");
    if (n == 0) return;
    if (d.is_cuda()) return detail::nccl_all_reduce_sum_async(p, n, d, nccl_job());
    all_reduce_sum(p, n, d);
  }
  void finish_async(Device d) override {
    if (d.is_cuda()) detail::nccl_finish_async(d);
  }
#endif

  void all_gather(const float* in, float* out, int64_t n, Device d) override {
    check_count(n, "all_gather");
    LPL_CHECK(n <= INT_MAX, strf("all_gather on rank %d of %d: %lld values per rank exceed MPI's int count",
                                 g_info.rank, g_info.size, static_cast<long long>(n)));
    if (d.is_cuda()) {
#if LPL_HAVE_NCCL
      detail::nccl_all_gather(in, out, n, d, nccl_job());
#else
      // No NCCL: through host memory (correct, but a device-host round trip and a stream wait per call).
      const size_t bytes = static_cast<size_t>(n) * sizeof(float);
      std::vector<float> hin(static_cast<size_t>(n)), hout(static_cast<size_t>(n) * static_cast<size_t>(g_info.size));
      memcpy_bytes(hin.data(), cpu(), in, d, bytes);  // waits for d's stream
      mpi_check(MPI_Allgather(hin.data(), static_cast<int>(n), MPI_FLOAT, hout.data(), static_cast<int>(n), MPI_FLOAT,
                              MPI_COMM_WORLD),
                "MPI_Allgather");
      memcpy_bytes(out, d, hout.data(), cpu(), hout.size() * sizeof(float));
      synchronize(d);  // hout is freed on return
#endif
      return;
    }
    // MPI_IN_PLACE is not needed: in and out are separate buffers.
    mpi_check(MPI_Allgather(in, static_cast<int>(n), MPI_FLOAT, out, static_cast<int>(n), MPI_FLOAT, MPI_COMM_WORLD),
              "MPI_Allgather");
  }

  void broadcast(void* p, size_t bytes, int root) override {
    LPL_CHECK(root >= 0 && root < g_info.size,
              strf("broadcast on rank %d of %d: root %d is not a rank", g_info.rank, g_info.size, root));
    mpi_bcast_bytes(p, bytes, root);
  }

  void barrier() override { mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  [[noreturn]] void abort(const std::string& why) override {
    std::fprintf(stderr, "rank %d of %d: %s\n", g_info.rank, g_info.size, why.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);  // MPI_Abort should not return; never go on if it does
  }

 private:
  void check_count(int64_t n, const char* what) const {
    LPL_CHECK(n >= 0, strf("%s on rank %d of %d: negative count %lld", what, g_info.rank, g_info.size,
                           static_cast<long long>(n)));
  }

  template <class T>
  void reduce(T* p, int64_t n, Device d, MPI_Datatype type) {
    check_count(n, "all_reduce_sum");
    if (n == 0) return;
    if (d.is_cuda()) {
#if LPL_HAVE_NCCL
      detail::nccl_all_reduce_sum(p, n, sizeof(T) == 8, d, nccl_job());
#else
      // No NCCL: through host memory (correct, but a device-host round trip and a stream wait per call).
      const size_t bytes = static_cast<size_t>(n) * sizeof(T);
      std::vector<T> h(static_cast<size_t>(n));
      memcpy_bytes(h.data(), cpu(), p, d, bytes);  // waits for d's stream
      mpi_all_reduce_host(h.data(), n, type);
      memcpy_bytes(p, d, h.data(), cpu(), bytes);
      synchronize(d);  // h is freed on return
#endif
      return;
    }
    mpi_all_reduce_host(p, n, type);
  }
};

MpiCommunicator* g_comm = nullptr;
#endif  // LPL_HAVE_MPI

}  // namespace

DistInfo init_distributed(int* argc, char*** argv) {
  if (g_initialised) return g_info;
  const LauncherEnv env = launcher_env();
#if LPL_HAVE_MPI
  if (env.launched) {
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
      int provided = 0;
      // FUNNELED: only the main thread makes MPI calls (worker threads never do).
      if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        fail(strf("MPI_Init_thread failed (launched as rank %d of %d)", env.rank, env.size));
      g_mpi_initialised = true;
    }
    // Errors come back as codes (and become lpl::Error) instead of MPI's default of aborting silently.
    mpi_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    DistInfo info;
    mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &info.rank), "MPI_Comm_rank");
    mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &info.size), "MPI_Comm_size");
    g_info.rank = info.rank;  // so that errors below name the rank
    g_info.size = info.size;
    info.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", -1);
    info.local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", -1);
    if (info.local_rank < 0 || info.local_size <= 0) {
      // Another launcher: the ranks that share this node's memory are this node's ranks.
      MPI_Comm node = MPI_COMM_NULL;
      mpi_check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, info.rank, MPI_INFO_NULL, &node),
                "MPI_Comm_split_type");
      mpi_check(MPI_Comm_rank(node, &info.local_rank), "MPI_Comm_rank(node)");
      mpi_check(MPI_Comm_size(node, &info.local_size), "MPI_Comm_size(node)");
      mpi_check(MPI_Comm_free(&node), "MPI_Comm_free");
    }
    g_info = info;
    if (info.size > 1) {
      static MpiCommunicator comm;
      g_comm = &comm;
    }
  }
#else
  (void)argc;
  (void)argv;
  if (env.launched && (env.size > 1 || env.rank > 0))
    fail(strf("this build has no MPI (install libopenmpi-dev and reconfigure); it cannot run as rank %d of %s",
              env.rank, env.size > 0 ? std::to_string(env.size).c_str() : "several"));
#endif
  g_initialised = true;
  return g_info;
}

const DistInfo& dist_info() { return g_info; }

Communicator* world_comm() {
#if LPL_HAVE_MPI
  return g_comm;
#else
  return nullptr;
#endif
}

void finalize_distributed() {
#if LPL_HAVE_MPI
  if (!g_mpi_initialised) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) {
#if LPL_HAVE_NCCL
    detail::nccl_destroy_all();  // before MPI goes: NCCL may still use its bootstrap connections
#endif
    MPI_Finalize();
  }
  g_mpi_initialised = false;
  g_comm = nullptr;
#endif
}

}  // namespace lpl

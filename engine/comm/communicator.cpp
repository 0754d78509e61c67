// The single-process backend, the choice of the process's communicator and the share rule
// (communicator.h; docs/scaling.md, "Communicators").
#include "engine/comm/communicator.h"

#include <cstdlib>
#include <string>

#include "engine/comm/backends.h"
#include "engine/error.h"

namespace lethe::comm {

namespace {

class Single final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void allreduce_sum(Tensor& t) override {
    LETHE_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64,
                "allreduce_sum: " << t.describe() << " is not F32 or F64");
  }
  Tensor allgather_rows(const Tensor& t) override { return t.clone(); }
  void broadcast(Tensor&, int root) override {
    LETHE_CHECK(root == 0, "broadcast: root " << root << " outside a job of 1 rank");
  }
  void barrier() override {}
};

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (end && *end == '\0' && x >= 0) ? static_cast<int>(x) : -1;
}

}  // namespace

namespace detail {

std::pair<int, int> launcher_rank_size() {
  // Open MPI, then the PMI / PMIx conventions of MPICH, Slurm and others.
  for (const auto& [r, s] : {std::pair{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                             {"PMI_RANK", "PMI_SIZE"},
                             {"PMIX_RANK", "PMIX_SIZE"}}) {
    const int size = env_int(s), rank = env_int(r);
    if (size > 0) return {rank < 0 ? 0 : rank, size};
    if (rank >= 0 && std::string(r) == "PMIX_RANK") return {rank, 1};  // PMIx may leave the size unset
  }
  return {0, 0};
}

}  // namespace detail

std::unique_ptr<Communicator> make_single() { return std::make_unique<Single>(); }

bool built_with_mpi() {
#ifdef LETHE_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool built_with_nccl() {
#ifdef LETHE_WITH_NCCL
  return true;
#else
  return false;
#endif
}

Communicator& world() {
  static std::unique_ptr<Communicator> w = [] {
    const auto [rank, size] = detail::launcher_rank_size();
#ifdef LETHE_WITH_MPI
    if (size > 0) return detail::make_mpi_world();
#else
    LETHE_CHECK(size <= 1,
                "this process was started by an MPI launcher as rank "
                    << rank << " of " << size
                    << ", but this build of Lethe has no MPI (configure with LETHE_MPI=ON and "
                       "install libopenmpi-dev); every rank would train alone and write the same run");
#endif
    return make_single();
  }();
  return *w;
}

std::unique_ptr<Communicator> make_nccl(Communicator& bootstrap) {
#ifdef LETHE_WITH_NCCL
  return detail::make_nccl_over(bootstrap);
#else
  LETHE_CHECK(false, "this build of Lethe has no NCCL (it needs the CUDA backend, MPI and nccl.h / libnccl)");
  return nullptr;
#endif
}

std::pair<int64_t, int64_t> share(int64_t n, int rank, int size) {
  LETHE_ASSERT(size >= 1 && rank >= 0 && rank < size, "share: rank " << rank << " of " << size);
  LETHE_ASSERT(n >= 0, "share: " << n << " rows");
  return {n * rank / size, n * (rank + 1) / size};
}

}  // namespace lethe::comm

// Collectives between the ranks of a data-parallel job (docs/scaling.md, "Communicators"): one interface,
// three backends. `single` (this process alone; always built, the default), `mpi` (CPU ranks started by
// mpirun; built when CMake finds MPI, LETHE_MPI=AUTO|ON|OFF) and `nccl` (GPU ranks; built with CUDA, MPI and
// NCCL, bootstrapped over MPI). Lethe has no transport of its own.
//
// Every collective is deterministic: a sum adds the ranks' values in rank order, element by element, so
// every rank gets the same bits and a rerun with the same rank count gets them again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "engine/tensor.h"

namespace lethe::comm {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "single", "mpi", "nccl"

  // t (F32 or F64, contiguous) becomes the sum over ranks of every rank's t, in place: rank 0's value plus
  // rank 1's, plus ..., in that order for every element.
  virtual void allreduce_sum(Tensor& t) = 0;
  // Every rank's rows of t (same dtype and row shape; row counts may differ), concatenated in rank order.
  virtual Tensor allgather_rows(const Tensor& t) = 0;
  // root's t copied into every rank's t (same shape and dtype everywhere).
  virtual void broadcast(Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job after an error on this one (a rank left waiting in a collective would hang).
  // The single-process backend has nothing to end.
  virtual void abort(int code) {}
};

// The process's communicator: MPI when this build has it and the process was started by an MPI launcher
// (mpirun sets OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK), else this process alone. Created on first use.
// A process started by a launcher as one of several ranks, in a build without MPI, is refused (every rank
// would believe it is alone and write the same files).
Communicator& world();

// A communicator of this process alone (rank 0 of 1).
std::unique_ptr<Communicator> make_single();
// NCCL over the ranks of `bootstrap` (an MPI communicator): rank r uses CUDA device r mod the device count.
// Collectives take tensors on that device. Throws when this build has no NCCL.
std::unique_ptr<Communicator> make_nccl(Communicator& bootstrap);

bool built_with_mpi();
bool built_with_nccl();

// Rows [begin, end) of rank `rank`'s share of n rows: contiguous blocks in rank order, sizes differ by at
// most one (rank r gets [r n / P, (r + 1) n / P)).
std::pair<int64_t, int64_t> share(int64_t n, int rank, int size);

}  // namespace lethe::comm

// The backends' constructors, for communicator.cpp (built only in builds that have them).
#pragma once

#include <memory>

#include "engine/comm/communicator.h"

namespace lethe::comm::detail {

// MPI_COMM_WORLD; initialises MPI (finalised when the communicator is destroyed at exit). mpi.cpp.
std::unique_ptr<Communicator> make_mpi_world();
// nccl.cpp.
std::unique_ptr<Communicator> make_nccl_over(Communicator& bootstrap);

// The launcher's view of this process, from its environment: (rank, size), or (0, 0) when not launched.
std::pair<int, int> launcher_rank_size();

}  // namespace lethe::comm::detail

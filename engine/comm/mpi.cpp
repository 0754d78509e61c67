// The MPI backend (communicator.h; docs/scaling.md, "Communicators"): MPI_COMM_WORLD of the ranks mpirun
// started. Tensors on a GPU are staged through host memory (the NCCL backend keeps them on the device).
//
// The sum is deterministic by construction, whatever reduction algorithm the MPI library would pick: the
// element range is cut into one block per rank (communicator.h, share); every rank sends block s of its
// values to rank s (MPI_Alltoallv), rank s adds the P contributions in rank order, and the summed blocks are
// gathered by everyone (MPI_Allgatherv). Each rank sends and receives (P - 1) / P of the data twice, as a
// ring all-reduce does.
#define OMPI_SKIP_MPICXX 1  // the C API only (the C++ bindings are deprecated and warn)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <climits>
#include <cstring>
#include <vector>

#include "engine/comm/backends.h"
#include "engine/error.h"

namespace lethe::comm::detail {

namespace {

#define LETHE_MPI_CALL(call)                                                                    \
  do {                                                                                          \
    const int lethe_mpi_rc_ = (call);                                                           \
    if (lethe_mpi_rc_ != MPI_SUCCESS) {                                                         \
      char lethe_mpi_msg_[MPI_MAX_ERROR_STRING];                                                \
      int lethe_mpi_len_ = 0;                                                                   \
      MPI_Error_string(lethe_mpi_rc_, lethe_mpi_msg_, &lethe_mpi_len_);                         \
      LETHE_ASSERT(false, #call << " failed: " << std::string(lethe_mpi_msg_, lethe_mpi_len_)); \
    }                                                                                           \
  } while (0)

int checked_count(int64_t n, const char* what) {
  LETHE_CHECK(n <= INT_MAX, "mpi: " << what << " of " << n << " elements exceeds MPI's int counts");
  return static_cast<int>(n);
}

template <class T>
void sum_in_rank_order(T* data, int64_t n, int P, int me) {
  std::vector<int> send_counts(P), send_displs(P), recv_counts(P), recv_displs(P);
  const auto [b0, b1] = share(n, me, P);
  const int mine = checked_count(b1 - b0, "a block");
  for (int s = 0; s < P; ++s) {
    const auto [s0, s1] = share(n, s, P);
    send_counts[s] = checked_count(s1 - s0, "a block");
    send_displs[s] = checked_count(s0, "an offset");
    recv_counts[s] = mine;
    recv_displs[s] = checked_count(static_cast<int64_t>(s) * mine, "an offset");
  }
  const MPI_Datatype type = sizeof(T) == 8 ? MPI_DOUBLE : MPI_FLOAT;
  std::vector<T> parts(static_cast<size_t>(mine) * P);
  LETHE_MPI_CALL(MPI_Alltoallv(data, send_counts.data(), send_displs.data(), type, parts.data(),
                               recv_counts.data(), recv_displs.data(), type, MPI_COMM_WORLD));
  std::vector<T> block(parts.begin(), parts.begin() + mine);  // rank 0's part, then + rank 1's, ...
  for (int s = 1; s < P; ++s) {
    const T* p = parts.data() + static_cast<size_t>(s) * mine;
    for (int i = 0; i < mine; ++i) block[i] += p[i];
  }
  LETHE_MPI_CALL(MPI_Allgatherv(block.data(), mine, type, data, send_counts.data(), send_displs.data(), type,
                                MPI_COMM_WORLD));
}

class Mpi final : public Communicator {
 public:
  Mpi() {
    int inited = 0;
    LETHE_MPI_CALL(MPI_Initialized(&inited));
    if (!inited) {
      int provided = 0;
      LETHE_MPI_CALL(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
      owns_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // errors come back as codes (checked)
    LETHE_MPI_CALL(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    LETHE_MPI_CALL(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  }
  ~Mpi() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_ && !finalized) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void allreduce_sum(Tensor& t) override {
    LETHE_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64,
                "allreduce_sum: " << t.describe() << " is not F32 or F64");
    if (size_ == 1 || t.numel() == 0) return;
    Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
    if (t.dtype() == DType::F64)
      sum_in_rank_order(host.data<double>(), host.numel(), size_, rank_);
    else
      sum_in_rank_order(host.data<float>(), host.numel(), size_, rank_);
    if (!t.is_cpu()) t.copy_from(host);
  }

  Tensor allgather_rows(const Tensor& t) override {
    const Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
    const int64_t row_bytes = t.rows() == 0 ? 0 : static_cast<int64_t>(t.nbytes()) / t.rows();
    std::vector<int64_t> rows(static_cast<size_t>(size_));
    const int64_t my_rows = t.rows();
    LETHE_MPI_CALL(MPI_Allgather(&my_rows, 1, MPI_INT64_T, rows.data(), 1, MPI_INT64_T, MPI_COMM_WORLD));
    int64_t row_width = t.rows() == 0 ? -1 : t.numel() / t.rows(), widest = 0;
    LETHE_MPI_CALL(MPI_Allreduce(&row_width, &widest, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
    std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    int64_t total = 0;
    const int64_t width_bytes = static_cast<int64_t>(dtype_size(t.dtype())) * widest;
    for (int s = 0; s < size_; ++s) {
      counts[s] = checked_count(rows[s] * width_bytes, "a gathered part");
      displs[s] = checked_count(total * width_bytes, "an offset");
      total += rows[s];
    }
    LETHE_CHECK(t.rows() == 0 || row_bytes == width_bytes,
                "allgather_rows: ranks hold rows of different widths (" << t.describe() << ")");
    Shape shape = t.shape();
    if (shape.empty()) shape = {1};
    shape[0] = total;
    Tensor out = Tensor::empty(shape, t.dtype(), Device::cpu());
    LETHE_MPI_CALL(MPI_Allgatherv(host.raw(), counts[rank_], MPI_BYTE, out.raw(), counts.data(),
                                  displs.data(), MPI_BYTE, MPI_COMM_WORLD));
    return t.is_cpu() ? out : out.to(t.device());
  }

  void broadcast(Tensor& t, int root) override {
    LETHE_CHECK(root >= 0 && root < size_,
                "broadcast: root " << root << " outside a job of " << size_ << " ranks");
    Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
    LETHE_MPI_CALL(MPI_Bcast(host.raw(), checked_count(static_cast<int64_t>(host.nbytes()), "a broadcast"),
                             MPI_BYTE, root, MPI_COMM_WORLD));
    if (!t.is_cpu()) t.copy_from(host);
  }

  void barrier() override { LETHE_MPI_CALL(MPI_Barrier(MPI_COMM_WORLD)); }
  void abort(int code) override {
    if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
  }

 private:
  int rank_ = 0, size_ = 1;
  bool owns_ = false;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_world() { return std::make_unique<Mpi>(); }

}  // namespace lethe::comm::detail

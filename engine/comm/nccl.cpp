// The NCCL backend (communicator.h; docs/scaling.md, "Communicators"): GPU ranks, one CUDA device each,
// bootstrapped over MPI (rank 0 makes the NCCL unique id and broadcasts it). NCCL refuses two ranks on one
// device, so a job has at most as many ranks per machine as it has GPUs. Host tensors are staged through the
// rank's device (the MPI backend does the reverse), so callers need not care where a tensor lives. Every
// collective goes through NCCL, with one rank too (so a single GPU exercises every call).
//
// The sum keeps MPI backend's rank-order rule: the element range is padded to P equal blocks, block s of
// every rank goes to rank s (grouped ncclSend / ncclRecv), rank s adds the P parts in rank order on the
// device, and ncclAllGather hands every rank the summed blocks.
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>
#include <vector>

#include "engine/comm/backends.h"
#include "engine/error.h"
#include "engine/ops.h"

namespace lethe::comm::detail {

namespace {

#define LETHE_NCCL_CALL(call)                                                                                \
  do {                                                                                                       \
    const ncclResult_t lethe_nccl_rc_ = (call);                                                              \
    LETHE_ASSERT(lethe_nccl_rc_ == ncclSuccess, #call << " failed: " << ncclGetErrorString(lethe_nccl_rc_)); \
  } while (0)
#define LETHE_CUDART_CALL(call)                                                                              \
  do {                                                                                                       \
    const cudaError_t lethe_cuda_rc_ = (call);                                                               \
    LETHE_ASSERT(lethe_cuda_rc_ == cudaSuccess, #call << " failed: " << cudaGetErrorString(lethe_cuda_rc_)); \
  } while (0)

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::F32:
      return ncclFloat32;
    case DType::F64:
      return ncclFloat64;
    default:
      LETHE_CHECK(false, "nccl: dtype " << dtype_name(t) << " is not F32 or F64");
  }
  return ncclFloat32;
}

class Nccl final : public Communicator {
 public:
  explicit Nccl(Communicator& boot) : rank_(boot.rank()), size_(boot.size()) {
    int devices = 0;
    LETHE_CUDART_CALL(cudaGetDeviceCount(&devices));
    LETHE_CHECK(devices > 0, "nccl: no CUDA device");
    device_ = rank_ % devices;
    LETHE_CHECK(
        size_ <= devices || devices == 0,
        "nccl: " << size_ << " ranks on " << devices
                 << " GPUs; NCCL refuses two ranks on one device (use the MPI backend or fewer ranks)");
    LETHE_CUDART_CALL(cudaSetDevice(device_));
    ncclUniqueId id;
    if (rank_ == 0) LETHE_NCCL_CALL(ncclGetUniqueId(&id));
    Tensor idt = Tensor::zeros({static_cast<int64_t>((sizeof id + 3) / 4)}, DType::I32, Device::cpu());
    if (rank_ == 0) std::memcpy(idt.raw(), &id, sizeof id);
    boot.broadcast(idt, 0);
    std::memcpy(&id, idt.raw(), sizeof id);
    LETHE_NCCL_CALL(ncclCommInitRank(&comm_, size_, id, rank_));
  }
  ~Nccl() override {
    if (comm_) ncclCommDestroy(comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  void allreduce_sum(Tensor& t) override {
    const ncclDataType_t type = nccl_type(t.dtype());
    if (!t.device().is_cuda()) {
      Tensor d = t.to(device());
      allreduce_sum(d);
      t.copy_from(d);
      return;
    }
    if (t.numel() == 0) return;
    const int64_t n = t.numel(), block = (n + size_ - 1) / size_;
    const size_t es = dtype_size(t.dtype());
    Tensor padded = Tensor::zeros({block * size_}, t.dtype(), t.device());
    padded.row_range(0, n).copy_from(t.reshape({n}));
    Tensor parts = Tensor::empty({static_cast<int64_t>(size_), block}, t.dtype(), t.device());
    auto* send = static_cast<char*>(padded.raw());
    auto* recv = static_cast<char*>(parts.raw());
    LETHE_NCCL_CALL(ncclGroupStart());
    for (int s = 0; s < size_; ++s) {
      LETHE_NCCL_CALL(ncclSend(send + s * block * es, static_cast<size_t>(block), type, s, comm_, nullptr));
      LETHE_NCCL_CALL(ncclRecv(recv + s * block * es, static_cast<size_t>(block), type, s, comm_, nullptr));
    }
    LETHE_NCCL_CALL(ncclGroupEnd());
    LETHE_CUDART_CALL(cudaStreamSynchronize(nullptr));
    Tensor mine = parts.row_range(0, 1).reshape({block}).clone();  // rank 0's part, then + rank 1's, ...
    for (int s = 1; s < size_; ++s) ops::axpy(1.0, parts.row_range(s, s + 1).reshape({block}), mine);
    LETHE_CUDART_CALL(cudaDeviceSynchronize());
    LETHE_NCCL_CALL(
        ncclAllGather(mine.raw(), padded.raw(), static_cast<size_t>(block), type, comm_, nullptr));
    LETHE_CUDART_CALL(cudaStreamSynchronize(nullptr));
    t.reshape({n}).copy_from(padded.row_range(0, n));
  }

  Tensor allgather_rows(const Tensor& t) override {
    if (!t.device().is_cuda()) return allgather_rows(t.to(device())).to(Device::cpu());
    // Row counts may differ: pad every part to the largest, gather, and keep each rank's real rows.
    Tensor counts = Tensor::zeros({static_cast<int64_t>(size_)}, DType::F64, Device::cpu());
    counts.data<double>()[rank_] = static_cast<double>(t.rows());
    Tensor cd = counts.to(t.device());
    allreduce_sum(cd);
    const std::vector<double> rows = cd.to_vector<double>();
    int64_t most = 0, total = 0;
    for (double r : rows)
      most = std::max<int64_t>(most, static_cast<int64_t>(r)), total += static_cast<int64_t>(r);
    const int64_t width = t.rows() == 0 ? 0 : t.numel() / t.rows();
    Tensor part = Tensor::zeros({most, std::max<int64_t>(width, 1)}, t.dtype(), t.device());
    if (t.rows() > 0) part.row_range(0, t.rows()).copy_from(t.reshape({t.rows(), width}));
    Tensor all = Tensor::empty({most * size_, part.cols()}, t.dtype(), t.device());
    LETHE_NCCL_CALL(
        ncclAllGather(part.raw(), all.raw(), static_cast<size_t>(part.nbytes()), ncclUint8, comm_, nullptr));
    LETHE_CUDART_CALL(cudaStreamSynchronize(nullptr));
    Shape shape = t.shape();
    if (shape.empty()) shape = {1};
    shape[0] = total;
    Tensor out = Tensor::empty(shape, t.dtype(), t.device());
    int64_t at = 0;
    for (int s = 0; s < size_; ++s) {
      const int64_t r = static_cast<int64_t>(rows[s]);
      if (r > 0)
        out.reshape({total, part.cols()})
            .row_range(at, at + r)
            .copy_from(all.row_range(s * most, s * most + r));
      at += r;
    }
    return out;
  }

  void broadcast(Tensor& t, int root) override {
    LETHE_CHECK(root >= 0 && root < size_,
                "broadcast: root " << root << " outside a job of " << size_ << " ranks");
    if (!t.device().is_cuda()) {
      Tensor d = t.to(device());
      broadcast(d, root);
      t.copy_from(d);
      return;
    }
    LETHE_NCCL_CALL(ncclBroadcast(t.raw(), t.raw(), t.nbytes(), ncclUint8, root, comm_, nullptr));
    LETHE_CUDART_CALL(cudaStreamSynchronize(nullptr));
  }

  void barrier() override {
    Tensor one = Tensor::zeros({1}, DType::F32, device());
    allreduce_sum(one);
  }
  void abort(int) override {
    if (comm_) ncclCommAbort(comm_), comm_ = nullptr;
  }

 private:
  Device device() const { return Device::cuda(device_); }
  int rank_, size_, device_ = 0;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_over(Communicator& bootstrap) {
  LETHE_CHECK(bootstrap.backend() == "mpi" || bootstrap.size() == 1,
              "nccl: bootstrap over an MPI communicator, got " << bootstrap.backend());
  return std::make_unique<Nccl>(bootstrap);
}

}  // namespace lethe::comm::detail

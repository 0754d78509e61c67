// A rank's share of a step's batch (batch_share.h).
#include "models/batch_share.h"

#include "autograd/ops.h"
#include "engine/error.h"

namespace lethe::models {

namespace {
thread_local const BatchShare* g_current = nullptr;
}

BatchShare::BatchShare(comm::Communicator* comm, int64_t rows) : rows_(rows), end_(rows) {
  if (comm && comm->size() > 1) {
    comm_ = comm;
    std::tie(begin_, end_) = comm::share(rows, comm->rank(), comm->size());
    outer_ = g_current;
    g_current = this;
  }
}

BatchShare::BatchShare(int64_t rows) : BatchShare(g_current ? &g_current->comm() : nullptr, rows) {}

BatchShare::~BatchShare() {
  if (comm_) g_current = outer_;
}

const BatchShare* BatchShare::current() { return g_current; }

Batch BatchShare::take(const Batch& b) const {
  LETHE_ASSERT(b.size() == rows_, "batch share of " << rows_ << " rows given a batch of " << b.size());
  if (!comm_) return b;
  Batch out;
  out.users = b.users.row_range(begin_, end_);
  out.pos = b.pos.row_range(begin_, end_);
  out.neg = b.neg.row_range(begin_, end_);
  return out;
}

autograd::Var batch_mean(const autograd::Var& x) {
  const BatchShare* s = BatchShare::current();
  if (!s) return autograd::mean(x);
  LETHE_ASSERT(x.value().numel() == s->local_rows(),
               "batch_mean: " << x.value().describe() << " on a share of " << s->local_rows() << " rows");
  if (s->local_rows() == 0) return autograd::constant(Tensor::zeros({1}, x.dtype(), x.device()));
  return autograd::scale(autograd::mean(x),
                         static_cast<double>(s->local_rows()) / static_cast<double>(s->rows()));
}

}  // namespace lethe::models

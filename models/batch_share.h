// A rank's share of a step's batch (docs/scaling.md, "Data-parallel steps").
//
// Every rank draws the same whole batch from the one seeded stream; while a BatchShare lives, this rank
// trains on rows [begin, end) of it, and the losses of models/losses.h return this rank's part of the whole
// batch's loss: means divide by the whole batch's rows, and a Frobenius norm is taken over every rank's rows
// (autograd/collective.h). The parts add up to the one-process loss, so the summed gradients are the
// one-process gradient up to the order of the additions. Without a live share (one process), nothing changes.
#pragma once

#include <cstdint>

#include "autograd/var.h"
#include "engine/comm/communicator.h"
#include "models/model.h"

namespace lethe::models {

class BatchShare {
 public:
  // This rank's share of a batch of `rows` rows over `comm` (null or one rank: no share, the whole batch).
  BatchShare(comm::Communicator* comm, int64_t rows);
  // The same over the communicator of the enclosing share (none: the whole batch), for a second batch drawn
  // inside a step (MMRecUn's retain batch).
  explicit BatchShare(int64_t rows);
  ~BatchShare();
  BatchShare(const BatchShare&) = delete;
  BatchShare& operator=(const BatchShare&) = delete;

  bool active() const { return comm_ != nullptr; }
  // This rank's rows of b (b itself without a share).
  Batch take(const Batch& b) const;
  int64_t rows() const { return rows_; }  // the whole batch
  int64_t local_rows() const { return end_ - begin_; }
  comm::Communicator& comm() const { return *comm_; }

  // The innermost live share of this thread, or null.
  static const BatchShare* current();

 private:
  comm::Communicator* comm_ = nullptr;
  int64_t rows_ = 0, begin_ = 0, end_ = 0;
  const BatchShare* outer_ = nullptr;
};

// The mean of x ([local rows]) over the batch: mean(x) without a share; on a share, this rank's part of the
// whole batch's mean (sum of its rows / the whole batch's rows; 0 with no rows).
autograd::Var batch_mean(const autograd::Var& x);

}  // namespace lethe::models

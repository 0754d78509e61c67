// Differentiable collectives for data-parallel losses (docs/scaling.md, "Data-parallel steps").
#pragma once

#include "autograd/var.h"
#include "engine/comm/communicator.h"

namespace lethe::autograd {

// The Frobenius norm of the rows every rank of `comm` holds together: sqrt(sum over ranks of each rank's
// sum of squares of x). Every rank gets the same value; with one rank it is frobenius(x). For a loss term
// that needs the whole batch's norm (MMRec's EmbLoss) while each rank holds a share of its rows.
//
// Backward, with no communication: the job minimises the sum of the ranks' losses, and every rank uses the
// norm in the same way (it is replicated), so the gradient of that sum with respect to this rank's x is P
// times this rank's own (P ranks). A loss that uses the norm must add the same term on every rank divided by
// P. At norm 0 the gradient is 0, as frobenius.
Var frobenius_over_ranks(const Var& x, comm::Communicator& comm);

}  // namespace lethe::autograd

// The MPI communicator and the sharded losses, run as 2 ranks by ctest (`mpirun -np 2 test_mpi_ranks`;
// docs/scaling.md, "Communicators"). Every rank runs every test; each rank can compute every rank's input, so
// each checks the collective's result against the sum it expects in rank order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "autograd/collective.h"
#include "autograd/ops.h"
#include "engine/comm/communicator.h"
#include "engine/device.h"
#include "engine/rng.h"
#include "models/batch_share.h"
#include "models/losses.h"

namespace {

using namespace lethe;

comm::Communicator& world() { return comm::world(); }

// Rank r's values: seeded by r, spread over magnitudes so that the order of additions shows in the bits.
std::vector<double> values_of(int rank, int64_t n) {
  Rng rng(100 + static_cast<uint64_t>(rank));
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = (rng.uniform() - 0.5) * std::pow(10.0, 8.0 * rng.uniform() - 4.0);
  return v;
}

TEST(MpiRanks, RunsAsSeveralRanksOfTheMpiBackend) {
  EXPECT_EQ(world().backend(), "mpi");
  EXPECT_GE(world().size(), 2);
}

TEST(MpiRanks, AllreduceAddsInRankOrderAndEveryRankGetsTheSameBits) {
  const int P = world().size();
  for (const int64_t n : {int64_t(1), int64_t(7), int64_t(1000)}) {  // fewer elements than ranks too
    for (const DType dt : {DType::F32, DType::F64}) {
      Tensor t = Tensor::from_vector(values_of(world().rank(), n), Shape{n}).astype(dt);
      world().allreduce_sum(t);
      Tensor expect = Tensor::from_vector(values_of(0, n), Shape{n}).astype(dt);
      for (int r = 1; r < P; ++r) {  // ((x0 + x1) + x2) + ... in t's dtype
        const Tensor x = Tensor::from_vector(values_of(r, n), Shape{n}).astype(dt);
        if (dt == DType::F32)
          for (int64_t i = 0; i < n; ++i) expect.data<float>()[i] += x.data<float>()[i];
        else
          for (int64_t i = 0; i < n; ++i) expect.data<double>()[i] += x.data<double>()[i];
      }
      EXPECT_EQ(std::memcmp(t.raw(), expect.raw(), t.nbytes()), 0) << "n " << n << " " << dtype_name(dt);
      const Tensor all = world().allgather_rows(t.reshape({1, n}));
      for (int r = 1; r < P; ++r)
        EXPECT_EQ(std::memcmp(all.row_range(r, r + 1).raw(), all.row_range(0, 1).raw(), t.nbytes()), 0);
    }
  }
}

TEST(MpiRanks, AllgatherRowsConcatenatesUnequalPartsInRankOrder) {
  const int me = world().rank(), P = world().size();
  std::vector<int32_t> mine;
  for (int i = 0; i <= me; ++i) mine.insert(mine.end(), {me, i, 7});  // rank r holds r + 1 rows of width 3
  const Tensor all = world().allgather_rows(Tensor::from_vector(mine, Shape{me + 1, 3}));
  std::vector<int32_t> expect;
  for (int r = 0; r < P; ++r)
    for (int i = 0; i <= r; ++i) expect.insert(expect.end(), {r, i, 7});
  EXPECT_EQ(all.shape(), (Shape{static_cast<int64_t>(expect.size() / 3), 3}));
  EXPECT_EQ(all.to_vector<int32_t>(), expect);
  // A rank with no rows takes part too.
  const Tensor some = world().allgather_rows(me == 0 ? Tensor::zeros({0, 2}, DType::F32)
                                                     : Tensor::full({1, 2}, me, DType::F32));
  EXPECT_EQ(some.rows(), P - 1);
}

TEST(MpiRanks, BroadcastCopiesTheRootsTensor) {
  Tensor t = Tensor::full({4}, world().rank() == 1 ? 3.5 : -1.0, DType::F64);
  world().broadcast(t, 1);
  EXPECT_EQ(t.to_vector<double>(), std::vector<double>(4, 3.5));
}

// LightGCN's loss shape (BPR with MMRec's log form + EmbLoss of the gathered rows) on a batch of `rows`
// rows: the ranks' shares give the one-process loss and gradient up to reassociation.
void check_shared_loss_matches_one_process(int64_t rows) {
  const int64_t n_users = 9, n_items = 11, d = 4;
  Rng rng(7);
  auto table = [&](int64_t n) {
    std::vector<double> v(static_cast<size_t>(n * d));
    for (auto& x : v) x = rng.normal();
    return Tensor::from_vector(v, Shape{n, d});
  };
  const Tensor U = table(n_users), I = table(n_items);
  std::vector<int32_t> u(rows), p(rows), q(rows);
  for (int64_t k = 0; k < rows; ++k)
    u[k] = static_cast<int32_t>(rng.next_u32() % n_users),
    p[k] = static_cast<int32_t>(rng.next_u32() % n_items),
    q[k] = static_cast<int32_t>(rng.next_u32() % n_items);
  models::Batch b{Tensor::from_vector(u, Shape{rows}), Tensor::from_vector(p, Shape{rows}),
                  Tensor::from_vector(q, Shape{rows})};
  auto loss_of = [&](const autograd::Var& users, const autograd::Var& items, const models::Batch& bb) {
    const autograd::Var eu = autograd::gather_rows(users, bb.users),
                        ep = autograd::gather_rows(items, bb.pos), en = autograd::gather_rows(items, bb.neg);
    return autograd::add(models::bpr_loss_mmrec(autograd::rowdot(eu, ep), autograd::rowdot(eu, en)),
                         autograd::scale(models::emb_loss({eu, ep, en}), 0.1));
  };
  // One process.
  const autograd::Var u1 = autograd::param(U.clone()), i1 = autograd::param(I.clone());
  const autograd::Var l1 = loss_of(u1, i1, b);
  autograd::backward(l1);
  // This rank's share, then the sums over the ranks.
  const autograd::Var u2 = autograd::param(U.clone()), i2 = autograd::param(I.clone());
  autograd::Var l2;
  {
    const models::BatchShare share(&world(), rows);
    l2 = loss_of(u2, i2, share.take(b));
  }
  if (l2.requires_grad()) autograd::backward(l2);
  Tensor loss = l2.value().clone();
  world().allreduce_sum(loss);
  EXPECT_NEAR(loss.item(), l1.value().item(), 1e-12 * std::abs(l1.value().item())) << rows << " rows";
  for (const auto& [one, two] : {std::pair{u1, u2}, std::pair{i1, i2}}) {
    Tensor g = two.grad().defined() ? two.grad().clone() : Tensor::zeros(one.value().shape(), DType::F64);
    world().allreduce_sum(g);
    const auto a = one.grad().to_vector<double>(), c = g.to_vector<double>();
    for (size_t k = 0; k < a.size(); ++k)
      EXPECT_NEAR(c[k], a[k], 1e-12 * (1 + std::abs(a[k]))) << rows << " rows, entry " << k;
  }
}

TEST(MpiRanks, ShardedLossesSumToTheOneProcessLossAndGradient) {
  check_shared_loss_matches_one_process(13);
  check_shared_loss_matches_one_process(1);  // fewer rows than ranks: a rank with an empty share
}

TEST(MpiRanks, InfoNceRefusesAShare) {
  const autograd::Var a = autograd::param(Tensor::full({4, 3}, 1.0, DType::F64));
  const models::BatchShare share(&world(), 8);
  EXPECT_THROW(models::info_nce(a, a, 0.2), Error);
}

// NCCL (docs/scaling.md, "Communicators"), the one-rank check a single GPU allows: every collective goes
// through NCCL and gives the bits the host computes, for device tensors and staged host tensors. Run by ctest
// as `mpirun -np 1 test_mpi_ranks --gtest_filter='NcclRanks.*'` in builds with NCCL; skipped without a GPU,
// and in the 2-rank job (NCCL refuses two ranks on one GPU, and the suite does not assume two GPUs).
TEST(NcclRanks, OneRankCollectivesGiveTheHostsBits) {
  if (!comm::built_with_nccl()) GTEST_SKIP() << "this build has no NCCL";
  if (!cuda_available()) GTEST_SKIP() << "no usable GPU";
  if (world().size() > 1) GTEST_SKIP() << "one rank per GPU: the NCCL check runs as its own 1-rank job";
  const std::unique_ptr<comm::Communicator> nccl = comm::make_nccl(world());
  ASSERT_EQ(nccl->backend(), "nccl");
  ASSERT_EQ(nccl->size(), 1);
  for (const int64_t n : {int64_t(1), int64_t(1000)}) {
    for (const DType dt : {DType::F32, DType::F64}) {
      const Tensor host = Tensor::from_vector(values_of(0, n), Shape{n}).astype(dt);
      Tensor dev = host.to(Device::cuda());
      nccl->allreduce_sum(dev);
      EXPECT_EQ(std::memcmp(dev.to(Device::cpu()).raw(), host.raw(), host.nbytes()), 0)
          << n << " " << dtype_name(dt);
      Tensor staged = host.clone();  // a host tensor goes through the device and comes back
      nccl->allreduce_sum(staged);
      EXPECT_EQ(std::memcmp(staged.raw(), host.raw(), host.nbytes()), 0);
    }
  }
  const Tensor rows = Tensor::from_vector(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, Shape{2, 3});
  EXPECT_EQ(nccl->allgather_rows(rows.to(Device::cuda())).to(Device::cpu()).to_vector<int32_t>(),
            rows.to_vector<int32_t>());
  EXPECT_EQ(nccl->allgather_rows(rows).to_vector<int32_t>(), rows.to_vector<int32_t>());
  EXPECT_EQ(nccl->allgather_rows(Tensor::zeros({0, 3}, DType::I32)).rows(), 0);
  Tensor b = Tensor::full({4}, 2.5, DType::F64, Device::cuda());
  nccl->broadcast(b, 0);
  EXPECT_EQ(b.to(Device::cpu()).to_vector<double>(), std::vector<double>(4, 2.5));
  nccl->barrier();
}

}  // namespace

// BPR matrix factorisation (docs/models.md, "BPR"): user / item tables (xavier_normal), score <u, i>,
// loss = BPRLoss(MMRec form) + reg_weight * EmbLoss(u_b, p_b, n_b).
#include "engine/error.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/zoo.h"

namespace lethe::models {

namespace {

class Bpr final : public Model {
 public:
  Bpr(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
    config_ = c;
    device_ = dev;
    check_train_data(d, "bpr");
    const int64_t dim = config_positive_int(c, "embedding_size");
    reg_weight_ = config_in_range(c, "reg_weight", 0.0, 1e9);
    const DType dt = model_dtype(c);
    Rng rng(seed);
    user_ = params_.add("u_embedding", xavier_normal(d.n_users, dim, rng, dt, dev));
    item_ = params_.add("i_embedding", xavier_normal(d.n_items, dim, rng, dt, dev));
    set_data(d);
  }
  std::string name() const override { return "bpr"; }
  std::string user_table() const override { return "u_embedding"; }
  std::string item_table() const override { return "i_embedding"; }
  IdInit id_init() const override { return IdInit::XavierNormal; }
  std::vector<std::pair<std::string, autograd::Var>> parameters() override { return params_.items(); }
  void set_data(const TrainData& d) override {
    check_train_data(d, "bpr");
    LETHE_CHECK(d.n_users == user_.rows() && d.n_items == item_.rows(),
                "bpr: data has " << d.n_users << " users / " << d.n_items << " items, the model "
                                 << user_.rows() << " / " << item_.rows());
    // Matrix factorisation has no structure derived from the data.
  }
  Forward forward(bool) override { return {user_, item_, {}}; }
  autograd::Var loss(const Forward& f, const Batch& b) override {
    const autograd::Var u = autograd::gather_rows(f.users, b.users),
                        p = autograd::gather_rows(f.items, b.pos), n = autograd::gather_rows(f.items, b.neg);
    const autograd::Var mf = bpr_loss_mmrec(autograd::rowdot(u, p), autograd::rowdot(u, n));
    return autograd::add(mf, autograd::scale(emb_loss({u, p, n}), reg_weight_));
  }

 private:
  ParamList params_;
  autograd::Var user_, item_;
  double reg_weight_ = 0;
};

}  // namespace

std::unique_ptr<Model> make_bpr(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
  return std::make_unique<Bpr>(c, d, seed, dev);
}

}  // namespace lethe::models

// LightGCN: ego = [user_emb; item_emb] (xavier_uniform), propagated n_layers times over the
// symmetric D^-1/2 A D^-1/2 (+1e-7) bipartite adjacency, final = mean of all layers (layer 0 included).
// Loss = BPRLoss(MMRec form) on final rows + reg_weight * EmbLoss on the ego rows of u, p, n.
// See docs/models.md, "LightGCN".
#include "datasets/graphs.h"
#include "engine/error.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/zoo.h"

namespace lethe::models {

namespace {

class LightGcn final : public Model {
 public:
  LightGcn(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
    config_ = c;
    device_ = dev;
    check_train_data(d, "lightgcn");
    const int64_t dim = config_positive_int(c, "embedding_size");
    n_layers_ = config_nonneg_int(c, "n_layers");
    reg_weight_ = config_in_range(c, "reg_weight", 0.0, 1e9);
    dtype_ = model_dtype(c);
    n_users_ = d.n_users;
    Rng rng(seed);
    user_ = params_.add("user_embedding.weight", xavier_uniform(d.n_users, dim, rng, dtype_, dev));
    item_ = params_.add("item_embedding.weight", xavier_uniform(d.n_items, dim, rng, dtype_, dev));
    set_data(d);
  }
  std::string name() const override { return "lightgcn"; }
  std::string user_table() const override { return "user_embedding.weight"; }
  std::string item_table() const override { return "item_embedding.weight"; }
  std::vector<std::pair<std::string, autograd::Var>> parameters() override { return params_.items(); }
  void set_data(const TrainData& d) override {
    check_train_data(d, "lightgcn");
    LETHE_CHECK(d.n_users == user_.rows() && d.n_items == item_.rows(),
                "lightgcn: data has " << d.n_users << " users / " << d.n_items << " items, the model "
                                      << user_.rows() << " / " << item_.rows());
    adj_ = datasets::bipartite_sym_adj(d.train, d.n_users, d.n_items, 1e-7).astype(dtype_).to(device_);
  }
  Forward forward(bool) override {
    const autograd::Var all = lightgcn_propagate(adj_, autograd::concat_rows({user_, item_}), n_layers_);
    const int64_t n = all.rows();
    return {autograd::slice_rows(all, 0, n_users_), autograd::slice_rows(all, n_users_, n), {}};
  }
  autograd::Var loss(const Forward& f, const Batch& b) override {
    const autograd::Var u = autograd::gather_rows(f.users, b.users),
                        p = autograd::gather_rows(f.items, b.pos), n = autograd::gather_rows(f.items, b.neg);
    const autograd::Var mf = bpr_loss_mmrec(autograd::rowdot(u, p), autograd::rowdot(u, n));
    const autograd::Var reg =
        emb_loss({autograd::gather_rows(user_, b.users), autograd::gather_rows(item_, b.pos),
                  autograd::gather_rows(item_, b.neg)});
    return autograd::add(mf, autograd::scale(reg, reg_weight_));
  }

 private:
  ParamList params_;
  autograd::Var user_, item_;
  Csr adj_;
  int64_t n_layers_ = 2, n_users_ = 0;
  double reg_weight_ = 0;
  DType dtype_ = DType::F32;
};

}  // namespace

std::unique_ptr<Model> make_lightgcn(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
  return std::make_unique<LightGcn>(c, d, seed, dev);
}

}  // namespace lethe::models

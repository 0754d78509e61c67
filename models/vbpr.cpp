// VBPR (docs/models.md, "VBPR"): user table U x 2d, item ID table I x d (xavier_uniform), item_linear
// Linear(text_width + image_width -> d) (xavier_normal weight, zero bias) over the constant raw features
// concatenated text first, then image. Item repr = [i_id, item_linear(features)] (2d). No bias terms.
// Loss = BPRLoss(MMRec form) + reg_weight * EmbLoss(u_b, p_b, n_b) on the 2d final rows.
#include "engine/error.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/zoo.h"

namespace lethe::models {

namespace {

class Vbpr final : public Model {
 public:
  Vbpr(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
    config_ = c;
    device_ = dev;
    check_train_data(d, "vbpr");
    const int64_t dim = config_positive_int(c, "embedding_size");
    reg_weight_ = config_in_range(c, "reg_weight", 0.0, 1e9);
    dtype_ = model_dtype(c);
    set_data(d);  // features first: item_linear's input width comes from them
    Rng rng(seed);
    user_ = params_.add("u_embedding", xavier_uniform(d.n_users, 2 * dim, rng, dtype_, dev));
    item_ = params_.add("i_embedding", xavier_uniform(d.n_items, dim, rng, dtype_, dev));
    const int64_t in = features_.cols();
    lin_.w = autograd::param(xavier_normal(dim, in, rng, dtype_, dev));
    lin_.b = autograd::param(Tensor::zeros({dim}, dtype_, dev));
    params_.add_linear("item_linear", lin_);
  }
  std::string name() const override { return "vbpr"; }
  std::string user_table() const override { return "u_embedding"; }
  std::string item_table() const override { return "i_embedding"; }
  std::vector<ModalityUse> modality_uses() const override {
    return {{text_modality_, {}, {"item features (constant input of item_linear)"}},
            {image_modality_, {}, {"item features (constant input of item_linear)"}}};
  }
  std::vector<std::pair<std::string, autograd::Var>> parameters() override { return params_.items(); }
  void set_data(const TrainData& d) override {
    check_train_data(d, "vbpr");
    LETHE_CHECK(!user_.defined() || (d.n_users == user_.rows() && d.n_items == item_.rows()),
                "vbpr: data has " << d.n_users << " users / " << d.n_items << " items, the model "
                                  << user_.rows() << " / " << item_.rows());
    text_modality_ = slot_modality(d, "text");
    image_modality_ = slot_modality(d, "image");
    Tensor t = feature_table(d, "text", dtype_, device_), v = feature_table(d, "image", dtype_, device_);
    Tensor f = ops::concat_cols({t, v});
    LETHE_CHECK(!features_.defined() || f.cols() == features_.cols(),
                "vbpr: feature width changed from " << features_.cols() << " to " << f.cols());
    features_ = f;  // constants: MMRec's VBPR does not fine-tune the raw features
  }
  Forward forward(bool) override {
    const autograd::Var items = autograd::concat_cols({item_, lin_(autograd::constant(features_))});
    return {user_, items, {}};
  }
  autograd::Var loss(const Forward& f, const Batch& b) override {
    const autograd::Var u = autograd::gather_rows(f.users, b.users),
                        p = autograd::gather_rows(f.items, b.pos), n = autograd::gather_rows(f.items, b.neg);
    const autograd::Var mf = bpr_loss_mmrec(autograd::rowdot(u, p), autograd::rowdot(u, n));
    return autograd::add(mf, autograd::scale(emb_loss({u, p, n}), reg_weight_));
  }

 private:
  ParamList params_;
  autograd::Var user_, item_;
  Linear lin_;
  Tensor features_;                             // [I, text + image]
  std::string text_modality_, image_modality_;  // the data modalities filling the two slots
  double reg_weight_ = 0;
  DType dtype_ = DType::F32;
};

}  // namespace

std::unique_ptr<Model> make_vbpr(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
  return std::make_unique<Vbpr>(c, d, seed, dev);
}

}  // namespace lethe::models

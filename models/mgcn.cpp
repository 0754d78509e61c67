// MGCN. Behaviour-guided purifier: x_m = item_emb * sigmoid(gate_m(f_m)), f_m = m_trs(table_m)
// (trainable feature tables); content = LightGCN over D^-1/2 A D^-1/2 (no epsilon, n_ui_layers, mean incl.
// layer 0); per modality x_m <- S_m^{n_layers} x_m (frozen sym-normalised cosine kNN of the raw features),
// E_m = [R x_m; x_m] (R: the normalised user-item block); behaviour-aware fuser: a = softmax_rows([q(E_v),
// q(E_t)]) (q = Linear -> tanh -> Linear(no bias)), common = a_v E_v + a_t E_t, sep_m =
// sigmoid(prefer_m(content)) * (E_m - common), side = (sep_v + sep_t + common) / 3, final = content + side.
// Loss = BPR (logsigmoid) + reg_weight (1/2 sum sq of u, p, n) / train_batch_size
//        + cl_loss [InfoNCE(side_items[p], content_items[p]) + InfoNCE(side_users[u], content_users[u])], tau
//        0.2.
// See docs/models.md, "MGCN".
#include "datasets/graphs.h"
#include "engine/error.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/zoo.h"

namespace lethe::models {

namespace {

constexpr double kTau = 0.2;  // hard-coded in MMRec's calculate_loss (self.tau = 0.5 is unused)

// The side (item-item views, fused) and content (user-item view) embeddings of all nodes, which the
// contrastive term of the loss compares.
struct MgcnAux final : ForwardAux {
  autograd::Var side, content;
  std::vector<autograd::Var> tensors() const override { return {side, content}; }
};

class Mgcn final : public Model {
 public:
  Mgcn(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
    config_ = c;
    device_ = dev;
    check_train_data(d, "mgcn");
    const int64_t dim = config_positive_int(c, "embedding_size");
    knn_k_ = config_positive_int(c, "knn_k");
    n_layers_ = config_nonneg_int(c, "n_layers");
    n_ui_layers_ = config_nonneg_int(c, "n_ui_layers");
    reg_weight_ = config_in_range(c, "reg_weight", 0.0, 1e9);
    cl_weight_ = config_in_range(c, "cl_loss", 0.0, 1e9);
    batch_size_ = config_positive_int(c, "train_batch_size");
    dtype_ = model_dtype(c);
    n_users_ = d.n_users;
    n_items_ = d.n_items;
    Rng rng(seed);
    // Registration order follows MMRec's module order (torch state_dict names).
    user_ = params_.add("user_embedding.weight", xavier_uniform(d.n_users, dim, rng, dtype_, dev));
    item_ = params_.add("item_id_embedding.weight", xavier_uniform(d.n_items, dim, rng, dtype_, dev));
    image_modality_ = slot_modality(d, "image");
    text_modality_ = slot_modality(d, "text");
    image_ = params_.add("image_embedding.weight", feature_table(d, "image", dtype_, dev));
    image_trs_ = linear_default(image_.cols(), dim, true, rng, dtype_, dev);
    params_.add_linear("image_trs", image_trs_);
    text_ = params_.add("text_embedding.weight", feature_table(d, "text", dtype_, dev));
    text_trs_ = linear_default(text_.cols(), dim, true, rng, dtype_, dev);
    params_.add_linear("text_trs", text_trs_);
    query_1_ = linear_default(dim, dim, true, rng, dtype_, dev);
    query_2_ = linear_default(dim, 1, false, rng, dtype_, dev);
    params_.add_linear("query_common.0", query_1_);
    params_.add_linear("query_common.2", query_2_);
    const char* gates[] = {"gate_v.0", "gate_t.0", "gate_image_prefer.0", "gate_text_prefer.0"};
    Linear* slots[] = {&gate_v_, &gate_t_, &gate_image_prefer_, &gate_text_prefer_};
    for (int g = 0; g < 4; ++g) {
      *slots[g] = linear_default(dim, dim, true, rng, dtype_, dev);
      params_.add_linear(gates[g], *slots[g]);
    }
    set_data(d);
  }
  std::string name() const override { return "mgcn"; }
  std::string user_table() const override { return "user_embedding.weight"; }
  std::string item_table() const override { return "item_id_embedding.weight"; }
  std::vector<ModalityUse> modality_uses() const override {
    return {{image_modality_,
             {"image_embedding.weight"},
             {"image_adj (kNN graph)"},
             {"image_trs.weight", "image_trs.bias", "gate_v.0.weight", "gate_v.0.bias",
              "gate_image_prefer.0.weight", "gate_image_prefer.0.bias"}},
            {text_modality_,
             {"text_embedding.weight"},
             {"text_adj (kNN graph)"},
             {"text_trs.weight", "text_trs.bias", "gate_t.0.weight", "gate_t.0.bias",
              "gate_text_prefer.0.weight", "gate_text_prefer.0.bias"}}};
  }
  std::vector<std::pair<std::string, autograd::Var>> parameters() override { return params_.items(); }

  void set_data(const TrainData& d) override {
    check_train_data(d, "mgcn");
    LETHE_CHECK(d.n_users == n_users_ && d.n_items == n_items_,
                "mgcn: data has " << d.n_users << " users / " << d.n_items << " items, the model " << n_users_
                                  << " / " << n_items_);
    norm_adj_ = datasets::bipartite_sym_adj(d.train, d.n_users, d.n_items, 0.0).astype(dtype_).to(device_);
    r_ = datasets::user_item_matrix(d.train, d.n_users, d.n_items, true).astype(dtype_).to(device_);
    // Frozen item graphs from the raw features of `d`; dropped items get no edges.
    const std::vector<uint8_t> active = active_items(d);
    const Tensor& image = raw_feature(d, "image");
    const Tensor& text = raw_feature(d, "text");
    const uint64_t image_key = item_graph_key({&image}, active, static_cast<uint64_t>(knn_k_));
    const uint64_t text_key = item_graph_key({&text}, active, static_cast<uint64_t>(knn_k_));
    // A modality's graph is rebuilt only when its inputs changed (a modality request rebuilds just that one).
    if (image_adj_.rows == 0 || image_key != image_key_) {
      image_adj_ = datasets::knn_graph(image, knn_k_, datasets::KnnWeight::Cosine, &active, 1024, device_)
                       .astype(dtype_)
                       .to(device_);
      image_key_ = image_key;
    }
    if (text_adj_.rows == 0 || text_key != text_key_) {
      text_adj_ = datasets::knn_graph(text, knn_k_, datasets::KnnWeight::Cosine, &active, 1024, device_)
                      .astype(dtype_)
                      .to(device_);
      text_key_ = text_key;
    }
  }

  Forward forward(bool training) override {
    const autograd::Var f_v = image_trs_(image_), f_t = text_trs_(text_);
    // Behaviour-guided purifier.
    autograd::Var x_v = autograd::mul(item_, autograd::sigmoid(gate_v_(f_v)));
    autograd::Var x_t = autograd::mul(item_, autograd::sigmoid(gate_t_(f_t)));
    // User-item view.
    const autograd::Var content =
        lightgcn_propagate(norm_adj_, autograd::concat_rows({user_, item_}), n_ui_layers_);
    // Item-item views.
    for (int64_t l = 0; l < n_layers_; ++l) {
      x_v = autograd::spmm(image_adj_, x_v);
      x_t = autograd::spmm(text_adj_, x_t);
    }
    const autograd::Var e_v = autograd::concat_rows({autograd::spmm(r_, x_v), x_v});
    const autograd::Var e_t = autograd::concat_rows({autograd::spmm(r_, x_t), x_t});
    // Behaviour-aware fuser.
    auto query = [&](const autograd::Var& e) { return query_2_(autograd::tanh(query_1_(e))); };  // [N, 1]
    const autograd::Var att =
        autograd::softmax_rows(autograd::concat_cols({query(e_v), query(e_t)}));  // [N, 2]
    const autograd::Var common = autograd::add(autograd::scale_rows(e_v, autograd::slice_cols(att, 0, 1)),
                                               autograd::scale_rows(e_t, autograd::slice_cols(att, 1, 2)));
    const autograd::Var sep_v =
        autograd::mul(autograd::sigmoid(gate_image_prefer_(content)), autograd::sub(e_v, common));
    const autograd::Var sep_t =
        autograd::mul(autograd::sigmoid(gate_text_prefer_(content)), autograd::sub(e_t, common));
    const autograd::Var side = autograd::scale(autograd::add(autograd::add(sep_v, sep_t), common), 1.0 / 3.0);
    const autograd::Var all = autograd::add(content, side);
    const int64_t n = n_users_ + n_items_;
    Forward f;
    f.users = autograd::slice_rows(all, 0, n_users_);
    f.items = autograd::slice_rows(all, n_users_, n);
    if (training) {
      auto aux = std::make_shared<MgcnAux>();
      aux->side = side;
      aux->content = content;
      f.aux = std::move(aux);
    }
    return f;
  }

  autograd::Var loss(const Forward& f, const Batch& b) override {
    const MgcnAux& aux = aux_of<MgcnAux>(f, "mgcn");
    const autograd::Var u = autograd::gather_rows(f.users, b.users),
                        p = autograd::gather_rows(f.items, b.pos), ng = autograd::gather_rows(f.items, b.neg);
    const autograd::Var mf = bpr_rows_logsigmoid(u, p, ng);
    const autograd::Var reg = autograd::scale(half_sq_reg({u, p, ng}, batch_size_), reg_weight_);
    const int64_t n = n_users_ + n_items_;
    const autograd::Var& side = aux.side;
    const autograd::Var& content = aux.content;
    const autograd::Var cl_items =
        info_nce(autograd::gather_rows(autograd::slice_rows(side, n_users_, n), b.pos),
                 autograd::gather_rows(autograd::slice_rows(content, n_users_, n), b.pos), kTau);
    const autograd::Var cl_users =
        info_nce(autograd::gather_rows(autograd::slice_rows(side, 0, n_users_), b.users),
                 autograd::gather_rows(autograd::slice_rows(content, 0, n_users_), b.users), kTau);
    return autograd::add(autograd::add(mf, reg),
                         autograd::scale(autograd::add(cl_items, cl_users), cl_weight_));
  }

 private:
  ParamList params_;
  autograd::Var user_, item_, image_, text_;
  Linear image_trs_, text_trs_, query_1_, query_2_, gate_v_, gate_t_, gate_image_prefer_, gate_text_prefer_;
  Csr norm_adj_, r_, image_adj_, text_adj_;
  std::string image_modality_, text_modality_;  // the data modalities filling the two slots
  uint64_t image_key_ = 0, text_key_ = 0;       // item_graph_key of the inputs of each kNN graph
  int64_t knn_k_ = 10, n_layers_ = 1, n_ui_layers_ = 2, batch_size_ = 2048;
  int32_t n_users_ = 0, n_items_ = 0;
  double reg_weight_ = 1e-4, cl_weight_ = 0.01;
  DType dtype_ = DType::F32;
};

}  // namespace

std::unique_ptr<Model> make_mgcn(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
  return std::make_unique<Mgcn>(c, d, seed, dev);
}

}  // namespace lethe::models

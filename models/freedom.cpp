// FREEDOM: LightGCN (n_ui_layers, mean incl. layer 0) over a degree-sensitively pruned
// bipartite graph resampled every epoch (full sym-normalised graph at evaluation), plus a frozen item-item
// graph mm_adj = w_v S_v + (1 - w_v) S_t (binary cosine kNN of the raw features, entries 1/(k + 1e-7)):
//   h = mm_adj^{n_mm_layers} item_emb;  user_final = u_g;  item_final = i_g + h.
// Loss = BPR(u, p, n) + reg_weight [BPR(u, f_t[p], f_t[n]) + BPR(u, f_v[p], f_v[n])] (logsigmoid form),
// f_t = text_trs(text_embedding), f_v = image_trs(image_embedding); the feature tables are trainable copies
// of the raw features (MMRec fine-tunes them). See docs/models.md, "FREEDOM".
//
// MMRec projects every item's features every batch, though its loss reads only the batch's rows of f_t and
// f_v (through gathers). Config `feature_projection` (docs/models.md, "FREEDOM's batch-row projection"):
// `batch` (default) projects only the rows the batch reads, `dense` every item as MMRec. The two give the
// same loss and gradients: an item outside the batch gets a zero gradient in both (its projected row is
// never read), the rows inside get the same terms; and Adam's state is dense either way, so rows with a
// zero gradient still take their momentum step. tests/models/test_freedom_projection.cpp checks it.
#include "datasets/graphs.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "models/freedom_graphs.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/zoo.h"

namespace lethe::models {

namespace {

// What the loss reads beyond the embeddings. Dense projection: the projected tables f_t and f_v over all
// items. Batch-row projection: nothing (the loss projects the batch's rows of the feature tables itself),
// only the mark that this is a training-view forward.
struct FreedomAux final : ForwardAux {
  autograd::Var text_feats, image_feats;  // undefined under batch-row projection
  std::vector<autograd::Var> tensors() const override {
    if (!text_feats.defined()) return {};
    return {text_feats, image_feats};
  }
};

// The rows of the feature tables a batch reads, and where each positive / negative item sits among them.
struct BatchRows {
  Tensor rows;      // I32 [R]: item ids to project
  Tensor pos, neg;  // I32 [B]: index into rows of each positive / negative item
};

// Host batch: the distinct items of pos and neg in ascending order (each projected once). Elsewhere (GPU):
// pos then neg as they come, duplicates included, so that nothing is read back to the host per batch.
BatchRows batch_rows(const Batch& b, int32_t n_items) {
  const int64_t n = b.size();
  LETHE_CHECK(
      b.pos.dtype() == DType::I32 && b.neg.dtype() == DType::I32 && b.pos.numel() == n && b.neg.numel() == n,
      "freedom: batch pos / neg must be I32 [" << n << "], got " << b.pos.describe() << " / "
                                               << b.neg.describe());
  BatchRows r;
  if (!b.pos.device().is_cpu()) {
    r.rows = ops::concat_rows({b.pos, b.neg});
    std::vector<int32_t> at(static_cast<size_t>(2 * n));
    for (int64_t i = 0; i < 2 * n; ++i) at[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    r.pos = index_tensor(std::vector<int32_t>(at.begin(), at.begin() + n), b.pos.device());
    r.neg = index_tensor(std::vector<int32_t>(at.begin() + n, at.end()), b.pos.device());
    return r;
  }
  const int32_t* pp = b.pos.data<int32_t>();
  const int32_t* pn = b.neg.data<int32_t>();
  std::vector<int32_t> slot(static_cast<size_t>(n_items), -1);
  for (int64_t i = 0; i < n; ++i) {
    LETHE_CHECK(pp[i] >= 0 && pp[i] < n_items && pn[i] >= 0 && pn[i] < n_items,
                "freedom: batch item out of range [0, " << n_items << ") at position " << i << ": pos "
                                                        << pp[i] << ", neg " << pn[i]);
    slot[static_cast<size_t>(pp[i])] = 0;
    slot[static_cast<size_t>(pn[i])] = 0;
  }
  std::vector<int32_t> rows;
  for (int32_t item = 0; item < n_items; ++item)
    if (slot[static_cast<size_t>(item)] == 0) {
      slot[static_cast<size_t>(item)] = static_cast<int32_t>(rows.size());
      rows.push_back(item);
    }
  std::vector<int32_t> at_pos(static_cast<size_t>(n)), at_neg(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    at_pos[static_cast<size_t>(i)] = slot[static_cast<size_t>(pp[i])];
    at_neg[static_cast<size_t>(i)] = slot[static_cast<size_t>(pn[i])];
  }
  r.rows = index_tensor(rows, Device::cpu());
  r.pos = index_tensor(at_pos, Device::cpu());
  r.neg = index_tensor(at_neg, Device::cpu());
  return r;
}

class Freedom final : public Model {
 public:
  Freedom(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
    config_ = c;
    device_ = dev;
    check_train_data(d, "freedom");
    const int64_t dim = config_positive_int(c, "embedding_size");
    const int64_t feat_dim = config_positive_int(c, "feat_embed_dim");
    knn_k_ = config_positive_int(c, "knn_k");
    n_mm_layers_ = config_nonneg_int(c, "n_mm_layers");
    n_ui_layers_ = config_nonneg_int(c, "n_ui_layers");
    mm_image_weight_ = config_in_range(c, "mm_image_weight", 0.0, 1.0);
    dropout_ = config_in_range(c, "dropout", 0.0, 0.999999);
    reg_weight_ = config_in_range(c, "reg_weight", 0.0, 1e9);
    const std::string projection = c.get_string("feature_projection");
    LETHE_CHECK(projection == "batch" || projection == "dense",
                "freedom: feature_projection must be 'batch' or 'dense', got '" << projection << "'");
    batch_projection_ = projection == "batch";
    LETHE_CHECK(feat_dim == dim, "freedom: feat_embed_dim ("
                                     << feat_dim << ") must equal embedding_size (" << dim
                                     << "): the projected features are scored against users");
    dtype_ = model_dtype(c);
    n_users_ = d.n_users;
    n_items_ = d.n_items;
    Rng rng(seed);
    user_ = params_.add("user_embedding.weight", xavier_uniform(d.n_users, dim, rng, dtype_, dev));
    item_ = params_.add("item_id_embedding.weight", xavier_uniform(d.n_items, dim, rng, dtype_, dev));
    image_modality_ = slot_modality(d, "image");
    text_modality_ = slot_modality(d, "text");
    image_ = params_.add("image_embedding.weight", feature_table(d, "image", dtype_, dev));
    text_ = params_.add("text_embedding.weight", feature_table(d, "text", dtype_, dev));
    image_trs_ = linear_default(image_.cols(), feat_dim, true, rng, dtype_, dev);
    text_trs_ = linear_default(text_.cols(), feat_dim, true, rng, dtype_, dev);
    params_.add_linear("image_trs", image_trs_);
    params_.add_linear("text_trs", text_trs_);
    set_data(d);
  }
  std::string name() const override { return "freedom"; }
  std::string user_table() const override { return "user_embedding.weight"; }
  std::string item_table() const override { return "item_id_embedding.weight"; }
  std::vector<ModalityUse> modality_uses() const override {
    return {{image_modality_,
             {"image_embedding.weight"},
             {"mm_adj (kNN graph)"},
             {"image_trs.weight", "image_trs.bias"}},
            {text_modality_,
             {"text_embedding.weight"},
             {"mm_adj (kNN graph)"},
             {"text_trs.weight", "text_trs.bias"}}};
  }
  std::vector<std::pair<std::string, autograd::Var>> parameters() override { return params_.items(); }

  void set_data(const TrainData& d) override {
    check_train_data(d, "freedom");
    LETHE_CHECK(d.n_users == n_users_ && d.n_items == n_items_,
                "freedom: data has " << d.n_users << " users / " << d.n_items << " items, the model "
                                     << n_users_ << " / " << n_items_);
    train_ = d.train;
    norm_adj_ = datasets::bipartite_sym_adj(d.train, d.n_users, d.n_items, 1e-7).astype(dtype_).to(device_);
    // The frozen item graph comes from the raw features of `d` (not the fine-tuned tables), like MMRec's
    // mm_adj built at init; dropped items get no edges.
    const std::vector<uint8_t> active = active_items(d);
    const Tensor& image = raw_feature(d, "image");
    const Tensor& text = raw_feature(d, "text");
    const uint64_t key = item_graph_key({&image, &text}, active, static_cast<uint64_t>(knn_k_));
    if (mm_adj_.rows == 0 || key != mm_key_) {  // unchanged inputs give the same graph: keep it
      mm_adj_ =
          freedom_mm_adj(image, text, knn_k_, mm_image_weight_, &active, device_).astype(dtype_).to(device_);
      mm_key_ = key;
    }
    masked_adj_ = Csr();  // the pruned graph of the old data is stale: pre_epoch resamples it
    if (dropout_ <= 0.0) masked_adj_ = norm_adj_;
  }

  void pre_epoch(Rng& rng) override {
    if (dropout_ <= 0.0) {
      masked_adj_ = norm_adj_;
      return;
    }
    masked_adj_ = freedom_pruned_adj(train_, n_users_, n_items_, dropout_, rng).astype(dtype_).to(device_);
  }

  Forward forward(bool training) override {
    LETHE_CHECK(!training || masked_adj_.rows > 0,
                "freedom: forward(training) before pre_epoch: the pruned graph has not been sampled");
    const Csr& adj = training ? masked_adj_ : norm_adj_;
    autograd::Var h = item_;
    for (int64_t l = 0; l < n_mm_layers_; ++l) h = autograd::spmm(mm_adj_, h);
    const autograd::Var all = lightgcn_propagate(adj, autograd::concat_rows({user_, item_}), n_ui_layers_);
    Forward f;
    f.users = autograd::slice_rows(all, 0, n_users_);
    f.items = autograd::add(autograd::slice_rows(all, n_users_, n_users_ + n_items_), h);
    if (training) {  // the projected features only feed the loss
      auto aux = std::make_shared<FreedomAux>();
      if (!batch_projection_) {
        aux->text_feats = text_trs_(text_);
        aux->image_feats = image_trs_(image_);
      }
      f.aux = std::move(aux);
    }
    return f;
  }

  autograd::Var loss(const Forward& f, const Batch& b) override {
    const FreedomAux& aux = aux_of<FreedomAux>(f, "freedom");
    const autograd::Var u = autograd::gather_rows(f.users, b.users);
    const autograd::Var mf =
        bpr_rows_logsigmoid(u, autograd::gather_rows(f.items, b.pos), autograd::gather_rows(f.items, b.neg));
    autograd::Var mf_t, mf_v;
    if (aux.text_feats.defined()) {  // dense: gather the batch's rows of the projected tables
      const autograd::Var& ft = aux.text_feats;
      const autograd::Var& fv = aux.image_feats;
      mf_t = bpr_rows_logsigmoid(u, autograd::gather_rows(ft, b.pos), autograd::gather_rows(ft, b.neg));
      mf_v = bpr_rows_logsigmoid(u, autograd::gather_rows(fv, b.pos), autograd::gather_rows(fv, b.neg));
    } else {  // batch rows: project the rows the batch reads, then place them
      const BatchRows r = batch_rows(b, n_items_);
      const autograd::Var ft = text_trs_(autograd::gather_rows(text_, r.rows));
      const autograd::Var fv = image_trs_(autograd::gather_rows(image_, r.rows));
      mf_t = bpr_rows_logsigmoid(u, autograd::gather_rows(ft, r.pos), autograd::gather_rows(ft, r.neg));
      mf_v = bpr_rows_logsigmoid(u, autograd::gather_rows(fv, r.pos), autograd::gather_rows(fv, r.neg));
    }
    return autograd::add(mf, autograd::scale(autograd::add(mf_t, mf_v), reg_weight_));
  }

 private:
  ParamList params_;
  autograd::Var user_, item_, image_, text_;
  Linear image_trs_, text_trs_;
  datasets::Interactions train_;
  Csr norm_adj_, masked_adj_, mm_adj_;
  std::string image_modality_, text_modality_;  // the data modalities filling the two slots
  uint64_t mm_key_ = 0;                         // item_graph_key of the inputs mm_adj_ was built from
  int64_t knn_k_ = 10, n_mm_layers_ = 1, n_ui_layers_ = 2;
  int32_t n_users_ = 0, n_items_ = 0;
  double mm_image_weight_ = 0.1, dropout_ = 0.8, reg_weight_ = 1e-3;
  bool batch_projection_ = true;  // feature_projection: batch (true) or dense
  DType dtype_ = DType::F32;
};

}  // namespace

std::unique_ptr<Model> make_freedom(const Config& c, const TrainData& d, uint64_t seed, Device dev) {
  return std::make_unique<Freedom>(c, d, seed, dev);
}

}  // namespace lethe::models

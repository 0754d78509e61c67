// The tape: Var accessors, leaf and op node creation, gradient accumulation, backpropagation (iterative
// topological sort, closures run in reverse) and the thread-local grad-mode switch (NoGrad).
#include "autograd/var.h"

#include <unordered_set>
#include <utility>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/profile.h"

namespace lethe::autograd {

namespace {

thread_local bool t_grad_enabled = true;

Node& node_of(const std::shared_ptr<Node>& n, const char* what) {
  LETHE_CHECK(n != nullptr, "Var::" << what << ": undefined Var");
  return *n;
}

std::string sig(const Tensor& t) {
  return t.defined() ? std::string(dtype_name(t.dtype())) + shape_str(t.shape()) : std::string("undefined");
}

// A backward closure hands its input a gradient of the input's own shape, dtype and device; anything else is
// a bug in that closure (LETHE_ASSERT), not bad input.
void check_grad_shape(const Node& n, const Tensor& g) {
  LETHE_ASSERT(g.defined(), "accumulate: undefined gradient for " << n.op << " " << sig(n.value));
  LETHE_ASSERT(g.shape() == n.value.shape() && g.dtype() == n.value.dtype() && g.device() == n.value.device(),
               "accumulate: gradient " << g.describe() << " does not match the value " << n.value.describe()
                                       << " of op " << n.op);
}

}  // namespace

// ---- Var / Node -------------------------------------------------------------------------------------

const Tensor& Var::value() const { return node_of(node_, "value").value; }
Tensor& Var::mutable_value() { return node_of(node_, "mutable_value").value; }
const Tensor& Var::grad() const { return node_of(node_, "grad").grad; }
Tensor& Var::mutable_grad() { return node_of(node_, "mutable_grad").grad; }
bool Var::requires_grad() const { return node_ != nullptr && node_->requires_grad; }
const std::string& Var::name() const { return node_of(node_, "name").name; }
const char* Var::op() const { return node_of(node_, "op").op; }

Node::~Node() {
  // Default destruction would recurse once per graph level. Instead, nodes owned only by this chain are
  // moved to an explicit stack and emptied before they die, so each destructor call stays shallow.
  std::vector<std::shared_ptr<Node>> pending;
  auto release = [&pending](std::vector<Var>& ins) {
    for (const Var& v : ins)
      if (v.ptr() != nullptr && v.ptr().use_count() == 1) pending.push_back(v.ptr());
    ins.clear();
  };
  release(inputs);
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    release(n->inputs);
    n->backward = nullptr;
  }
}

Var param(Tensor value, std::string name) {
  LETHE_CHECK(value.defined(), "param: undefined tensor for '" << name << "'");
  LETHE_CHECK(is_float(value.dtype()), "param: '" << name << "' must be floating, got " << sig(value));
  auto n = std::make_shared<Node>();
  n->op = "param";
  n->name = std::move(name);
  n->value = std::move(value);
  n->requires_grad = true;
  return Var(std::move(n));
}

Var constant(Tensor value, std::string name) {
  LETHE_CHECK(value.defined(), "constant: undefined tensor for '" << name << "'");
  auto n = std::make_shared<Node>();
  n->op = "constant";
  n->name = std::move(name);
  n->value = std::move(value);
  return Var(std::move(n));
}

Var make_node(const char* op, Tensor value, std::vector<Var> inputs, std::function<void(Node&)> backward) {
  auto n = std::make_shared<Node>();
  n->op = op;
  n->value = std::move(value);
  bool any = false;
  for (const Var& v : inputs) any = any || v.requires_grad();
  if (grad_enabled() && any) {
    n->requires_grad = true;
    n->inputs = std::move(inputs);
    n->backward = std::move(backward);
  }
  return Var(std::move(n));
}

// ---- gradient accumulation --------------------------------------------------------------------------

void accumulate(const Var& v, const Tensor& g) {
  if (!v.requires_grad()) return;
  Node& n = *v.node();
  check_grad_shape(n, g);
  if (!n.grad.defined())
    n.grad = g.clone();  // a private copy: g may be another node's gradient or a view that changes later
  else
    ops::axpy(1.0, g, n.grad);
}

void accumulate_owned(const Var& v, Tensor g) {
  if (!v.requires_grad()) return;
  Node& n = *v.node();
  check_grad_shape(n, g);
  if (!n.grad.defined())
    n.grad = std::move(g);
  else
    ops::axpy(1.0, g, n.grad);
}

Tensor& grad_buffer(const Var& v) {
  LETHE_ASSERT(v.requires_grad(),  // closures ask only for inputs that want a gradient
               "grad_buffer: Var " << (v.defined() ? v.op() : "undefined") << " does not require grad");
  Node& n = *v.node();
  if (!n.grad.defined()) n.grad = Tensor::zeros(n.value.shape(), n.value.dtype(), n.value.device());
  return n.grad;
}

// ---- backpropagation --------------------------------------------------------------------------------

namespace {

// Nodes reachable from root through requires-grad edges, inputs before users (iterative post-order DFS:
// graphs can be thousands of ops deep).
std::vector<Node*> topo_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack;  // (node, next input to visit)
  stack.emplace_back(root, 0);
  seen.insert(root);
  while (!stack.empty()) {
    auto& [n, next] = stack.back();
    if (next < n->inputs.size()) {
      Node* in = n->inputs[next++].node();
      if (in != nullptr && in->requires_grad && seen.insert(in).second) stack.emplace_back(in, 0);
    } else {
      order.push_back(n);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace

void backward(const Var& loss) {
  LETHE_CHECK(loss.defined(), "backward: undefined loss");
  LETHE_CHECK(loss.value().numel() == 1, "backward: loss must have one element, got "
                                             << sig(loss.value()) << " (op " << loss.op()
                                             << "); pass a seed gradient for other shapes");
  const Tensor& v = loss.value();
  backward(loss, Tensor::full(v.shape(), 1.0, v.dtype(), v.device()));
}

void backward(const Var& root, const Tensor& seed) {
  LETHE_CHECK(root.defined(), "backward: undefined root");
  LETHE_CHECK(root.requires_grad(), "backward: root (op " << root.op()
                                                          << ") does not require grad (built under NoGrad, "
                                                             "or from constants only)");
  const std::vector<Node*> order = topo_order(root.node());
  // Intermediate gradients left by an earlier (possibly interrupted) pass must not leak into this one.
  for (Node* n : order)
    if (n->backward) n->grad = Tensor();
  accumulate(root, seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    if (!n->backward || !n->grad.defined()) continue;
    {
      LETHE_PROFILE_SCOPE("bwd:", n->op);
      n->backward(*n);
    }
    n->grad = Tensor();  // propagated: free the intermediate gradient
  }
}

bool grad_enabled() { return t_grad_enabled; }

NoGrad::NoGrad() : prev_(t_grad_enabled) { t_grad_enabled = false; }
NoGrad::~NoGrad() { t_grad_enabled = prev_; }

}  // namespace lethe::autograd

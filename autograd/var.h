// Reverse-mode autodiff: the tape.
//
// A Var is a handle to a Node {op name, value, grad, inputs, backward closure}. Ops (autograd/ops.h) create
// nodes whose closure *adds* the gradient of each input (micrograd style). `backward(loss)` orders the graph
// reached from `loss` topologically and runs the closures in reverse. Parameters are leaf Vars with
// requires_grad; their .grad() accumulates until zero_grad(). Inside a NoGrad scope ops record nothing.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace lethe::autograd {

struct Node;

class Var {
 public:
  Var() = default;
  explicit Var(std::shared_ptr<Node> n) : node_(std::move(n)) {}

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const;
  Tensor& mutable_value();     // parameters: optimizers update in place
  const Tensor& grad() const;  // undefined until a gradient reached this Var
  Tensor& mutable_grad();
  bool requires_grad() const;
  const std::string& name() const;
  const char* op() const;
  Node* node() const { return node_.get(); }
  const std::shared_ptr<Node>& ptr() const { return node_; }

  // Shorthands for value() properties.
  const Shape& shape() const { return value().shape(); }
  int64_t rows() const { return value().rows(); }
  int64_t cols() const { return value().cols(); }
  DType dtype() const { return value().dtype(); }
  Device device() const { return value().device(); }

 private:
  std::shared_ptr<Node> node_;
};

struct Node {
  const char* op = "leaf";
  std::string name;
  Tensor value;
  Tensor grad;
  bool requires_grad = false;
  std::vector<Var> inputs;
  // Reads this->grad, adds into inputs' grads (via accumulate). Absent for leaves. backward() frees grad
  // right after the closure runs, so a closure may hand the buffer itself to an input (accumulate_owned).
  std::function<void(Node&)> backward;

  // Releases the input chain iteratively, so dropping a very deep graph cannot overflow the stack.
  ~Node();
};

// A trainable leaf (requires_grad) and a constant leaf.
Var param(Tensor value, std::string name = "");
Var constant(Tensor value, std::string name = "");

// Creates an op node. Records inputs and backward only when grad mode is on and some input requires grad.
Var make_node(const char* op, Tensor value, std::vector<Var> inputs, std::function<void(Node&)> backward);

// grad += g (allocating on first use). No-op for inputs that do not require grad.
void accumulate(const Var& v, const Tensor& g);
// Same, but on first use takes g as the gradient buffer instead of copying it. Only for a freshly computed
// g that shares its storage with no other live tensor (not a view, not another node's value or grad).
void accumulate_owned(const Var& v, Tensor g);
// The gradient buffer of v, allocated as zeros on first use, for backward code that adds into it in place
// (gemm/spmm with beta = 1, scatter-add). v must require grad.
Tensor& grad_buffer(const Var& v);

// Runs backpropagation from a scalar ([1]) loss; seeds d loss / d loss = 1. Gradients accumulate into the
// leaves (params); the gradients of intermediate nodes are freed once propagated, and the graph is kept, so
// backward may run again on the same graph.
void backward(const Var& loss);
// Same, with an explicit seed gradient of loss's shape.
void backward(const Var& root, const Tensor& seed);

bool grad_enabled();
// RAII scope that disables recording (evaluation, target networks, optimizer updates).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool prev_;
};

}  // namespace lethe::autograd

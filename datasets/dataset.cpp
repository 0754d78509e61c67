// Per-user CSR item lists (UserItems) for the in-memory data set of datasets/dataset.h.
#include "datasets/dataset.h"

#include <algorithm>

#include "engine/error.h"

namespace lethe::datasets {

UserItems UserItems::build(const Interactions& x, int32_t n_users) {
  UserItems out;
  out.n_users = n_users;
  out.indptr.assign(static_cast<size_t>(n_users) + 1, 0);
  for (size_t r = 0; r < x.size(); ++r) {
    int32_t u = x.users[r];
    LETHE_CHECK(u >= 0 && u < n_users,
                "UserItems::build: user id " << u << " in row " << r << " outside [0, " << n_users << ")");
    ++out.indptr[u + 1];
  }
  for (int32_t u = 0; u < n_users; ++u) out.indptr[u + 1] += out.indptr[u];
  out.items.resize(x.size());
  std::vector<int32_t> fill(out.indptr.begin(), out.indptr.end() - 1);
  for (size_t r = 0; r < x.size(); ++r) out.items[fill[x.users[r]]++] = x.items[r];
  for (int32_t u = 0; u < n_users; ++u)
    std::sort(out.items.begin() + out.indptr[u], out.items.begin() + out.indptr[u + 1]);
  return out;
}

bool UserItems::contains(int32_t u, int32_t item) const {
  if (u < 0 || u >= n_users) return false;
  auto b = items.begin() + indptr[u], e = items.begin() + indptr[u + 1];
  return std::binary_search(b, e, item);
}

}  // namespace lethe::datasets

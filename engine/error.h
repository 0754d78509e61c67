// Errors. Two kinds, kept apart (docs/architecture.md, "Errors"):
//   LETHE_CHECK(cond, msg)   a user-facing check: bad input, bad options, a request that cannot be done.
//                            The message is the whole story (it names the file, line, field or op), so it
//                            carries no source location.
//   LETHE_ASSERT(cond, msg)  an internal invariant (a bug in Lethe or a failed CUDA / cuBLAS / cuSPARSE
//                            call): the message is prefixed with the source file and line that raised it.
// Both throw lethe::Error; nothing is printed and nothing is written by the thrower.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace lethe {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] void throw_error(const std::string& msg);
[[noreturn]] void throw_internal(const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace lethe

#define LETHE_CHECK(cond, msg)                        \
  do {                                                \
    if (!(cond)) {                                    \
      std::ostringstream lethe_oss_;                  \
      lethe_oss_ << msg;                              \
      ::lethe::detail::throw_error(lethe_oss_.str()); \
    }                                                 \
  } while (0)

#define LETHE_ASSERT(cond, msg)                                              \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::ostringstream lethe_oss_;                                         \
      lethe_oss_ << msg;                                                     \
      ::lethe::detail::throw_internal(__FILE__, __LINE__, lethe_oss_.str()); \
    }                                                                        \
  } while (0)

// The parsers under fuzzing, one function per target: feed them any bytes; a malformed input must end in
// a lethe::Error (a clear message), never a crash, a hang, another exception type or undefined behaviour.
// Used by the libFuzzer targets beside this file (built with the `fuzz` preset, run by scripts/fuzz.sh)
// and by tests/fuzz/test_fuzz_inputs.cpp, which replays the seed corpus and every input that once crashed
// (tests/fuzz/regressions/) in the ordinary suite.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "datasets/mmrec_io.h"
#include "engine/error.h"
#include "engine/formats/npy.h"
#include "engine/formats/safetensors.h"
#include "models/config.h"
#include "models/unlearning/requests.h"

namespace lethe::fuzz {

inline std::string bytes(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

inline void npy(const uint8_t* data, size_t size) {
  try {
    const formats::NpyArray a = formats::read_npy_bytes(bytes(data, size), "fuzz.npy");
    (void)a;
  } catch (const Error&) {
  }
}

inline void safetensors(const uint8_t* data, size_t size) {
  try {
    const formats::SafeTensors st = formats::read_safetensors_bytes(bytes(data, size), "fuzz.safetensors");
    (void)st;
  } catch (const Error&) {
  }
}

inline void inter(const uint8_t* data, size_t size) {
  try {
    std::istringstream in(bytes(data, size));
    const datasets::Dataset ds = datasets::parse_inter(in, "fuzz.inter");
    std::istringstream again(bytes(data, size));
    datasets::ReadOptions keep;
    keep.keep_eval_repeats = true;
    const datasets::Dataset dk = datasets::parse_inter(again, "fuzz.inter", keep);
  } catch (const Error&) {
  }
}

// read_request takes a path: the input goes to a file of this process first.
inline void request(const uint8_t* data, size_t size) {
  static const std::string path = std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                                  "/lethe_fuzz_request_" + std::to_string(::getpid()) + ".tsv";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const unlearning::Request r = unlearning::read_request(path);
    (void)r;
  } catch (const Error&) {
  }
}

// A YAML configuration: parse, read every key every way, check the keys against a fixed set.
inline void config(const uint8_t* data, size_t size) {
  try {
    const models::Config c = models::Config::from_yaml_string(bytes(data, size), "fuzz.yaml");
    for (const auto& [k, v] : c.raw()) {
      try {
        c.get_double(k, 0.0);
      } catch (const Error&) {
      }
      try {
        c.get_int(k, 0);
      } catch (const Error&) {
      }
      try {
        c.get_bool(k, false);
      } catch (const Error&) {
      }
      try {
        c.get_string(k, "");
      } catch (const Error&) {
      }
      try {
        c.get_doubles(k, {});
      } catch (const Error&) {
      }
    }
    models::Config back = models::Config::from_yaml_string(c.to_yaml());
    back.merge(c);
    c.check_keys({"embedding_size", "learning_rate", "seed", "epochs"}, "fuzzing");
  } catch (const Error&) {
  }
}

}  // namespace lethe::fuzz

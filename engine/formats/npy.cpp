// .npy reader/writer (see npy.h). Format: magic "\x93NUMPY", major, minor, header length (uint16
// for v1, uint32 for v2/v3), a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)},
// padded with spaces and ending in '\n', then the raw data.
#include "engine/formats/npy.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "engine/formats/atomic_file.h"

namespace lethe::formats {

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);  // normal: rebias 15 -> 127
  } else if (mant == 0) {
    bits = sign;  // +-0
  } else {        // subnormal half: value = mant * 2^-24; normalise into a float32 normal
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    bits = sign | ((112u - static_cast<uint32_t>(e)) << 23) | ((mant & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

// Value text of key `key` in the header dict, up to the next top-level ',' or '}'.
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  const std::string pat = "'" + key + "'";
  size_t p = header.find(pat);
  LETHE_CHECK(p != std::string::npos, path << ": npy header has no '" << key << "' entry");
  p = header.find(':', p + pat.size());
  LETHE_CHECK(p != std::string::npos, path << ": npy header entry '" << key << "' is malformed");
  ++p;
  int depth = 0;
  size_t e = p;
  for (; e < header.size(); ++e) {
    char c = header[e];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) break;
  }
  std::string v = header.substr(p, e - p);
  auto first = v.find_first_not_of(" \t"), last = v.find_last_not_of(" \t");
  return first == std::string::npos ? std::string() : v.substr(first, last - first + 1);
}

}  // namespace

namespace {

NpyArray parse_npy(std::istream& in, uint64_t file_size, const std::string& path) {
  char magic[8];
  LETHE_CHECK(file_size >= 10 && in.read(magic, 8),
              path << ": truncated npy file (" << file_size << " bytes)");
  LETHE_CHECK(std::memcmp(magic, "\x93NUMPY", 6) == 0, path << ": not an npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  LETHE_CHECK(major >= 1 && major <= 3, path << ": unsupported npy format version " << major);
  uint64_t header_len = 0, prefix = 0;
  if (major == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
    prefix = 10;
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint64_t>(b[3]) << 24);
    prefix = 12;
  }
  LETHE_CHECK(in && file_size >= prefix + header_len, path << ": truncated npy file (header needs "
                                                           << prefix + header_len << " bytes, file has "
                                                           << file_size << ")");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));

  std::string descr = dict_value(header, "descr", path);
  std::string fortran = dict_value(header, "fortran_order", path);
  std::string shape_txt = dict_value(header, "shape", path);
  LETHE_CHECK(fortran == "False",
              path << ": fortran_order " << fortran << " is not supported (C order only)");
  size_t item = 0;
  std::string dtype;
  if (descr == "'<f2'") {
    item = 2;
    dtype = "f16";
  } else if (descr == "'<f4'") {
    item = 4;
    dtype = "f32";
  } else if (descr == "'<f8'") {
    item = 8;
    dtype = "f64";
  }
  LETHE_CHECK(item != 0, path << ": unsupported dtype " << descr << " (expected '<f2', '<f4' or '<f8')");

  Shape shape;
  LETHE_CHECK(shape_txt.size() >= 2 && shape_txt.front() == '(' && shape_txt.back() == ')',
              path << ": malformed shape " << shape_txt);
  // A Python tuple of non-negative integers: "(5,)", "(3, 4)".
  const std::string inner = shape_txt.substr(1, shape_txt.size() - 2);
  std::stringstream parts(inner);
  std::string part;
  std::vector<std::string> fields;
  while (std::getline(parts, part, ',')) fields.push_back(part);
  if (!inner.empty() && inner.back() == ',') fields.push_back("");
  for (size_t k = 0; k < fields.size(); ++k) {
    std::string f = fields[k];
    f.erase(0, f.find_first_not_of(" \t"));
    f.erase(f.find_last_not_of(" \t") + 1);
    if (f.empty() && k + 1 == fields.size() && k > 0) break;  // the trailing comma of "(5,)"
    int64_t d = -1;
    const auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), d);
    LETHE_CHECK(!f.empty() && ec == std::errc() && p == f.data() + f.size() && d >= 0,
                path << ": malformed shape " << shape_txt);
    shape.push_back(d);
  }
  LETHE_CHECK(!shape.empty() && shape.size() <= 2,
              path << ": shape " << shape_txt << " not supported (1-D or 2-D arrays only)");
  // The data must fill the file exactly: fewer bytes is a truncated file, more is not what the header says.
  const uint64_t data_bytes = file_size - prefix - header_len;
  uint64_t n = 1;
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    n = 0;  // an empty array (its data is 0 bytes)
  } else {
    for (int64_t d : shape) {  // n * d * item <= data_bytes, checked without overflow
      LETHE_CHECK(n <= data_bytes / item / static_cast<uint64_t>(d),
                  path << ": truncated npy file (shape " << shape_txt << " needs more than the " << data_bytes
                       << " data bytes the file has)");
      n *= static_cast<uint64_t>(d);
    }
  }
  const uint64_t need = prefix + header_len + n * item;
  LETHE_CHECK(file_size >= need, path << ": truncated npy file (shape " << shape_txt << " needs " << need
                                      << " bytes, file has " << file_size << ")");
  LETHE_CHECK(file_size == need, path << ": " << file_size - need << " bytes after the data of shape "
                                      << shape_txt << " (the file has " << file_size
                                      << " bytes, the header describes " << need
                                      << "; corrupt or not written by NumPy)");

  NpyArray out;
  out.dtype = dtype;
  out.values = Tensor::empty(shape, DType::F32);
  float* dst = out.values.data<float>();
  std::vector<char> buf(static_cast<size_t>(n * item));
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  LETHE_CHECK(in, path << ": read error");
  if (n == 0) {
    // an empty array: nothing to copy (and no buffer to copy from)
  } else if (item == 4) {
    std::memcpy(dst, buf.data(), buf.size());
  } else if (item == 2) {
    for (uint64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, buf.data() + i * 2, 2);
      dst[i] = half_to_float(h);
    }
  } else {
    for (uint64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, buf.data() + i * 8, 8);
      dst[i] = static_cast<float>(d);
    }
  }
  return out;
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in, path << ": cannot open");
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  return parse_npy(in, file_size, path);
}

NpyArray read_npy_bytes(const std::string& bytes, const std::string& name) {
  std::istringstream in(bytes, std::ios::binary);
  return parse_npy(in, bytes.size(), name);
}

void write_npy(const std::string& path, const Tensor& values) {
  LETHE_CHECK(values.is_cpu() && values.dtype() == DType::F32 && (values.ndim() == 1 || values.ndim() == 2),
              "write_npy " << path << ": needs a 1-D or 2-D f32 host tensor, got " << values.describe());
  std::string shape = values.ndim() == 1
                          ? "(" + std::to_string(values.dim(0)) + ",)"
                          : "(" + std::to_string(values.dim(0)) + ", " + std::to_string(values.dim(1)) + ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that data starts on a 64-byte boundary; the header ends with '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  write_file_atomic(path, [&](std::ostream& out) {
    const unsigned char pre[10] = {0x93,
                                   'N',
                                   'U',
                                   'M',
                                   'P',
                                   'Y',
                                   1,
                                   0,
                                   static_cast<unsigned char>(header.size() & 0xFF),
                                   static_cast<unsigned char>(header.size() >> 8)};
    out.write(reinterpret_cast<const char*>(pre), 10);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(values.raw()), static_cast<std::streamsize>(values.nbytes()));
  });
}

}  // namespace lethe::formats

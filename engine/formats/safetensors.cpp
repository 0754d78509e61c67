// safetensors reading and writing (safetensors.h).
#include "engine/formats/safetensors.h"

#include <algorithm>
#include <bit>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/error.h"
#include "engine/formats/atomic_file.h"

namespace lethe::formats {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::I32:
      return "I32";
    case DType::I64:
      return "I64";
  }
  return "?";
}

bool parse_st_dtype(const std::string& s, DType& t) {
  if (s == "F32")
    t = DType::F32;
  else if (s == "F64")
    t = DType::F64;
  else if (s == "I32")
    t = DType::I32;
  else if (s == "I64")
    t = DType::I64;
  else
    return false;
  return true;
}

std::string read_header_text(std::istream& in, const std::string& path, uint64_t file_size) {
  LETHE_CHECK(file_size >= 8, path << ": not a safetensors file (only " << file_size << " bytes)");
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  LETHE_CHECK(in.good(), path << ": cannot read the safetensors header length");
  LETHE_CHECK(n <= file_size - 8 && n <= (uint64_t(100) << 20),
              path << ": safetensors header length " << n << " does not fit the file of " << file_size
                   << " bytes (corrupt or not a safetensors file)");
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  LETHE_CHECK(in.good(), path << ": truncated safetensors header");
  return text;
}

nlohmann::json parse_header(const std::string& text, const std::string& path) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    LETHE_CHECK(j.is_object(), path << ": safetensors header is not a JSON object");
    return j;
  } catch (const nlohmann::json::exception& e) {
    LETHE_CHECK(false, path << ": safetensors header is not valid JSON: " << e.what());
  }
  return {};
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& j, const std::string& path) {
  std::map<std::string, std::string> md;
  auto it = j.find("__metadata__");
  if (it == j.end()) return md;
  LETHE_CHECK(it->is_object(), path << ": __metadata__ must be an object of strings");
  for (auto& [k, v] : it->items()) {
    LETHE_CHECK(v.is_string(), path << ": __metadata__." << k << " is not a string");
    md[k] = v.get<std::string>();
  }
  return md;
}

}  // namespace

const Tensor* SafeTensors::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LETHE_CHECK(!name.empty() && name != "__metadata__", path << ": invalid tensor name '" << name << "'");
    LETHE_CHECK(names.insert(name).second, path << ": duplicate tensor name '" << name << "'");
    LETHE_CHECK(t.defined(), path << ": tensor '" << name << "' is undefined");
    nlohmann::json e;
    e["dtype"] = st_dtype(t.dtype());
    e["shape"] = t.shape();
    e["data_offsets"] = {offset, offset + t.nbytes()};
    header[name] = e;
    offset += t.nbytes();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string htext = header.dump();
  while (htext.size() % 8 != 0) htext.push_back(' ');  // the format allows trailing spaces for alignment
  write_file_atomic(path, [&](std::ostream& out) {
    const uint64_t n = htext.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(htext.data(), static_cast<std::streamsize>(htext.size()));
    for (const auto& [name, t] : tensors) {
      const Tensor host = t.is_cpu() ? t : t.to(Device::cpu());
      out.write(static_cast<const char*>(host.raw()), static_cast<std::streamsize>(host.nbytes()));
    }
  });
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in.good(), path << ": cannot open checkpoint");
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  LETHE_CHECK(!ec, path << ": cannot stat: " << ec.message());
  return parse_metadata(parse_header(read_header_text(in, path, size), path), path);
}

namespace {

SafeTensors parse_safetensors(std::istream& in, uint64_t size, const std::string& path) {
  const std::string htext = read_header_text(in, path, size);
  const nlohmann::json j = parse_header(htext, path);
  const uint64_t data_begin = 8 + htext.size(), data_size = size - data_begin;
  SafeTensors st;
  st.metadata = parse_metadata(j, path);
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t b, e;
  };
  std::vector<Entry> entries;
  for (auto& [name, e] : j.items()) {
    if (name == "__metadata__") continue;
    try {
      Entry x{name, DType::F32, {}, 0, 0};
      const std::string dt = e.at("dtype").get<std::string>();
      LETHE_CHECK(parse_st_dtype(dt, x.dtype),
                  path << ": tensor '" << name << "' has dtype " << dt << " (supported: F32, F64, I32, I64)");
      x.shape = e.at("shape").get<Shape>();
      uint64_t numel = 1;
      for (int64_t d : x.shape) {
        LETHE_CHECK(d >= 0, path << ": tensor '" << name << "' has a negative dimension");
        LETHE_CHECK(d == 0 || numel <= data_size / static_cast<uint64_t>(d),
                    path << ": tensor '" << name << "' has shape " << shape_str(x.shape)
                         << ", larger than the " << data_size << "-byte data");
        numel *= static_cast<uint64_t>(d);
      }
      const auto off = e.at("data_offsets").get<std::vector<uint64_t>>();
      LETHE_CHECK(off.size() == 2 && off[0] <= off[1] && off[1] <= data_size,
                  path << ": tensor '" << name << "' data_offsets outside the " << data_size << "-byte data");
      x.b = off[0];
      x.e = off[1];
      LETHE_CHECK(x.e - x.b == numel * dtype_size(x.dtype), path << ": tensor '" << name << "' has "
                                                                 << (x.e - x.b) << " bytes for shape "
                                                                 << shape_str(x.shape) << " " << dt);
      entries.push_back(std::move(x));
    } catch (const nlohmann::json::exception& ex) {
      LETHE_CHECK(false, path << ": malformed header entry for tensor '" << name << "': " << ex.what());
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.b < b.b; });
  for (auto& x : entries) {
    Tensor t = Tensor::empty(x.shape, x.dtype, Device::cpu());
    in.seekg(static_cast<std::streamoff>(data_begin + x.b));
    if (x.e > x.b) in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(x.e - x.b));
    LETHE_CHECK(in.good(), path << ": truncated data for tensor '" << x.name << "'");
    st.tensors.emplace_back(x.name, std::move(t));
  }
  return st;
}

}  // namespace

SafeTensors read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in.good(), path << ": cannot open checkpoint");
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  LETHE_CHECK(!ec, path << ": cannot stat: " << ec.message());
  return parse_safetensors(in, size, path);
}

SafeTensors read_safetensors_bytes(const std::string& bytes, const std::string& name) {
  std::istringstream in(bytes, std::ios::binary);
  return parse_safetensors(in, bytes.size(), name);
}

}  // namespace lethe::formats

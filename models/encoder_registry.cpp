// The encoders --encoder can name: one line each.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <mutex>

#include "models/alexnet.h"
#include "models/encoder.h"
#include "models/resnet.h"
#include "models/vgg11.h"

namespace lpl {

namespace {
struct Entry {
  EncoderFactory make;
  EncoderTraits traits;
};
std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r = {
      {"vgg", {make_vgg11, {}}},
      {"alexnet", {make_alexnet, {}}},
      {"resnet", {make_resnet50, {false, false}}},
  };
  return r;
}
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
// Other names the original's users type for the same encoders.
std::string canonical(const std::string& name) {
  if (name == "vgg11") return "vgg";
  if (name == "resnet50") return "resnet";
  return name;
}
}  // namespace

void register_encoder(const std::string& name, EncoderFactory f, EncoderTraits traits) {
  std::lock_guard<std::mutex> g(registry_mutex());
  registry()[name] = Entry{std::move(f), traits};
}

std::vector<std::string> encoder_names() {
  std::lock_guard<std::mutex> g(registry_mutex());
  std::vector<std::string> out;
  for (const auto& [n, f] : registry()) out.push_back(n);
  return out;
}

bool encoder_known(const std::string& name) {
  std::lock_guard<std::mutex> g(registry_mutex());
  return registry().count(canonical(name)) > 0;
}

EncoderTraits encoder_traits(const std::string& name) {
  std::lock_guard<std::mutex> g(registry_mutex());
  auto it = registry().find(canonical(name));
  LPL_CHECK(it != registry().end(), fmt::format("--encoder {}: unknown encoder", name));
  return it->second.traits;
}

std::string encoder_options_problem(const EncoderOptions& o) {
  if (!encoder_known(o.kind))
    return fmt::format("--encoder {}: unknown encoder (known: {})", o.kind, fmt::join(encoder_names(), ", "));
  const EncoderTraits t = encoder_traits(o.kind);
  if (!t.projector && o.projector)
    return fmt::format("--encoder {}: the original's {} has no projector (drop --use_projector_mlp)", o.kind, o.kind);
  return "";
}

bool same_encoder(const std::string& a, const std::string& b) { return canonical(a) == canonical(b); }

std::unique_ptr<Encoder> make_encoder(const EncoderOptions& o, uint64_t seed, Device d) {
  const std::string problem = encoder_options_problem(o);  // also refuses an unknown name
  LPL_CHECK(problem.empty(), problem);
  EncoderFactory f;
  {
    std::lock_guard<std::mutex> g(registry_mutex());
    f = registry().at(canonical(o.kind)).make;
  }
  EncoderOptions c = o;
  c.kind = canonical(o.kind);
  return f(c, seed, d);
}

std::string encoder_of_weights(const SafetensorsFile& f) {
  auto it = f.metadata.find("encoder");
  if (it != f.metadata.end()) return it->second;
  if (f.tensors.count("network.encoder.conv1.weight")) return "resnet";
  if (f.tensors.count("network.encoder.blocks.0.0.weight")) return "alexnet";
  return "vgg";
}

EncoderOptions encoder_options_of_weights(const SafetensorsFile& f) {
  EncoderOptions o;
  o.kind = encoder_of_weights(f);
  o.bias = false;
  for (const auto& [name, t] : f.tensors)
    if (name.rfind("network.encoder.blocks.", 0) == 0 && name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
      o.bias = true;
  return o;
}

}  // namespace lpl

// Per-layer pooled features of our encoders on a given input, for comparisons with PyTorch
// (tools/compare_torch_features.py):
//   vgg11_features (--weights W.safetensors | --seed S [--no_biases] [--encoder vgg|alexnet|resnet])
//                  --input x.safetensors --out features.safetensors [--save_weights w.safetensors] [--device cpu|cuda]
// The input file holds a float32 tensor "input" [N, C, H, W]; the output holds features.<k> [N, C_k]
// (global average of layer k's output, evaluation mode). Never overwrites an existing file.
#include <cstdio>
#include <map>
#include <string>

#include <fmt/format.h>

#include "engine/flags.h"
#include "engine/file_util.h"
#include "engine/safetensors.h"
#include "models/encoder.h"

using namespace lpl;

namespace {
constexpr const char* kUsage =
    "usage: vgg11_features (--weights W.safetensors | --seed S [--no_biases] [--encoder vgg|alexnet|resnet]) --input x.safetensors "
    "--out features.safetensors [--save_weights w.safetensors] [--device cpu|cuda]";

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::puts(kUsage);
      std::exit(0);
    }
    LPL_CHECK(k.rfind("--", 0) == 0, fmt::format("unexpected argument '{}'\n{}", k, kUsage));
    k = k.substr(2);
    if (k == "no_biases") {
      a.insert_or_assign(k, std::string("1"));
      continue;
    }
    static const char* known[] = {"weights", "seed", "input", "out", "save_weights", "device", "encoder"};
    bool ok = false;
    for (const char* n : known) ok |= k == n;
    LPL_CHECK(ok, fmt::format("unknown flag --{}\n{}", k, kUsage));
    LPL_CHECK(i + 1 < argc, fmt::format("--{} needs a value", k));
    a[k] = argv[++i];
  }
  return a;
}

int run(int argc, char** argv) {
  auto a = parse(argc, argv);
  LPL_CHECK(a.count("input") && a.count("out"), fmt::format("--input and --out are required\n{}", kUsage));
  LPL_CHECK(a.count("weights") != a.count("seed"), fmt::format("give exactly one of --weights and --seed\n{}", kUsage));
  for (const char* o : {"out", "save_weights"})
    if (a.count(o)) LPL_CHECK(!file_exists(a[o]), fmt::format("--{} '{}' exists; not overwriting it", o, a[o]));
  const uint64_t seed = a.count("seed") ? static_cast<uint64_t>(parse_int_flag("--seed", a["seed"])) : 0;
  Device dev = a.count("device") && a["device"] == "cuda" ? cuda(0) : cpu();

  SafetensorsFile in = load_safetensors(a["input"]);
  const Tensor& x = in.at("input", a["input"]);
  LPL_CHECK(x.dtype() == DType::F32 && x.ndim() == 4,
            fmt::format("'{}': tensor 'input' must be float32 [N, C, H, W], got {} {}", a["input"],
                        dtype_name(x.dtype()), x.shape().str()));

  EncoderOptions opt;
  opt.in_channels = static_cast<int>(x.dim(1));
  std::unique_ptr<Encoder> net;
  if (a.count("weights")) {
    SafetensorsFile w = load_safetensors(a["weights"]);
    opt = encoder_options_of_weights(w);
    opt.in_channels = static_cast<int>(x.dim(1));
    net = make_encoder(opt, 0, dev);
    net->load_weights(w, a["weights"]);
  } else {
    opt.bias = !a.count("no_biases");
    if (a.count("encoder")) opt.kind = a["encoder"];
    net = make_encoder(opt, seed, dev);
  }
  NamedTensors out;
  const std::vector<Tensor> z = net->pooled_features(x.to(dev));
  for (size_t k = 0; k < z.size(); ++k) out.emplace_back(fmt::format("features.{}", k), z[k].to(cpu()));
  save_safetensors(a["out"], out, {{"source", "vgg11_features"}});
  if (a.count("save_weights")) save_safetensors(a["save_weights"], net->named_weights(), {{"format", "pt"}});
  std::printf("wrote %s (%d layers, batch %lld)\n", a["out"].c_str(), net->num_layers(),
              static_cast<long long>(x.dim(0)));
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vgg11_features: error: %s\n", e.what());
    return 1;
  }
}

// train_vgg11's command line (every flag of lpl_main.py, refusals with the exact message) and the
// program end to end on Fashion-MNIST: run directory, config.json, metrics.jsonl, checkpoints with
// the original's names, no overwriting of an existing run, --init_from, --benchmark, --help.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/npy.h"
#include "engine/file_util.h"
#include "engine/safetensors.h"
#include "models/train_options.h"
#include "models/vgg11.h"
#include "cli_util.h"
#include "test_util.h"

using namespace lpl;

namespace {
TrainOptions parse(std::initializer_list<const char*> a) { return parse_train_options({a.begin(), a.end()}); }

void refused(std::initializer_list<const char*> a, const std::string& msg) {
  CHECK_THROWS_WITH_AS(parse(a), doctest::Contains(msg.c_str()), Error);
}

struct Result {
  int rc;
  std::string out;
};
Result run(const std::string& args) {
  const lpl::test::CmdResult r = lpl::test::run_program("train_vgg11", args);
  return {r.status, r.output};
}

std::string tmp_dir() {
  char tmpl[] = "/tmp/lpl_train_test_XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  return tmpl;
}
}  // namespace

TEST_CASE("train options: the original's defaults and flags") {
  TrainOptions o = parse({});
  CHECK(o.random_seed == 24);
  CHECK(o.dataset == "cifar10");
  CHECK(o.batch_size == 1024);
  CHECK(o.max_epochs == 800);
  CHECK(o.max_steps == -1);
  CHECK(o.learning_rate == 1e-3);
  CHECK(o.weight_decay == 1.5e-6);
  CHECK(o.warmup_epochs == 10);
  CHECK(o.final_lr == 1e-6);
  CHECK(o.pull_coeff == 1.0);
  CHECK(o.push_coeff == 1.0);
  CHECK(o.decorr_coeff == 10.0);
  CHECK(o.projection_size == 256);
  CHECK(o.mlp_hidden_size == 2048);
  CHECK(o.experiment_name.size() == 10);  // MMDDHHMMSS
  o = parse({"--dataset", "stl10", "--batch_size=256", "--use_projector_mlp", "--pull_coeff", "0", "--gpus", "1",
             "--fp32", "--encoder", "vgg", "--num_workers", "4", "--stale_estimates", "--optimizer", "sgd",
             "--momentum", "0.5", "--experiment_name", "x"});
  CHECK(o.dataset == "stl10");
  CHECK(o.batch_size == 256);
  CHECK(o.use_projector_mlp);
  CHECK(o.pull_coeff == 0.0);
  CHECK(o.optimizer == "sgd");
  CHECK(o.momentum == 0.5);
  CHECK(run_descriptor(o) == "lpl_mlp-projection");
  CHECK(dataset_image_size(o) == 96);
  o.log_dir = "/r";
  CHECK(run_directory(o) == "/r/stl10/x/lpl_mlp-projection");
  o = parse({"--no_pooling", "--downsample_images", "--dataset", "stl10", "--experiment_name", "e", "--log_dir", "/q"});
  CHECK(run_directory(o) == "/q/stl10_downsampled/e/lpl_no-pooling");
  CHECK(dataset_image_size(o) == 32);
  auto j = train_options_json(o);
  CHECK(j["no_pooling"] == true);
  CHECK(j["batch_size"] == 1024);
  CHECK(j.contains("random_seed"));
  CHECK(!j.contains("help"));
  CHECK(parse({"--help"}).help);
  CHECK(train_help_text().find("--shuffle_positives") != std::string::npos);
  // The baselines' run descriptors (spec §6b).
  o = parse({"--train_with_supervision", "--experiment_name", "s", "--log_dir", "/r", "--dataset", "fashion-mnist"});
  CHECK(run_directory(o) == "/r/fashion-mnist/s/supervised");
  o = parse({"--use_negative_samples", "--decorr_coeff", "0", "--use_projector_mlp", "--train_end_to_end"});
  CHECK(run_descriptor(o) == "negative_samples_mlp-projection_end-to-end");
  o = parse({"--train_with_supervision", "--train_end_to_end"});
  CHECK(run_descriptor(o) == "supervised_end-to-end");
  o = parse({"--train_end_to_end"});
  CHECK(run_descriptor(o) == "lpl_end-to-end");
}

TEST_CASE("train options: unknown flags, bad values and invalid combinations are refused clearly") {
  refused({"--bogus"}, "unknown flag --bogus");
  refused({"cifar10"}, "unexpected argument 'cifar10'");
  refused({"--batch_size"}, "--batch_size needs a value");
  refused({"--batch_size", "12x"}, "--batch_size: expected an integer, got '12x'");
  refused({"--learning_rate", "nan"}, "--learning_rate: expected a finite number");
  refused({"--no_pooling=1"}, "--no_pooling takes no value");
  refused({"--batch_size", "1"}, "--batch_size must be at least 2");
  refused({"--optimizer", "rmsprop"}, "--optimizer must be adam or sgd, got 'rmsprop'");
  refused({"--momentum", "1"}, "--momentum must be in [0, 1)");
  refused({"--max_steps", "0"}, "--max_steps must be -1 (no limit) or positive");
  refused({"--push_coeff", "-1"}, "must be >= 0");
  refused({"--experiment_name", "a/b"}, "--experiment_name must be a plain folder name");
  refused({"--device", "tpu"}, "--device must be cpu or cuda");
  refused({"--no_pooling", "--use_projector_mlp"}, "--no_pooling cannot be combined with --use_projector_mlp");
  refused({"--no_pooling", "--train_end_to_end"}, "--no_pooling cannot be combined with --train_end_to_end");
  refused({"--no_pooling", "--stale_estimates"}, "--stale_estimates is not supported with --no_pooling");
  refused({"--use_negative_samples"}, "--use_negative_samples needs --decorr_coeff 0");
  refused({"--train_with_supervision", "--use_negative_samples", "--decorr_coeff", "0"},
          "--train_with_supervision and --use_negative_samples are two different baselines: choose one");
  refused({"--train_with_supervision", "--no_pooling"}, "--no_pooling cannot be combined with --train_with_supervision");
  refused({"--use_negative_samples", "--decorr_coeff", "0", "--no_pooling"},
          "--no_pooling cannot be combined with --use_negative_samples");
  refused({"--use_negative_samples", "--decorr_coeff", "0", "--stale_estimates"},
          "--stale_estimates makes no difference with --use_negative_samples");
  refused({"--resume_from_checkpoint", "--init_from", "w.safetensors"},
          "--resume_from_checkpoint and --init_from: a resumed run continues from its checkpoint; give one of them");
  refused({"--encoder", "densenet"}, "--encoder densenet: unknown encoder (known: alexnet, resnet, vgg)");
  refused({"--encoder", "resnet"}, "--encoder resnet trains end-to-end only (as the original): add --train_end_to_end");
  refused({"--encoder", "resnet", "--train_end_to_end", "--use_projector_mlp"},
          "--encoder resnet: the original's resnet has no projector (drop --use_projector_mlp)");
  // Several GPUs / nodes are data parallelism now (tests/runs/test_data_parallel.cpp): parsed, and
  // --local_batch_stats with them.
  CHECK(parse({"--gpus", "2", "--num_nodes", "2", "--local_batch_stats"}).gpus == 2);
  refused({"--gpus", "-1"}, "--num_nodes must be >= 1 and --gpus >= 0");
  refused({"--tf32", "--fp32", "--device", "cuda"}, "--tf32 and --fp32 contradict each other");
  refused({"--tf32"}, "--tf32 is GPU math (cuDNN / cuBLAS tensor cores): it needs --device cuda");
  refused({"--precision", "fp16"}, "--precision must be fp32 or bf16, got 'fp16'");
  CHECK(parse({"--precision", "bf16", "--device", "cuda"}).precision == "bf16");  // cuDNN / cuBLAS bf16
  CHECK(parse({"--tf32", "--device", "cuda"}).tf32);
  // Thread counts far beyond the machine crash OpenMP or the loader, or crawl (shared bounds, engine/flags.h).
  refused({"--threads", "100000"}, "--threads 100000 is too many: at most ");
  refused({"--num_workers", "50000"}, "--num_workers 50000 is too many: at most 256");
  refused({"--batch_size", "4", "--batch_size", "8"}, "flag --batch_size given twice");
  refused({"--no_biases", "--no_biases"}, "flag --no_biases given twice");
}

LPL_FASHION_MNIST_TEST_CASE("train_vgg11 end to end on Fashion-MNIST: files, no overwrite, init_from, benchmark") {
  const std::string root = tmp_dir();
  const std::string common = "--dataset fashion-mnist --batch_size 4 --max_epochs 3 --warmup_epochs 0 --threads 1 --log_dir " + root;
  Result r = run(common + " --max_steps 2 --experiment_name e1");
  REQUIRE_MESSAGE(r.rc == 0, r.out);
  const std::string dir = root + "/fashion-mnist/e1/lpl";
  nlohmann::json cfg = nlohmann::json::parse(read_file(dir + "/config.json"));
  CHECK(cfg["batch_size"] == 4);
  CHECK(cfg["dataset"] == "fashion-mnist");
  std::ifstream mf(dir + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  nlohmann::json m;
  while (std::getline(mf, line)) {
    m = nlohmann::json::parse(line);
    ++lines;
  }
  CHECK(lines == 1);  // --max_steps 2 ends inside epoch 0
  CHECK(m["epoch"] == 0);
  CHECK(m["step"] == 2);
  CHECK(m.contains("Layerwise train losses/Layer 1 pull loss"));
  CHECK(m.contains("Layerwise train losses/Final layer decorr loss"));
  CHECK(m.contains("Loss/train_loss"));
  CHECK(m["lr"] == doctest::Approx(1e-3));
  CHECK(file_exists(dir + "/checkpoints/epoch=0-step=2.safetensors"));
  const std::string last = dir + "/checkpoints/last.safetensors";
  SafetensorsFile f = load_safetensors(last);
  CHECK(f.tensors.count("network.encoder.blocks.0.module.0.weight") == 1);
  CHECK(f.tensors.count("network.encoder.blocks.7.module.0.bias") == 1);
  Vgg11 init({}, 24, cpu());
  CHECK(f.tensors.at("network.encoder.blocks.0.module.0.weight").to_vector() !=
        init.conv_weight(0).value.to_vector());  // it trained
  Vgg11 loaded({}, 1, cpu());
  loaded.load_weights(f, last);

  // The same run again: refused, nothing overwritten.
  const std::string before = read_file(last);
  r = run(common + " --max_steps 2 --experiment_name e1");
  CHECK(r.rc == 1);
  CHECK(r.out.find("already exists; pass --resume_from_checkpoint") != std::string::npos);
  CHECK(read_file(last) == before);

  // --init_from the weights; a corrupt file is refused.
  r = run(common + " --fast_dev_run 1 --init_from " + last);
  CHECK_MESSAGE(r.rc == 0, r.out);
  atomic_write_file(root + "/bad.safetensors", "not a safetensors file");
  r = run(common + " --fast_dev_run 1 --init_from " + root + "/bad.safetensors");
  CHECK(r.rc == 1);
  CHECK(r.out.find("bad.safetensors") != std::string::npos);

  r = run("--benchmark 1 --batch_size 4 --threads 1");
  REQUIRE_MESSAGE(r.rc == 0, r.out);
  nlohmann::json b = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(b["batch"] == 4);
  CHECK(b["device"] == "cpu");
  CHECK(b["threads"] == 1);
  CHECK(b["images_per_s"].get<double>() > 0);

  r = run("--help");
  CHECK(r.rc == 0);
  CHECK(r.out.find("--decorr_coeff") != std::string::npos);
  r = run("--max_epochs abc");
  CHECK(r.rc == 1);
  CHECK(r.out.find("error: --max_epochs: expected an integer, got 'abc'") != std::string::npos);
  std::system(("rm -rf " + root).c_str());
}

LPL_FASHION_MNIST_TEST_CASE("train_vgg11 online evaluation: validation losses, final-layer probe and metrics under the spec names") {
  const std::string root = tmp_dir();
  Result r = run("--dataset fashion-mnist --batch_size 8 --max_epochs 2 --limit_train_batches 2 --warmup_epochs 0 "
                 "--threads 1 --eval_every 2 --eval_samples 200 --val_batches 2 --histogram_samples 0 "
                 "--experiment_name oe --log_dir " + root);
  REQUIRE_MESSAGE(r.rc == 0, r.out);
  std::ifstream mf(root + "/fashion-mnist/oe/lpl/metrics.jsonl");
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(mf, line)) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 2);
  // --eval_every 2: epoch 0 has no evaluation, epoch 1 has all of it.
  CHECK_FALSE(lines[0].contains("Performance/linear_readout_acc"));
  const nlohmann::json& m = lines[1];
  for (const char* k : {"Performance/linear_readout_acc", "Loss/val_loss", "Layerwise validation losses/Layer 1 pull loss",
                        "Layerwise validation losses/Final layer decorr loss", "Cosine Metrics/ratio",
                        "Manifold Metrics/mean_class_dim", "Push Metrics/kl_push"})
    CHECK_MESSAGE(m.contains(k), k);
  const double acc = m["Performance/linear_readout_acc"].get<double>();
  CHECK(acc >= 0.0);
  CHECK(acc <= 1.0);
  // val_loss is the coefficient-weighted sum of the validation terms (pull 1, push 1, decorr 10).
  double total = 0;
  for (int k = 1; k <= 8; ++k) {
    const std::string p = k == 8 ? "Layerwise validation losses/Final layer " : fmt::format("Layerwise validation losses/Layer {} ", k);
    total += m[p + "pull loss"].get<double>() + m[p + "push loss"].get<double>() + 10 * m[p + "decorr loss"].get<double>();
  }
  CHECK(m["Loss/val_loss"].get<double>() == doctest::Approx(total).epsilon(1e-9));
  std::system(("rm -rf " + root).c_str());
}

TEST_CASE("train_vgg11 --benchmark runs every baseline (synthetic batches and labels)") {
  for (const char* mode : {"--use_negative_samples --decorr_coeff 0 --use_projector_mlp --mlp_hidden_size 32 --projection_size 16",
                           "--train_with_supervision", "--train_end_to_end",
                           "--train_with_supervision --train_end_to_end"}) {
    Result r = run(std::string("--benchmark 1 --batch_size 4 --threads 1 ") + mode);
    REQUIRE_MESSAGE(r.rc == 0, mode << "\n" << r.out);
    nlohmann::json b = nlohmann::json::parse(r.out.substr(r.out.find('{')));
    CHECK_MESSAGE(b["images_per_s"].get<double>() > 0, mode);
  }
}

TEST_CASE("train_vgg11 --train_with_supervision on data without labels is refused by name") {
  const std::string root = tmp_dir();
  const int64_t N = 8, C = 3, S = 32;
  std::vector<uint8_t> v(static_cast<size_t>(N * C * S * S), 100);
  data::write_npy(root + "/view1.npy", "u1", {N, C, S, S}, v.data());
  data::write_npy(root + "/view2.npy", "u1", {N, C, S, S}, v.data());
  Result r = run("--dataset pairs --data_dir " + root + " --train_with_supervision --fast_dev_run 1 --batch_size 2 --threads 1");
  CHECK(r.rc == 1);
  CHECK_MESSAGE(r.out.find("error: --train_with_supervision: dataset pairs has no labelled training split") != std::string::npos,
                r.out);
  std::system(("rm -rf " + root).c_str());
}

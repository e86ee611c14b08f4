// Fig. S2 (notebook "S2 - Toy digits"): a single LPL neuron on sequences of two image classes shown
// in one of two quadrants of a 56 x 56 canvas. For each rule (LPL, Hebbian only, Oja; optionally
// predictive only) and each sequence (class persists / location persists) it trains --runs neurons
// and records the notebook's location and digit sensitivities over training (measures.csv), the
// final values (final.csv), the activity |mean y| per step (activity.csv), the last run's weights
// as 56 x 56 images (weights.npy) and a summary (toy_digits.json); tools/plot_toy_digits.py draws
// toy_digits.png. Data: MNIST IDX files with --data_dir, else Debian's Fashion-MNIST.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "data/npy.h"
#include "engine/common.h"
#include "engine/csv_table.h"
#include "engine/file_util.h"
#include "engine/flags.h"
#include "engine/parallel.h"
#include "engine/plot_tool.h"
#include "experiments/toy_digits.h"

using namespace lpl;
using namespace lpl::exp;

namespace {

const char* kFashionDir = "/usr/share/datasets/fashion-mnist";
const char* kUsage = R"(usage: lpl_toy_digits --out DIR [options]
Trains one linear neuron with LPL and its ablations on sequences of two image classes (Fig. S2).
  --out DIR            output directory (measures.csv, final.csv, activity.csv, weights.npy, toy_digits.json,
                       toy_digits.png)
  --overwrite          replace existing output files in DIR
  --data_dir DIR       IDX files train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz] (MNIST for the
                       paper; default /usr/share/datasets/fashion-mnist)
  --classes A,B        the two classes (default 5,6: the paper's digits 5 and 6; Fashion-MNIST sandal, shirt)
  --per_class N        images per class, the first N of each in the training file (default 1000)
  --rules LIST         from lpl,pred_off,hebb_off,oja (default lpl,pred_off,oja as the notebook)
  --seqs LIST          from digit,location (default both)
  --runs N             neurons per rule and sequence (default 10)
  --steps N            (default 1000)
  --batch N            (default 200)
  --lr X               (default 0.01)
  --weight_decay X     SGD weight decay of the loss rules (default 0.15; Oja has none)
  --eval_every K       steps between sensitivity measurements (default 50)
  --seed N             (default 1)
  --threads N          CPU threads (default: all)
  --no_plot            skip tools/plot_toy_digits.py)";

const char* kFashionNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Args {
  std::string out, data_dir = kFashionDir;
  bool overwrite = false, no_plot = false, data_given = false;
  int class_a = 5, class_b = 6;
  std::vector<DigitsRule> rules = {DigitsRule::kLpl, DigitsRule::kPredOff, DigitsRule::kOja};
  std::vector<DigitsSeq> seqs = {DigitsSeq::kDigit, DigitsSeq::kLocation};
  int64_t per_class = 1000, runs = 10, steps = 1000, batch = 200, eval_every = 50, threads = 0;
  double lr = 1e-2, weight_decay = 0.15;
  uint64_t seed = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (FlagLoop flags(argc, argv, kUsage); flags.next();) {
    const std::string f = flags.flag();
    if (f == "--overwrite") { a.overwrite = true; continue; }
    if (f == "--no_plot") { a.no_plot = true; continue; }
    const std::string v = flags.value();
    if (f == "--out") a.out = v;
    else if (f == "--data_dir") { a.data_dir = v; a.data_given = true; }
    else if (f == "--classes") {
      const auto c = split_list(v);
      LPL_CHECK(c.size() == 2, "--classes: expected two class indices A,B, got '" + v + "'");
      a.class_a = static_cast<int>(parse_int_flag(f, c[0]));
      a.class_b = static_cast<int>(parse_int_flag(f, c[1]));
    } else if (f == "--per_class") a.per_class = parse_int_flag(f, v);
    else if (f == "--rules") {
      a.rules.clear();
      for (const auto& r : split_list(v)) a.rules.push_back(digits_rule_from_name(r));
      LPL_CHECK(!a.rules.empty(), "--rules: no rule given");
    } else if (f == "--seqs") {
      a.seqs.clear();
      for (const auto& s : split_list(v)) a.seqs.push_back(digits_seq_from_name(s));
      LPL_CHECK(!a.seqs.empty(), "--seqs: no sequence given");
    } else if (f == "--runs") a.runs = parse_int_flag(f, v);
    else if (f == "--steps") a.steps = parse_int_flag(f, v);
    else if (f == "--batch") a.batch = parse_int_flag(f, v);
    else if (f == "--lr") a.lr = parse_float_flag(f, v);
    else if (f == "--weight_decay") a.weight_decay = parse_float_flag(f, v);
    else if (f == "--eval_every") a.eval_every = parse_int_flag(f, v);
    else if (f == "--seed") a.seed = static_cast<uint64_t>(parse_int_flag(f, v));
    else if (f == "--threads") a.threads = parse_int_flag(f, v);
    else fail("unknown argument " + f + "\n" + kUsage);
  }
  LPL_CHECK(!a.out.empty(), std::string("--out is required\n") + kUsage);
  LPL_CHECK(a.runs >= 1, "--runs must be at least 1");
  LPL_CHECK(a.steps >= 1, "--steps must be at least 1");
  LPL_CHECK(a.batch >= 2, "--batch must be at least 2");
  LPL_CHECK(a.eval_every >= 1, "--eval_every must be at least 1");
  LPL_CHECK(a.lr > 0, "--lr must be positive");
  LPL_CHECK(a.weight_decay >= 0, "--weight_decay must not be negative");
  check_threads_flag("--threads", a.threads);
  return a;
}

struct Job {
  DigitsRun run;
  int64_t index = 0;  // run number within (rule, seq)
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    if (a.threads > 0) set_num_threads(static_cast<int>(a.threads));
    for (const char* f : {"measures.csv", "final.csv", "activity.csv", "weights.npy", "toy_digits.json", "toy_digits.png"})
      LPL_CHECK(a.overwrite || !std::filesystem::exists(a.out + "/" + f),
                a.out + "/" + f + " exists; pass --overwrite to replace it");
    const auto t0 = std::chrono::steady_clock::now();
    const DigitsData data = load_digits_two_classes(a.data_dir, a.class_a, a.class_b, a.per_class);
    const bool fashion = std::filesystem::path(a.data_dir).filename().string().find("fashion") != std::string::npos;
    std::printf("lpl_toy_digits: classes %d and %d of %s, %lld images each\n", a.class_a, a.class_b, a.data_dir.c_str(),
                static_cast<long long>(a.per_class));
    make_dirs(a.out);

    std::vector<Job> jobs;
    for (DigitsRule rule : a.rules)
      for (DigitsSeq seq : a.seqs)
        for (int64_t k = 0; k < a.runs; ++k) {
          Job j;
          j.run.rule = rule;
          j.run.seq = seq;
          j.run.steps = a.steps;
          j.run.batch = a.batch;
          j.run.lr = a.lr;
          j.run.weight_decay = rule == DigitsRule::kOja ? 0.0 : a.weight_decay;
          j.run.eval_every = a.eval_every;
          j.run.seed = a.seed;
          j.run.stream = jobs.size();
          j.index = k;
          jobs.push_back(j);
        }
    std::vector<DigitsResult> results(jobs.size());
    std::atomic<int64_t> done{0};
    std::mutex print_mu;
    cpu_for(static_cast<int64_t>(jobs.size()), [&](int64_t i) {
      results[i] = digits_train(data, jobs[i].run);
      const int64_t d = ++done;
      std::lock_guard<std::mutex> lock(print_mu);
      std::printf("lpl_toy_digits: %lld / %zu runs (%s, %s sequence)\n", static_cast<long long>(d), jobs.size(),
                  digits_rule_name(jobs[i].run.rule).c_str(), digits_seq_name(jobs[i].run.seq).c_str());
      std::fflush(stdout);
    }, a.steps * a.batch * kCanvasPixels);

    CsvTable measures({"rule", "seq", "run", "step", "location_sensitivity", "digit_sensitivity"});
    CsvTable finals({"rule", "seq", "run", "location_sensitivity", "digit_sensitivity"});
    CsvTable activity({"rule", "seq", "run", "step", "abs_mean_y"});
    std::vector<float> weights;  // the last run of every (rule, seq), as the notebook's sample_weights
    nlohmann::ordered_json summary = nlohmann::ordered_json::array(), panels = nlohmann::ordered_json::array();
    for (DigitsRule rule : a.rules)
      for (DigitsSeq seq : a.seqs) {
        const std::string rn = digits_rule_name(rule), sn = digits_seq_name(seq);
        std::vector<double> loc, dig;
        const DigitsResult* last = nullptr;
        for (size_t i = 0; i < jobs.size(); ++i) {
          if (jobs[i].run.rule != rule || jobs[i].run.seq != seq) continue;
          const DigitsResult& r = results[i];
          const std::string run = std::to_string(jobs[i].index);
          for (size_t k = 0; k < r.eval_step.size(); ++k)
            measures.add_cells({rn, sn, run, std::to_string(r.eval_step[k]), csv_number(r.measures[k].location),
                                csv_number(r.measures[k].digit)});
          for (size_t k = 0; k < r.activity.size(); ++k)
            activity.add_cells({rn, sn, run, std::to_string(k + 1), csv_number(r.activity[k])});
          finals.add_cells({rn, sn, run, csv_number(r.measures.back().location), csv_number(r.measures.back().digit)});
          loc.push_back(r.measures.back().location);
          dig.push_back(r.measures.back().digit);
          last = &r;
        }
        for (double v : last->w) weights.push_back(static_cast<float>(v));
        panels.push_back({{"rule", rn}, {"seq", sn}});
        auto ms = [](const std::vector<double>& v) {
          double m = 0, s = 0;
          for (double x : v) m += x;
          m /= static_cast<double>(v.size());
          for (double x : v) s += (x - m) * (x - m);
          return std::pair<double, double>{m, v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0};
        };
        const auto l = ms(loc), dd = ms(dig);
        summary.push_back({{"rule", rn}, {"seq", sn}, {"location_sensitivity_mean", l.first},
                           {"location_sensitivity_std", l.second}, {"digit_sensitivity_mean", dd.first},
                           {"digit_sensitivity_std", dd.second}});
        std::printf("  %-8s %-8s sequence: location sensitivity %.3f +- %.3f, digit sensitivity %.3f +- %.3f\n",
                    rn.c_str(), sn.c_str(), l.first, l.second, dd.first, dd.second);
      }
    nlohmann::ordered_json j = {
        {"figure", "Fig. S2 (notebook 'S2 - Toy digits')"},
        {"objective", "notebook: MSE(y, stopgrad(y_past)) + -log(var(y) + 1e-8); SGD with weight decay; Oja on centred inputs"},
        {"data", {{"dir", a.data_dir}, {"classes", {a.class_a, a.class_b}}, {"per_class", a.per_class}}},
        {"params", {{"runs", a.runs}, {"steps", a.steps}, {"batch", a.batch}, {"lr", a.lr},
                    {"weight_decay", a.weight_decay}, {"eval_every", a.eval_every}, {"seed", a.seed}}},
        {"weights_npy", {{"shape", {panels.size(), kCanvasSide, kCanvasSide}}, {"panels", panels}}},
        {"results", summary}};
    if (fashion) j["data"]["class_names"] = {kFashionNames[a.class_a], kFashionNames[a.class_b]};
    measures.write(a.out + "/measures.csv");
    finals.write(a.out + "/final.csv");
    activity.write(a.out + "/activity.csv");
    data::save_npy_f32(a.out + "/weights.npy", weights.data(),
                       {static_cast<int64_t>(panels.size()), kCanvasSide, kCanvasSide});
    atomic_write_file(a.out + "/toy_digits.json", j.dump(1) + "\n");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("lpl_toy_digits: %zu runs in %.1f s -> %s\n", jobs.size(), secs, a.out.c_str());
    if (!a.no_plot) {
      plot_and_report("plot_toy_digits.py", {a.out}, a.out + "/toy_digits.png");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lpl_toy_digits: error: %s\n", e.what());
    return 1;
  }
}

// Fig. 2 (notebook "2 - Toy 2D"): a single LPL neuron on 2-D sequences (slow x clusters, fast y
// noise of std sigma). For every rule (LPL and its ablations) and sigma on a log grid it trains
// --reps neurons and writes the learned weight's alignment with x and its x-selectivity
// (sweep.csv); at --trajectory_sigmas it also records the weight angle over training
// (trajectories.csv). toy2d.json holds the parameters and summaries; toy2d.png is drawn by
// tools/plot_toy2d.py.
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

#include "engine/common.h"
#include "engine/csv_table.h"
#include "engine/file_util.h"
#include "engine/flags.h"
#include "engine/parallel.h"
#include "engine/plot_tool.h"
#include "experiments/toy2d.h"

using namespace lpl;
using namespace lpl::exp;

namespace {

const char* kUsage = R"(usage: lpl_toy2d --out DIR [options]
Trains one linear neuron on the toy 2-D sequences of Fig. 2 with LPL and its ablations.
  --out DIR               output directory (sweep.csv, trajectories.csv, toy2d.json, toy2d.png)
  --overwrite             replace existing output files in DIR
  --rules LIST            comma-separated, from lpl,pred_off,hebb_off,oja,naive_var,vic_var (default: all)
  --reps N                neurons per rule and sigma (default 10, as the notebook)
  --num_sigmas N          sigmas on a log grid (default 50)
  --sigma_min S           (default 0.01)
  --sigma_max S           (default 100)
  --trajectory_sigmas L   comma-separated sigmas whose weight angle is recorded over training, or "none"
                          (default 3)
  --record_every K        trajectory sample interval in steps (default 50)
  --steps N               steps per run (default 0: the notebook's max(10000, 100 sigma))
  --lr X                  learning rate (default 0: the notebook's min(0.01 / sigma, 0.01))
  --batch N               (default 200)
  --weight_decay X        (default 0.15)
  --noise_p P             probability that a point jumps to the other cluster per step (default 0)
  --seed N                (default 1)
  --threads N             CPU threads (default: all)
  --no_plot               skip tools/plot_toy2d.py)";

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Args {
  std::string out;
  bool overwrite = false, no_plot = false;
  std::vector<Toy2dRule> rules = toy2d_all_rules();
  int64_t reps = 10, num_sigmas = 50, record_every = 50, steps = 0, batch = 200, threads = 0;
  double sigma_min = 0.01, sigma_max = 100, lr = 0, weight_decay = 0.15, noise_p = 0;
  std::vector<double> trajectory_sigmas = {3.0};
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
    else if (f == "--rules") {
      a.rules.clear();
      for (const auto& r : split_list(v)) a.rules.push_back(toy2d_rule_from_name(r));
      LPL_CHECK(!a.rules.empty(), "--rules: no rule given");
    } else if (f == "--reps") a.reps = parse_int_flag(f, v);
    else if (f == "--num_sigmas") a.num_sigmas = parse_int_flag(f, v);
    else if (f == "--sigma_min") a.sigma_min = parse_float_flag(f, v);
    else if (f == "--sigma_max") a.sigma_max = parse_float_flag(f, v);
    else if (f == "--trajectory_sigmas") {
      a.trajectory_sigmas.clear();
      if (v != "none")
        for (const auto& s : split_list(v)) a.trajectory_sigmas.push_back(parse_float_flag(f, s));
    } else if (f == "--record_every") a.record_every = parse_int_flag(f, v);
    else if (f == "--steps") a.steps = parse_int_flag(f, v);
    else if (f == "--lr") a.lr = parse_float_flag(f, v);
    else if (f == "--batch") a.batch = parse_int_flag(f, v);
    else if (f == "--weight_decay") a.weight_decay = parse_float_flag(f, v);
    else if (f == "--noise_p") a.noise_p = parse_float_flag(f, v);
    else if (f == "--seed") a.seed = static_cast<uint64_t>(parse_int_flag(f, v));
    else if (f == "--threads") a.threads = parse_int_flag(f, v);
    else fail("unknown argument " + f + "\n" + kUsage);
  }
  LPL_CHECK(!a.out.empty(), std::string("--out is required\n") + kUsage);
  LPL_CHECK(a.reps >= 1, "--reps must be at least 1");
  LPL_CHECK(a.num_sigmas >= 0, "--num_sigmas must not be negative");
  LPL_CHECK(a.sigma_min > 0 && a.sigma_max >= a.sigma_min, "--sigma_min must be > 0 and <= --sigma_max");
  for (double s : a.trajectory_sigmas) LPL_CHECK(s > 0, "--trajectory_sigmas: every sigma must be > 0");
  LPL_CHECK(a.num_sigmas > 0 || !a.trajectory_sigmas.empty(), "nothing to run: --num_sigmas 0 and no --trajectory_sigmas");
  LPL_CHECK(a.record_every >= 1, "--record_every must be at least 1");
  LPL_CHECK(a.steps >= 0, "--steps must not be negative (0: the notebook's schedule)");
  LPL_CHECK(a.lr >= 0, "--lr must not be negative (0: the notebook's schedule)");
  LPL_CHECK(a.batch >= 2, "--batch must be at least 2");
  LPL_CHECK(a.weight_decay >= 0, "--weight_decay must not be negative");
  LPL_CHECK(a.noise_p >= 0 && a.noise_p <= 1, "--noise_p must lie in [0, 1]");
  check_threads_flag("--threads", a.threads);
  return a;
}

struct Job {
  Toy2dRun run;
  int64_t rep = 0;
  bool trajectory = false;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    if (a.threads > 0) set_num_threads(static_cast<int>(a.threads));
    const std::vector<std::string> files = {"sweep.csv", "trajectories.csv", "toy2d.json", "toy2d.png"};
    for (const auto& f : files)
      LPL_CHECK(a.overwrite || !std::filesystem::exists(a.out + "/" + f),
                a.out + "/" + f + " exists; pass --overwrite to replace it");
    make_dirs(a.out);

    std::vector<double> sigmas;
    for (int64_t j = 0; j < a.num_sigmas; ++j) {
      const double t = a.num_sigmas == 1 ? 0.0 : static_cast<double>(j) / static_cast<double>(a.num_sigmas - 1);
      sigmas.push_back(std::exp(std::log(a.sigma_min) + t * (std::log(a.sigma_max) - std::log(a.sigma_min))));
    }
    std::vector<Job> jobs;
    auto add = [&](Toy2dRule rule, double sigma, int64_t rep, bool traj) {
      Job j;
      j.run.rule = rule;
      j.run.sigma = sigma;
      j.run.noise_p = a.noise_p;
      j.run.batch = a.batch;
      j.run.steps = a.steps > 0 ? a.steps : toy2d_default_steps(sigma);
      j.run.lr = a.lr > 0 ? a.lr : toy2d_default_lr(sigma);
      j.run.weight_decay = a.weight_decay;
      j.run.record_every = traj ? a.record_every : 0;
      j.run.seed = a.seed;
      j.run.stream = jobs.size();  // every run its own random stream
      j.rep = rep;
      j.trajectory = traj;
      jobs.push_back(j);
    };
    for (Toy2dRule rule : a.rules)
      for (int64_t rep = 0; rep < a.reps; ++rep) {
        for (double s : sigmas) add(rule, s, rep, false);
        for (double s : a.trajectory_sigmas) add(rule, s, rep, true);
      }

    const auto t0 = std::chrono::steady_clock::now();
    std::vector<Toy2dResult> results(jobs.size());
    std::atomic<int64_t> done{0};
    std::mutex print_mu;
    int64_t total_work = 0;
    for (const auto& j : jobs) total_work += j.run.steps;
    cpu_for(static_cast<int64_t>(jobs.size()), [&](int64_t i) {
      results[i] = toy2d_train(jobs[i].run);
      const int64_t d = ++done;
      if (d % std::max<int64_t>(1, static_cast<int64_t>(jobs.size()) / 10) == 0) {
        std::lock_guard<std::mutex> lock(print_mu);
        std::printf("lpl_toy2d: %lld / %zu runs\n", static_cast<long long>(d), jobs.size());
        std::fflush(stdout);
      }
    }, total_work / std::max<int64_t>(1, static_cast<int64_t>(jobs.size())) * a.batch);

    CsvTable sweep({"rule", "sigma", "rep", "steps", "lr", "w_x", "w_y", "angle_deg", "abs_cos_x", "selectivity"});
    CsvTable traj({"rule", "sigma", "rep", "step", "w_x", "w_y", "angle_deg", "abs_cos_x"});
    nlohmann::ordered_json summary = nlohmann::ordered_json::object();
    for (size_t i = 0; i < jobs.size(); ++i) {
      const Job& j = jobs[i];
      const Toy2dResult& r = results[i];
      const std::string name = toy2d_rule_name(j.run.rule);
      if (!j.trajectory) {
        sweep.add_cells({name, csv_number(j.run.sigma), std::to_string(j.rep), std::to_string(j.run.steps),
                         csv_number(j.run.lr), csv_number(r.w[0]), csv_number(r.w[1]),
                         csv_number(toy2d_angle_deg(r.w)), csv_number(toy2d_abs_cos(r.w)), csv_number(r.selectivity)});
        continue;
      }
      for (size_t k = 0; k < r.traj_step.size(); ++k) {
        const double w[2] = {r.traj_w[2 * k], r.traj_w[2 * k + 1]};
        traj.add_cells({name, csv_number(j.run.sigma), std::to_string(j.rep), std::to_string(r.traj_step[k]),
                        csv_number(w[0]), csv_number(w[1]), csv_number(toy2d_angle_deg(w)), csv_number(toy2d_abs_cos(w))});
      }
    }
    // Summaries: mean final |cos| and selectivity per rule and sigma; final angles of the trajectories.
    auto stats = [](const std::vector<double>& v) {
      double m = 0, s = 0;
      for (double x : v) m += x;
      m /= static_cast<double>(v.size());
      for (double x : v) s += (x - m) * (x - m);
      return std::pair<double, double>{m, v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0};
    };
    for (Toy2dRule rule : a.rules) {
      const std::string name = toy2d_rule_name(rule);
      nlohmann::ordered_json rows = nlohmann::ordered_json::array(), trows = nlohmann::ordered_json::array();
      for (int pass = 0; pass < 2; ++pass) {
        const std::vector<double>& ss = pass == 0 ? sigmas : a.trajectory_sigmas;
        for (double s : ss) {
          std::vector<double> cosv, selv, angv, normv;
          for (size_t i = 0; i < jobs.size(); ++i)
            if (jobs[i].run.rule == rule && jobs[i].run.sigma == s && jobs[i].trajectory == (pass == 1)) {
              cosv.push_back(toy2d_abs_cos(results[i].w));
              selv.push_back(results[i].selectivity);
              angv.push_back(toy2d_angle_deg(results[i].w));
              normv.push_back(std::hypot(results[i].w[0], results[i].w[1]));
            }
          const auto c = stats(cosv), se = stats(selv), an = stats(angv), nm = stats(normv);
          nlohmann::ordered_json row = {{"sigma", s}, {"abs_cos_x_mean", c.first}, {"abs_cos_x_std", c.second},
                                        {"selectivity_mean", se.first}, {"selectivity_std", se.second},
                                        {"final_angle_deg_mean", an.first}, {"w_norm_mean", nm.first}};
          (pass == 0 ? rows : trows).push_back(row);
        }
      }
      summary[name] = {{"sweep", rows}, {"trajectories", trows}};
    }
    nlohmann::ordered_json j = {
        {"figure", "Fig. 2 (notebook '2 - Toy 2D')"},
        {"objective", "notebook: MSE(y_next, stopgrad(y_prev)) + -log(var(y_next) + 1e-8); SGD with weight decay"},
        {"params",
         {{"rules", nlohmann::ordered_json::array()}, {"reps", a.reps}, {"sigmas", sigmas},
          {"trajectory_sigmas", a.trajectory_sigmas}, {"record_every", a.record_every},
          {"steps", a.steps > 0 ? nlohmann::ordered_json(a.steps) : nlohmann::ordered_json("max(10000, 100 sigma)")},
          {"lr", a.lr > 0 ? nlohmann::ordered_json(a.lr) : nlohmann::ordered_json("min(0.01 / sigma, 0.01)")},
          {"batch", a.batch}, {"weight_decay", a.weight_decay}, {"noise_p", a.noise_p}, {"seed", a.seed},
          {"cluster_centre", 1.0}, {"cluster_jitter_std", 0.1}}},
        {"results", summary}};
    for (Toy2dRule rule : a.rules) j["params"]["rules"].push_back(toy2d_rule_name(rule));
    sweep.write(a.out + "/sweep.csv");
    traj.write(a.out + "/trajectories.csv");
    atomic_write_file(a.out + "/toy2d.json", j.dump(1) + "\n");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("lpl_toy2d: %zu runs in %.1f s -> %s/{sweep.csv,trajectories.csv,toy2d.json}\n", jobs.size(), secs,
                a.out.c_str());
    for (Toy2dRule rule : a.rules)
      for (const auto& row : summary[toy2d_rule_name(rule)]["trajectories"])
        std::printf("  %-9s sigma %-6g final angle from x %5.1f deg (mean of %lld)\n", toy2d_rule_name(rule).c_str(),
                    row["sigma"].get<double>(), row["final_angle_deg_mean"].get<double>(), static_cast<long long>(a.reps));
    if (!a.no_plot) {
      plot_and_report("plot_toy2d.py", {a.out}, a.out + "/toy2d.png");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lpl_toy2d: error: %s\n", e.what());
    return 1;
  }
}

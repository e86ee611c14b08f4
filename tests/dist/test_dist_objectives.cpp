// The ops with global-batch statistics over ranks (issue 14), under mpirun with 2 and 3 ranks: each
// rank builds the same full batch, runs the op on its shard with the communicator, and compares with
// the op on the full batch in one process (computed on every rank): its rows of dL/dz (dx), the loss
// terms, the batch-norm statistics and running statistics, and the ranks' summed parameter gradients.
#include <cmath>
#include <vector>

#include "engine/comm.h"
#include "engine/lpl_ops.h"
#include "engine/ops.h"
#include "test_util.h"

using namespace lpl;

namespace {

Communicator& comm() {
  Communicator* c = world_comm();
  REQUIRE_MESSAGE(c != nullptr, "no communicator: run this test under mpirun with 2 or more ranks");
  return *c;
}

// Rows [first, first + n) of a [rows, ...] tensor, as a new tensor.
Tensor rows(const Tensor& t, int64_t first, int64_t n) { return t.slice0(first, n).clone(); }

// This rank's shard of two stacked views [2 Bg, ...]: its rows of view 1, then of view 2.
Tensor view_shard(const Tensor& z, int64_t Bl) {
  const int64_t Bg = z.dim(0) / 2, first = Bl * comm().rank();
  std::vector<int64_t> s = z.shape().vec();
  s[0] = 2 * Bl;
  Tensor out = Tensor::empty(Shape(s), z.device());
  Tensor a = out.slice0(0, Bl), b = out.slice0(Bl, Bl);
  a.copy_from(z.slice0(first, Bl));
  b.copy_from(z.slice0(Bg + first, Bl));
  return out;
}

std::vector<double> d64(const Tensor& t) {
  const auto v = t.to_vector();
  return std::vector<double>(v.begin(), v.end());
}

std::vector<double> terms_of(const Tensor& t) {
  std::vector<double> h(static_cast<size_t>(t.numel()));
  memcpy_bytes(h.data(), cpu(), t.data<double>(), t.device(), h.size() * sizeof(double));
  return h;
}

void check_objective(LplObjectiveArgs args, const Shape& full, const char* what) {
  CAPTURE(what);
  const int ranks = comm().size();
  const int64_t Bl = 4, Bg = Bl * ranks;
  std::vector<int64_t> s = full.vec();
  s[0] = 2 * Bg;
  const Tensor z = test::random_tensor(Shape(s), 7, cpu(), -1.f, 2.f);
  // One process, the whole batch.
  Tensor dz = Tensor::empty(z.shape()), terms = lpl_terms_buffer(cpu(), 1);
  lpl_objective(z, dz, terms, 0, args);
  // This rank's shard, statistics over the ranks.
  const Tensor zl = view_shard(z, Bl);
  Tensor dzl = Tensor::empty(zl.shape()), terms_l = lpl_terms_buffer(cpu(), 1);
  args.comm = &comm();
  lpl_objective(zl, dzl, terms_l, 0, args);
  test::check_close(dzl.to_vector(), d64(view_shard(dz, Bl)), 1e-4, 1e-9, "this rank's rows of dL/dz");
  const auto t1 = terms_of(terms), tl = terms_of(terms_l);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(std::abs(tl[i] - t1[i]) <= 1e-6 * (1.0 + std::abs(t1[i])));
  }
}

}  // namespace

TEST_CASE("lpl_objective on shards with the communicator = the whole batch in one process") {
  LplObjectiveArgs a;
  a.coeffs = {1.f, 1.f, 10.f};
  check_objective(a, Shape{0, 24}, "pooled");
  a.no_pooling = true;
  check_objective(a, Shape{0, 6, 3, 2}, "no_pooling");
}

TEST_CASE("lpl_objective with stale estimates on shards: the same gradient, terms and new estimates") {
  const int64_t M = 16, Bl = 4, Bg = Bl * comm().size();
  const Tensor z = test::random_tensor({2 * Bg, M}, 7, cpu(), -1.f, 2.f);
  const Tensor sm0 = test::random_tensor({M}, 8, cpu(), -0.5f, 0.5f), sv0 = test::random_tensor({M}, 9, cpu(), 0.2f, 1.f);
  auto run = [&](const Tensor& zz, Communicator* c, Tensor& sm, Tensor& sv, Tensor& terms) {
    sm = sm0.clone();
    sv = sv0.clone();
    LplObjectiveArgs a;
    a.stale_mean = &sm;
    a.stale_var = &sv;
    a.stale_valid = true;
    a.comm = c;
    Tensor dz = Tensor::empty(zz.shape());
    terms = lpl_terms_buffer(cpu(), 1);
    lpl_objective(zz, dz, terms, 0, a);
    return dz;
  };
  Tensor sm, sv, terms, sml, svl, terms_l;
  const Tensor dz = run(z, nullptr, sm, sv, terms);
  const Tensor dzl = run(view_shard(z, Bl), &comm(), sml, svl, terms_l);
  test::check_close(dzl.to_vector(), d64(view_shard(dz, Bl)), 1e-4, 1e-9, "this rank's rows of dL/dz");
  test::check_close(sml.to_vector(), d64(sm), 1e-5, 1e-7, "new stale mean");
  test::check_close(svl.to_vector(), d64(sv), 1e-5, 1e-7, "new stale var");
  const auto t1 = terms_of(terms), tl = terms_of(terms_l);
  for (size_t i = 0; i < 3; ++i) CHECK(std::abs(tl[i] - t1[i]) <= 1e-6 * (1.0 + std::abs(t1[i])));
}

TEST_CASE("negative-sample objective on shards with the communicator = the whole batch in one process") {
  LplObjectiveArgs a;
  a.coeffs = {1.f, 1.f, 0.f};
  a.negative_samples = true;
  check_objective(a, Shape{0, 24}, "negative samples");
}

TEST_CASE("batch norm on shards with the communicator = the whole batch in one process") {
  const int ranks = comm().size();
  const int64_t nl = 3, ng = nl * ranks, C = 5;
  const Shape full{ng, C, 3, 2};
  const Tensor x = test::random_tensor(full, 11, cpu(), -1.f, 3.f), dy = test::random_tensor(full, 12, cpu());
  const Tensor gamma = test::random_tensor({C}, 13, cpu(), 0.5f, 1.5f), beta = test::random_tensor({C}, 14, cpu());
  // One process.
  Tensor rm = Tensor::zeros({C}), rv = Tensor::full({C}, 1.f), dg = Tensor::zeros({C}), db = Tensor::zeros({C});
  BatchNormSaved sv;
  const Tensor y = batch_norm_train_forward(x, gamma, beta, rm, rv, BatchNormParams{}, &sv);
  const Tensor dx = batch_norm_backward(dy, x, gamma, sv, dg, db);
  // This rank's images, statistics over the ranks.
  const int64_t first = nl * comm().rank();
  Tensor rml = Tensor::zeros({C}), rvl = Tensor::full({C}, 1.f), dgl = Tensor::zeros({C}), dbl = Tensor::zeros({C});
  BatchNormParams p;
  p.comm = &comm();
  BatchNormSaved svl;
  const Tensor yl = batch_norm_train_forward(rows(x, first, nl), gamma, beta, rml, rvl, p, &svl);
  const Tensor dxl = batch_norm_backward(rows(dy, first, nl), rows(x, first, nl), gamma, svl, dgl, dbl);
  test::check_close(yl.to_vector(), d64(rows(y, first, nl)), 1e-5, 1e-6, "y");
  test::check_close(dxl.to_vector(), d64(rows(dx, first, nl)), 1e-4, 1e-6, "dx");
  test::check_close(rml.to_vector(), d64(rm), 1e-5, 1e-7, "running_mean");
  test::check_close(rvl.to_vector(), d64(rv), 1e-5, 1e-7, "running_var");
  // dgamma / dbeta are this rank's shares: their sum over the ranks is the one-process gradient.
  comm().all_reduce_sum(dgl.f(), C, cpu());
  comm().all_reduce_sum(dbl.f(), C, cpu());
  test::check_close(dgl.to_vector(), d64(dg), 1e-5, 1e-6, "dgamma (summed)");
  test::check_close(dbl.to_vector(), d64(db), 1e-5, 1e-6, "dbeta (summed)");
}

// The loader: worker threads fill a ring of pinned staging slots with whole batches (in chunks of
// images, so one batch is shared by all threads), the consumer copies a finished slot to the
// device. In GPU-augment mode the workers only draw the view parameters; the pixels are made on the
// device from the uint8 split uploaded once.
#include "data/loader.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/augment_batch.h"
#include "data/readers.h"
#include "engine/common.h"
#include "engine/rng.h"

namespace lpl::data {

namespace {
constexpr int64_t kChunk = 16;  // images per work item

struct PinnedBuf {
  void* p = nullptr;
  size_t bytes = 0;
  void reset(size_t b) {
    if (p) pinned_free(p);
    p = b ? pinned_alloc(b) : nullptr;
    bytes = b;
  }
  ~PinnedBuf() { if (p) pinned_free(p); }
  template <class T>
  T* as() const { return static_cast<T*>(p); }
};

struct Slot {
  PinnedBuf v1, v2, ev, labels, idx, params;  // params: 3 ViewParams per image (GPU mode)
  StreamEvent uploaded;                       // the device's copies out of this slot are done after it
  int64_t batch = -1;                         // which batch it holds / is filling
  int64_t rows = 0;                           // images in that batch (this rank's shard)
  int64_t first = 0;                          // the shard's first row in the global batch
  int64_t chunks_left = 0;
  bool ready = false;
};
}  // namespace

class LoaderImpl {
 public:
  LoaderImpl(const ImageSet& set, const DatasetSplits& meta, const LoaderOptions& opt)
      : set_(set), meta_(meta), opt_(opt) {
    LPL_CHECK(opt.batch_size > 0, strf("Loader: batch_size %lld must be positive", static_cast<long long>(opt.batch_size)));
    LPL_CHECK(opt.threads >= 1, strf("Loader: threads %d must be at least 1", opt.threads));
    LPL_CHECK(opt.ranks >= 1 && opt.rank >= 0 && opt.rank < opt.ranks,
              strf("Loader: rank %d of %d ranks is not a rank", opt.rank, opt.ranks));
    LPL_CHECK(opt.batch_size % opt.ranks == 0,
              strf("Loader: the global batch of %lld images does not split evenly over %d ranks (use a multiple of %d)",
                   static_cast<long long>(opt.batch_size), opt.ranks, opt.ranks));
    LPL_CHECK(set.n > 0, "Loader: the " + meta.name + " split is empty");
    LPL_CHECK(set.c == 1 || set.c == 3, strf("Loader: images have %lld channels (want 1 or 3)", static_cast<long long>(set.c)));
    const int64_t numel = set.n * set.c * set.h * set.w;
    const bool floats = !set.fpixels.empty();
    LPL_CHECK(static_cast<int64_t>(floats ? set.fpixels.size() : set.pixels.size()) == numel,
              strf("Loader: split holds %zu %s of pixels, want n*c*h*w = %lld", floats ? set.fpixels.size() : set.pixels.size(),
                   floats ? "floats" : "bytes", static_cast<long long>(numel)));
    LPL_CHECK(set.pixels2.empty() || static_cast<int64_t>(set.pixels2.size()) == numel, "Loader: pixels2 must match pixels in size");
    LPL_CHECK(set.fpixels2.empty() || static_cast<int64_t>(set.fpixels2.size()) == numel, "Loader: fpixels2 must match fpixels in size");
    LPL_CHECK(set.labels.empty() || static_cast<int64_t>(set.labels.size()) == set.n,
              strf("Loader: split has %zu labels for %lld images", set.labels.size(), static_cast<long long>(set.n)));
    for (int64_t f : set.sequence) LPL_CHECK(f >= 0 && f < set.n, strf("Loader: sequence entry %lld is not an image index", static_cast<long long>(f)));
    LPL_CHECK(meta.image_size > 0, "Loader: image_size must be positive");
    given_ = !meta.augment;
    LPL_CHECK(given_ || !floats, "Loader: float pixels need a dataset without augmentation (pairs)");
    augment_ = opt.augment && meta.augment;
    want_eval_ = opt.eval_view || !augment_;  // without augmentation the views are the evaluation view
    gpu_aug_ = opt.device.is_cuda() && opt.gpu_augment && !given_;
    OH_ = given_ ? static_cast<int>(set.h) : meta.image_size;
    OW_ = given_ ? static_cast<int>(set.w) : meta.image_size;
    S_ = OH_;
    const int64_t units = set.sequence.empty() ? set.n : static_cast<int64_t>(set.sequence.size()) / (opt.batch_size + 1);
    LPL_CHECK(!set.sequence.empty() || !opt.drop_last || set.n >= opt.batch_size,
              strf("Loader: batch_size %lld is larger than the split (%lld images) and drop_last is set",
                   static_cast<long long>(opt.batch_size), static_cast<long long>(set.n)));
    LPL_CHECK(set.sequence.empty() || units >= 1,
              strf("Loader: the frame sequence (%zu frames) is shorter than one block of batch_size + 1 = %lld frames",
                   set.sequence.size(), static_cast<long long>(opt.batch_size + 1)));
    for (int c = 0; c < 3; ++c) {
      LPL_CHECK(meta.norm.std[c] > 0, "Loader: normalisation std must be positive");
      norm_.mean[c] = meta.norm.mean[c];
      norm_.inv_std[c] = 1.f / meta.norm.std[c];
    }
    eval_ = eval_view_params(static_cast<int>(set.h), static_cast<int>(set.w), S_);
    const int64_t B = opt.batch_size, V = 3 * static_cast<int64_t>(OH_) * OW_;
    slots_ = std::vector<Slot>(static_cast<size_t>(std::max(opt.prefetch, 1) + 1));  // (Slot is not movable)
    for (auto& s : slots_) {
      if (gpu_aug_) {
        s.params.reset(static_cast<size_t>(B) * 3 * sizeof(ViewParams));
      } else {
        s.v1.reset(static_cast<size_t>(B * V) * sizeof(float));
        if (augment_ || given_) s.v2.reset(static_cast<size_t>(B * V) * sizeof(float));
        if (!given_ && want_eval_) s.ev.reset(static_cast<size_t>(B * V) * sizeof(float));
      }
      s.labels.reset(static_cast<size_t>(B) * sizeof(int32_t));
      s.idx.reset(static_cast<size_t>(B) * sizeof(int64_t));
    }
    if (gpu_aug_) {
      dev_images_ = Tensor::empty({set.n, set.c, set.h, set.w}, opt.device, DType::U8);
      memcpy_bytes(dev_images_.data<uint8_t>(), opt.device, set.pixels.data(), cpu(), set.pixels.size());
      dev_idx_ = Tensor::empty({B}, opt.device, DType::I64);
      dev_params_ = Tensor::empty({static_cast<int64_t>(B * 3 * sizeof(ViewParams))}, opt.device, DType::U8);
      dev_scratch_ = Tensor::empty({6 * B * S_ * S_ + B}, opt.device);
      synchronize(opt.device);
    }
    for (int t = 0; t < opt.threads; ++t) workers_.emplace_back([this] { work(); });
  }

  ~LoaderImpl() {
    {
      std::unique_lock<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_work_.notify_all();
    for (auto& t : workers_) t.join();
    // The pinned buffers are freed next: let the last uploads out of them finish.
    for (auto& s : slots_) {
      try {
        s.uploaded.wait();
      } catch (const std::exception& e) {
        report_free_failure("Loader: waiting for the last uploads", e.what());
      }
    }
  }

  int64_t batches_per_epoch() const {
    const int64_t B = opt_.batch_size;
    if (!set_.sequence.empty()) return static_cast<int64_t>(set_.sequence.size()) / (B + 1);  // whole blocks only
    return opt_.drop_last ? set_.n / B : (set_.n + B - 1) / B;
  }

  void start_epoch(int64_t epoch, int64_t first_batch) {
    LPL_CHECK(first_batch >= 0 && first_batch <= batches_per_epoch(),
              strf("Loader: cannot start epoch %lld at batch %lld (it has %lld batches)", static_cast<long long>(epoch),
                   static_cast<long long>(first_batch), static_cast<long long>(batches_per_epoch())));
    std::unique_lock<std::mutex> lk(mu_);
    started_ = false;  // workers take no new work from the old epoch
    ++generation_;  // work handed out before this point is discarded
    cv_done_.wait(lk, [&] { return in_flight_ == 0; });
    epoch_ = epoch;
    // The order of images, or of frame blocks in sequence mode.
    const int64_t units = set_.sequence.empty() ? set_.n : batches_per_epoch();
    order_.resize(static_cast<size_t>(units));
    for (int64_t i = 0; i < units; ++i) order_[i] = i;
    if (opt_.shuffle) {
      // Fisher-Yates on the counter RNG: stream (epoch, 3) is kept apart from the views' (epoch, 0/1).
      CounterRng rng{opt_.seed, view_stream(epoch, 3)};
      for (int64_t i = units - 1; i > 0; --i) {
        Philox4 r = rng.block(static_cast<uint64_t>(i));
        auto j = static_cast<int64_t>(CounterRng::to_unit_d(r.v[0], r.v[1]) * static_cast<double>(i + 1));
        std::swap(order_[i], order_[std::min(j, i)]);
      }
    }
    nb_ = batches_per_epoch();
    fill_batch_ = first_batch;
    fill_chunk_ = 0;
    next_batch_ = first_batch;
    for (auto& s : slots_) { s.batch = -1; s.ready = false; s.chunks_left = 0; }
    started_ = true;
    lk.unlock();
    cv_work_.notify_all();
  }

  bool next(Batch& out) {
    std::unique_lock<std::mutex> lk(mu_);
    LPL_CHECK(started_, "Loader::next: call start_epoch first");
    if (next_batch_ >= nb_) return false;
    Slot& s = slots_[static_cast<size_t>(next_batch_ % static_cast<int64_t>(slots_.size()))];
    cv_done_.wait(lk, [&] { return (s.batch == next_batch_ && s.ready) || !worker_error_.empty(); });
    LPL_CHECK(worker_error_.empty(), "Loader: " + worker_error_);
    lk.unlock();
    deliver(s, out);
    lk.lock();
    s.batch = -1;  // free for batch next_batch_ + slots
    s.ready = false;
    ++next_batch_;
    lk.unlock();
    cv_work_.notify_all();
    return true;
  }

 private:
  // Copies (or, in GPU mode, makes) the batch in slot s on the loader's device.
  void deliver(Slot& s, Batch& out) {
    const Device d = opt_.device;
    const int64_t R = s.rows;
    const Shape vs{R, 3, OH_, OW_};
    const size_t vbytes = static_cast<size_t>(R * 3 * OH_ * OW_) * sizeof(float);
    out = Batch{};
    out.step_in_epoch = s.batch;
    if (!set_.labels.empty()) {
      out.labels = Tensor::empty({R}, d, DType::I32);
      memcpy_bytes(out.labels.data<int32_t>(), d, s.labels.p, cpu(), static_cast<size_t>(R) * sizeof(int32_t));
    }
    // Both views are written straight into the halves of one [2R] tensor (what a step reads).
    out.views = Tensor::empty(Shape{2 * R, 3, OH_, OW_}, d);
    out.view1 = out.views.slice0(0, R);
    out.view2 = out.views.slice0(R, R);
    if (gpu_aug_) {
      memcpy_bytes(dev_idx_.data<int64_t>(), d, s.idx.p, cpu(), static_cast<size_t>(R) * sizeof(int64_t));
      memcpy_bytes(dev_params_.data<uint8_t>(), d, s.params.p, cpu(), static_cast<size_t>(R) * 3 * sizeof(ViewParams));
      auto* params = reinterpret_cast<const ViewParams*>(dev_params_.data<uint8_t>());
      auto make = [&](const ViewParams* p, Tensor& t) {
        augment_views_cuda(d, dev_images_.data<uint8_t>(), static_cast<int>(set_.c), static_cast<int>(set_.h),
                           static_cast<int>(set_.w), dev_idx_.data<int64_t>(), p, R, S_, norm_, t.f(), dev_scratch_.f());
      };
      // Parameters of the rows: [0, R) evaluation view, [R, 2R) view 1, [2R, 3R) view 2.
      if (want_eval_) {
        out.eval_view = Tensor::empty(vs, d);
        make(params, out.eval_view);
      }
      if (augment_) {
        make(params + R, out.view1);
        make(params + 2 * R, out.view2);
      } else {
        out.view1.copy_from(out.eval_view);
        out.view2.copy_from(out.eval_view);
      }
    } else if (given_) {  // the data's own views; the evaluation view is view 1
      memcpy_bytes(out.view1.f(), d, s.v1.p, cpu(), vbytes);
      memcpy_bytes(out.view2.f(), d, s.v2.p, cpu(), vbytes);
      out.eval_view = out.view1;
    } else {
      if (want_eval_) {
        out.eval_view = Tensor::empty(vs, d);
        memcpy_bytes(out.eval_view.f(), d, s.ev.p, cpu(), vbytes);
      }
      const void* v1 = augment_ ? s.v1.p : s.ev.p;  // without augmentation both views are the evaluation view
      const void* v2 = augment_ ? s.v2.p : s.ev.p;
      memcpy_bytes(out.view1.f(), d, v1, cpu(), vbytes);
      memcpy_bytes(out.view2.f(), d, v2, cpu(), vbytes);
    }
    // The staging slot is refilled after the copies out of it: a worker waits for this mark before
    // writing into it (the training thread never waits here).
    s.uploaded.record(d);
  }

  // Worker: take the next chunk of the batch being filled (when its slot is free), make it.
  void work() {
    std::vector<float> scratch(given_ ? 0 : static_cast<size_t>(augment_scratch_floats(S_)));
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      Slot* s = nullptr;
      cv_work_.wait(lk, [&] {
        if (stop_) return true;
        if (!started_ || fill_batch_ >= nb_) return false;
        Slot& c = slots_[static_cast<size_t>(fill_batch_ % static_cast<int64_t>(slots_.size()))];
        return c.batch == fill_batch_ || c.batch == -1;
      });
      if (stop_) return;
      s = &slots_[static_cast<size_t>(fill_batch_ % static_cast<int64_t>(slots_.size()))];
      const int64_t b = fill_batch_, B = opt_.batch_size;
      const int64_t global_rows = set_.sequence.empty() ? std::min(B, set_.n - b * B) : B;
      const int64_t first = global_rows * opt_.rank / opt_.ranks;
      const int64_t rows = global_rows * (opt_.rank + 1) / opt_.ranks - first;
      const int64_t nchunks = std::max<int64_t>((rows + kChunk - 1) / kChunk, 1);  // an empty shard: one empty chunk
      if (s->batch == -1) {
        s->batch = b; s->rows = rows; s->first = first; s->chunks_left = nchunks; s->ready = false;
      }
      const int64_t c = fill_chunk_;
      if (++fill_chunk_ == nchunks) { fill_chunk_ = 0; ++fill_batch_; }
      const uint64_t gen = generation_;
      const int64_t epoch = epoch_;
      ++in_flight_;
      lk.unlock();
      const int64_t lo = c * kChunk, hi = std::min(rows, lo + kChunk);
      try {
        s->uploaded.wait();  // the last batch's copies out of this slot
        make_rows(*s, b, lo, hi, epoch, scratch.data());
      } catch (const std::exception& e) {  // reported by next() on the training thread
        lk.lock();
        if (worker_error_.empty()) worker_error_ = e.what();
        --in_flight_;
        cv_done_.notify_all();
        return;
      }
      lk.lock();
      --in_flight_;
      if (gen == generation_ && --s->chunks_left == 0) {
        s->ready = true;
      }
      cv_done_.notify_all();
    }
  }

  void make_rows(Slot& s, int64_t b, int64_t lo, int64_t hi, int64_t epoch, float* scratch) {
    if (given_) return copy_rows(s, b, lo, hi);
    const int C = static_cast<int>(set_.c), H = static_cast<int>(set_.h), W = static_cast<int>(set_.w);
    const int64_t img_bytes = set_.c * set_.h * set_.w, V = 3 * static_cast<int64_t>(S_) * S_;
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t i = order_[static_cast<size_t>(b * opt_.batch_size + s.first + r)];
      s.idx.as<int64_t>()[r] = i;
      if (!set_.labels.empty()) s.labels.as<int32_t>()[r] = set_.labels[static_cast<size_t>(i)];
      const uint8_t* img = set_.pixels.data() + i * img_bytes;
      if (gpu_aug_) {  // rows of the slot: [0, R) eval, [R, 2R) view 1, [2R, 3R) view 2
        ViewParams* p = s.params.as<ViewParams>();
        p[r] = eval_;
        if (augment_) {
          p[s.rows + r] = draw_view_params(opt_.seed, epoch, 0, i, H, W, S_);
          p[2 * s.rows + r] = draw_view_params(opt_.seed, epoch, 1, i, H, W, S_);
        }
        continue;
      }
      if (want_eval_) augment_view_cpu(img, C, H, W, eval_, S_, norm_, s.ev.as<float>() + r * V, scratch);
      if (augment_) {
        augment_view_cpu(img, C, H, W, draw_view_params(opt_.seed, epoch, 0, i, H, W, S_), S_, norm_,
                         s.v1.as<float>() + r * V, scratch);
        augment_view_cpu(img, C, H, W, draw_view_params(opt_.seed, epoch, 1, i, H, W, S_), S_, norm_,
                         s.v2.as<float>() + r * V, scratch);
      }
    }
  }

  // Data that brings its own views: image i (first or second view array) as floats, normalised.
  void copy_image(int64_t i, bool second, float* out) const {
    const int64_t P = set_.h * set_.w, C = set_.c;
    for (int c = 0; c < 3; ++c) {
      const int64_t off = (i * C + (C == 1 ? 0 : c)) * P;
      const float m = norm_.mean[c], is = norm_.inv_std[c];
      float* o = out + c * P;
      if (!set_.fpixels.empty()) {
        const float* src = (second && !set_.fpixels2.empty() ? set_.fpixels2 : set_.fpixels).data() + off;
        for (int64_t k = 0; k < P; ++k) o[k] = (src[k] - m) * is;
      } else {
        const uint8_t* src = (second && !set_.pixels2.empty() ? set_.pixels2 : set_.pixels).data() + off;
        for (int64_t k = 0; k < P; ++k) o[k] = (static_cast<float>(src[k]) * (1.f / 255.f) - m) * is;
      }
    }
  }

  // Pairs: view 1 / view 2 of the same image. Sequence: a block of B + 1 frames, view 1 = frames
  // 0..B-1, view 2 = frames 1..B; the labels are view 1's.
  void copy_rows(Slot& s, int64_t b, int64_t lo, int64_t hi) {
    const int64_t V = 3 * set_.h * set_.w, B = opt_.batch_size;
    for (int64_t r = lo; r < hi; ++r) {
      int64_t i1, i2;
      bool second = true;
      if (!set_.sequence.empty()) {
        const int64_t base = order_[static_cast<size_t>(b)] * (B + 1) + s.first + r;
        i1 = set_.sequence[static_cast<size_t>(base)];
        i2 = set_.sequence[static_cast<size_t>(base + 1)];
        second = false;
      } else {
        i1 = i2 = order_[static_cast<size_t>(b * B + s.first + r)];
      }
      s.idx.as<int64_t>()[r] = i1;
      if (!set_.labels.empty()) s.labels.as<int32_t>()[r] = set_.labels[static_cast<size_t>(i1)];
      copy_image(i1, false, s.v1.as<float>() + r * V);
      copy_image(i2, second, s.v2.as<float>() + r * V);
    }
  }

  const ImageSet& set_;
  const DatasetSplits& meta_;
  LoaderOptions opt_;
  int S_ = 32, OH_ = 32, OW_ = 32;
  bool augment_ = true, gpu_aug_ = false, given_ = false;
  bool want_eval_ = true;  // make the evaluation view (LoaderOptions::eval_view, or no augmentation)
  NormF norm_{};
  ViewParams eval_;
  std::vector<Slot> slots_;
  Tensor dev_images_, dev_idx_, dev_params_, dev_scratch_;

  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  std::vector<std::thread> workers_;
  std::vector<int64_t> order_;
  bool stop_ = false, started_ = false;
  std::string worker_error_;  // a worker's failure, thrown by next()
  uint64_t generation_ = 0;
  int64_t epoch_ = 0, nb_ = 0, fill_batch_ = 0, fill_chunk_ = 0, next_batch_ = 0, in_flight_ = 0;
};

Loader::Loader(const ImageSet& set, const DatasetSplits& meta, const LoaderOptions& opt)
    : impl_(std::make_unique<LoaderImpl>(set, meta, opt)) {}
Loader::~Loader() = default;
void Loader::start_epoch(int64_t epoch) { impl_->start_epoch(epoch, 0); }
void Loader::start_epoch(int64_t epoch, int64_t first_batch) { impl_->start_epoch(epoch, first_batch); }
bool Loader::next(Batch& out) { return impl_->next(out); }
int64_t Loader::batches_per_epoch() const { return impl_->batches_per_epoch(); }

}  // namespace lpl::data

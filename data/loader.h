// Batches for training: a seeded order per epoch, SimCLR views (data/augment.h) made by worker
// threads into pinned staging memory ahead of use, then copied to the loader's device. With a CUDA
// device the uint8 split is uploaded once and the views are made there by CUDA kernels that run the
// same per-pixel code (data/augment_cuda.cu). Every number depends on (seed, epoch, image index)
// only, so a run is identical for any thread count and on either device (up to float rounding).
// Datasets that bring their own views (DatasetSplits::augment == false) are copied as they are,
// at the split's H x W: `pairs` gives view 1 / view 2 of one image, `shapes3d` (ImageSet::sequence)
// blocks of B+1 consecutive frames (view 1 = frames 0..B-1, view 2 = frames 1..B); their
// evaluation view is view 1.
#pragma once
#include <cstdint>
#include <memory>

#include "data/dataset.h"
#include "engine/tensor.h"

namespace lpl::data {

struct Batch {
  // [2B, 3, S, S]: view 1's rows then view 2's, as a training step reads them (no stacking copy);
  // view1 and view2 are its two halves ([B, 3, S, S] float32 normalised, on the loader's device).
  Tensor views;
  Tensor view1, view2;
  Tensor eval_view;               // [B, 3, S, S] evaluation view (resize 1.1x, centre crop, normalise)
  Tensor labels;                  // [B] int32 (undefined when the split has no labels)
  int64_t step_in_epoch = 0;
};
struct LoaderOptions {
  int64_t batch_size = 1024;
  uint64_t seed = 24;
  int threads = 1;                // augmentation worker threads
  bool shuffle = true, drop_last = true;
  bool augment = true;            // SimCLR views; false: view1 = view2 = eval_view (or the data's own pairs)
  // false: no evaluation view when augmenting (training never reads it: a third of the augmentation
  // work and of the copies saved); Batch::eval_view is then undefined.
  bool eval_view = true;
  Device device = cpu();
  int prefetch = 2;               // batches prepared ahead
  // With a CUDA device: true = augment on the GPU from a uint8 copy of the split kept there;
  // false = augment on the CPU threads and copy the finished batches over.
  bool gpu_augment = true;
  // Data parallelism: batch_size is the global batch; this loader delivers rank's shard of it, rows
  // [rank B / ranks, (rank + 1) B / ranks) of each batch of the one seeded order (the views depend on
  // (seed, epoch, image index) only), so the ranks' shards together are the one-process batch.
  int rank = 0, ranks = 1;
};
class LoaderImpl;
class Loader {
 public:
  // `set` and `meta` must outlive the loader (the split is not copied).
  Loader(const ImageSet& set, const DatasetSplits& meta, const LoaderOptions& opt);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;
  void start_epoch(int64_t epoch);          // order and augmentation randomness depend on (seed, epoch, index) only
  // Resuming mid-epoch: the same batches as start_epoch(epoch) from batch first_batch on.
  void start_epoch(int64_t epoch, int64_t first_batch);
  bool next(Batch& out);                    // false at the end of the epoch
  int64_t batches_per_epoch() const;

 private:
  std::unique_ptr<LoaderImpl> impl_;
};

}  // namespace lpl::data

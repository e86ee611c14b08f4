#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace lpl {

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  const auto t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{:02}:{:02}", t / 60, t % 60);
}

ProgressBar::ProgressBar(int64_t epoch, int64_t max_epochs, int64_t steps, bool quiet)
    : epoch_(epoch), max_epochs_(max_epochs), steps_(steps), tty_(isatty(fileno(stderr)) != 0), quiet_(quiet),
      t0_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t done, double loss, double pull, double push, double decorr, double ips) {
  if (quiet_) return;
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  const double eta = done > 0 ? el / static_cast<double>(done) * static_cast<double>(steps_ - done) : -1;
  const int width = 20;
  const int fill = steps_ > 0 ? static_cast<int>(width * done / steps_) : width;
  const std::string bar = std::string(fill, '#') + std::string(width - fill, '.');
  const std::string line =
      fmt::format("epoch {}/{} [{}] {}/{} loss {:.4f} (pull {:.4f} push {:.4f} decorr {:.5f}) {:.1f} img/s "
                  "elapsed {} eta {}",
                  epoch_ + 1, max_epochs_, bar, done, steps_, loss, pull, push, decorr, ips, format_duration(el),
                  format_duration(eta));
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
  } else {
    const int64_t tenth = steps_ > 0 ? done * 10 / steps_ : 10;
    if (tenth == last_line_ && done != steps_) return;
    last_line_ = tenth;
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (tty_ && !quiet_) std::fprintf(stderr, "\n");
}

}  // namespace lpl

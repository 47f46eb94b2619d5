// Demuxer throughput on a synthetic multiplexed stream, fed in 64 KiB reads as a socket would deliver it.
// Usage: demux_bench [total MB, default 200]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dind/demux.hpp"

namespace {

std::string make_stream(std::size_t total, std::size_t frame) {
  std::string s;
  s.reserve(total + total / frame * 8 + 16);
  std::string payload(frame, 'x');
  for (std::size_t i = 0; s.size() < total; ++i) {
    const char id = static_cast<char>(1 + (i & 1));
    const char h[8] = {id,
                       0,
                       0,
                       0,
                       static_cast<char>(frame >> 24),
                       static_cast<char>(frame >> 16),
                       static_cast<char>(frame >> 8),
                       static_cast<char>(frame)};
    s.append(h, 8);
    s.append(payload);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t total = (argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200) << 20;
  const std::size_t read_size = 64 << 10;
  std::printf("%-10s %-10s %12s %12s\n", "frame", "read", "MB/s", "frames");
  for (std::size_t frame : {std::size_t{16}, std::size_t{4} << 10, std::size_t{32} << 10, std::size_t{1} << 20}) {
    const std::string stream = make_stream(total, frame);
    double best = 0;
    std::size_t frames = 0, bytes = 0;
    for (int run = 0; run < 3; ++run) {
      dind::Demuxer d;
      frames = bytes = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (std::size_t off = 0; off < stream.size(); off += read_size) {
        const std::size_t n = std::min(read_size, stream.size() - off);
        d.feed(stream.data() + off, n, [&](dind::StdStream, std::string_view p) {
          ++frames;
          bytes += p.size();
        });
      }
      d.finish();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, static_cast<double>(stream.size()) / s / 1e6);
    }
    if (bytes == 0) return 1;
    std::printf("%-10zu %-10zu %12.0f %12zu\n", frame, read_size, best, frames);
  }
  return 0;
}

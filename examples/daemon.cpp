// Starts a throwaway dind daemon, loads busybox into it, runs a container inside that prints a line, and tears it
// all down. Usage: example_daemon [image]   (default image: docker:dind)
#include <chrono>
#include <dind/dind.hpp>
#include <iostream>

int main(int argc, char** argv) {
  using ms = std::chrono::duration<double, std::milli>;
  try {
    auto t0 = std::chrono::steady_clock::now();
    dind::DaemonOptions options;
    options.image = argc > 1 ? argv[1] : "docker:dind";
    auto d = dind::Daemon::start(options);
    const auto& t = d.timings();
    std::cout << "daemon " << d.name() << " ready at " << d.host() << " in " << ms(t.total).count() << " ms (certs "
              << ms(t.certs).count() << ", create " << ms(t.create).count() << ", start " << ms(t.start).count()
              << ", ping " << ms(t.ready).count() << ")\n";
    d.load_images({"busybox:latest"});
    dind::Containers inner(d.client());
    std::string id = inner.create({{"Image", "busybox:latest"}, {"Cmd", {"echo", "hello from inside dind"}}})["Id"];
    inner.start(id);
    inner.wait(id);
    std::cout << inner.logs_all(id).out;
    auto t1 = std::chrono::steady_clock::now();
    d.remove();
    std::cout << "removed in " << ms(std::chrono::steady_clock::now() - t1).count() << " ms; total "
              << ms(std::chrono::steady_clock::now() - t0).count() << " ms\n";
    return 0;
  } catch (const dind::Error& e) {
    std::cerr << "example_daemon: " << e.what() << "\n";
    return 1;
  }
}

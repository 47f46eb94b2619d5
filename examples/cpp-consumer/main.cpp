// Connects to the engine named by DOCKER_HOST (default: the local socket) and prints its version.
#include <dind/dind.hpp>

#include <iostream>

int main() {
  try {
    auto client = dind::Client::from_env();
    client.ping();
    nlohmann::json v = client.version();
    std::cout << "engine " << v.value("Version", "?") << ", API " << v.value("ApiVersion", "?") << "\n";
    return 0;
  } catch (const dind::Error& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 1;
  }
}

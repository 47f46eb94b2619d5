// Private to the kube folder: what a KubeClient holds (kube_client.cpp) and what its exec uses (kube_exec.cpp).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dind/http.hpp"
#include "dind/kube.hpp"
#include "dind/pool.hpp"

namespace dind::detail {

struct KubeImpl {
  KubeTarget target;
  Endpoint endpoint;
  std::chrono::milliseconds timeout;
  std::shared_ptr<Pool> pool;
  std::string auth;  // the Authorization header's value; never in a message

  KubeImpl(KubeTarget t, std::chrono::milliseconds timeout);
  Request request(const std::string& method, const std::string& path) const;
  // "GET /api/v1/... on the API server https://...", for messages.
  std::string what(const std::string& method, const std::string& path) const;
  std::unique_ptr<Connection> connect(const std::string& method, const std::string& path, Clock::time_point deadline);
  // A pooled exchange; a reused connection that died before any answer gets one fresh retry (idempotent calls).
  BodyReader send(const Request& req, Clock::time_point deadline);
  // Throws the ApiError kind of `status` with the Status object's message.
  [[noreturn]] void fail(int status, const std::string& body, const std::string& method, const std::string& path) const;
};

}  // namespace dind::detail

// Layer 5: the Engine API client. Thread-safe and cheap to copy (copies share one connection pool and one
// negotiated version). Endpoint groups are built on request() / stream() / upgrade() / upload().
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dind/client_config.hpp"
#include "dind/errors.hpp"
#include "dind/http.hpp"

namespace dind {

using Query = std::vector<std::pair<std::string, std::string>>;

// A request body with its content type.
struct Body {
  std::string data;
  std::string content_type = "application/json";
  static Body json(const nlohmann::json& j) { return Body{j.dump(), "application/json"}; }
  static Body raw(std::string data, std::string content_type = "application/octet-stream") {
    return Body{std::move(data), std::move(content_type)};
  }
};

// The API versions this client speaks.
inline constexpr const char* kMaxApiVersion = "1.43";
inline constexpr const char* kMinApiVersion = "1.24";

class Client {
 public:
  explicit Client(ClientConfig config);
  static Client from_env();

  // GET /_ping → "OK". Also settles the API version if it was not yet negotiated.
  std::string ping();
  nlohmann::json version();  // GET /version
  nlohmann::json info();     // GET /info

  // The API version used in paths: the pinned one, or min(kMaxApiVersion, the server's), negotiated once.
  std::string api_version();

  // Unary call on "/v{version}{path}": the whole body read under the client's timeout (or `timeout`).
  // Status < 200 or >= 300 (except 304) throws the ApiError subclass with the engine's "message".
  Response request(std::string_view method, std::string_view path, const Query& query = {},
                   const std::optional<Body>& body = std::nullopt, const Headers& headers = {},
                   std::optional<Clock::duration> timeout = std::nullopt);
  // A streamed response (logs, events, pull, wait): the head arrives, then the body is read as it comes with no
  // total timeout (an optional idle timeout per read). The reader owns its connection.
  BodyReader stream(std::string_view method, std::string_view path, const Query& query = {},
                    const std::optional<Body>& body = std::nullopt, const Headers& headers = {},
                    std::optional<Clock::duration> idle_timeout = std::nullopt);
  // A streamed chunked request body (put_archive, load, build); the response is read like stream().
  BodyReader upload(std::string_view method, std::string_view path, const Query& query, BodySource source,
                    std::string content_type, const Headers& headers = {},
                    std::optional<Clock::duration> idle_timeout = std::nullopt);
  // Hijack (attach, exec start) on a dedicated connection: 101 or 200 → the raw duplex stream.
  UpgradedStream upgrade(std::string_view method, std::string_view path, const Query& query = {},
                         const std::optional<Body>& body = std::nullopt, const Headers& headers = {});

  const ClientConfig& config() const noexcept;
  // "unix:///var/run/docker.sock", "tcp://127.0.0.1:2376": the host named in every message.
  const std::string& host() const noexcept;
  std::size_t idle_connections() const;

  // Parses an error body (JSON "message", else the text) and throws; used by the endpoint groups too.
  [[noreturn]] void throw_for_status(int status, std::string_view body, std::string_view method,
                                     std::string_view path) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// "1.41" < "1.43": numeric per component.
int compare_api_versions(std::string_view a, std::string_view b);

}  // namespace dind

// Layer 0: the error types every layer throws (they include nothing of ours). Every message says what was attempted
// and where.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace dind {

// Base of every error the library throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The peer could not be reached, or the connection broke (socket missing, refused, reset).
class ConnectionError : public Error {
 public:
  using Error::Error;
};

// A deadline passed (connect, a unary request, a readiness wait).
class TimeoutError : public Error {
 public:
  using Error::Error;
};

// TLS set-up or handshake failed: unreadable cert files, wrong CA, host not in the cert, plain HTTP on a TLS port.
class TlsError : public Error {
 public:
  using Error::Error;
};

// The engine answered with an error status.
class ApiError : public Error {
 public:
  ApiError(int status, std::string message, std::string method, std::string path, std::string host)
      : Error(method + " " + path + " on " + host + " failed: " + std::to_string(status) + " " + message),
        status_(status),
        message_(std::move(message)),
        method_(std::move(method)),
        path_(std::move(path)),
        host_(std::move(host)) {}

  int status() const noexcept { return status_; }
  // The engine's own explanation (the "message" field of its JSON error body).
  const std::string& message() const noexcept { return message_; }
  const std::string& method() const noexcept { return method_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& host() const noexcept { return host_; }

 private:
  int status_;
  std::string message_, method_, path_, host_;
};

#define DIND_API_ERROR(Name)     \
  class Name : public ApiError { \
   public:                       \
    using ApiError::ApiError;    \
  };
DIND_API_ERROR(BadRequest)    // 400
DIND_API_ERROR(Unauthorized)  // 401
DIND_API_ERROR(Forbidden)     // 403
DIND_API_ERROR(NotFound)      // 404
DIND_API_ERROR(Conflict)      // 409
DIND_API_ERROR(ServerError)   // 5xx
#undef DIND_API_ERROR

// A 404 about an image: a call on /images/..., or an engine message saying an image is missing or out of reach
// (creating a container of an image the engine does not have). docker-py's ImageNotFound.
class ImageNotFound : public NotFound {
 public:
  using NotFound::NotFound;
};

// Whether an engine message says an image is missing or cannot be pulled ("No such image", "pull access denied",
// "manifest unknown", a repository that "does not exist").
bool is_missing_image(std::string_view message) noexcept;

// A stream carried an error: a multiplexed frame on stream 3, an errorDetail line, a malformed frame.
class StreamError : public Error {
 public:
  using Error::Error;
};

// A dind daemon did not become ready; carries the tail of its container's log.
class DaemonStartError : public Error {
 public:
  DaemonStartError(const std::string& what, std::string log_tail)
      : Error(log_tail.empty() ? what : what + "\n--- last lines of the daemon's log ---\n" + log_tail),
        summary_(what),
        log_tail_(std::move(log_tail)) {}
  // what() without the log tail.
  const std::string& summary() const noexcept { return summary_; }
  const std::string& log_tail() const noexcept { return log_tail_; }

 private:
  std::string summary_, log_tail_;
};

// A container exited (or was removed) while something waited for it to be ready (dind/wait.hpp); carries its exit
// code (-1: removed) and the tail of its log.
class ContainerExitedError : public Error {
 public:
  ContainerExitedError(const std::string& what, std::string id, int exit_code, std::string log_tail)
      : Error(log_tail.empty() ? what : what + "\n--- last lines of its log ---\n" + log_tail),
        id_(std::move(id)),
        exit_code_(exit_code),
        log_tail_(std::move(log_tail)) {}
  const std::string& id() const noexcept { return id_; }
  int exit_code() const noexcept { return exit_code_; }
  const std::string& log_tail() const noexcept { return log_tail_; }

 private:
  std::string id_;
  int exit_code_;
  std::string log_tail_;
};

// In a catch block: throws the exception being handled again as the same kind (an ApiError keeps its status, method
// and path), with `doing` in front of its message: a composite operation says which step, which object, which daemon
// ("loading busybox:latest into dind-3f2a (tcp://127.0.0.1:32801): ..."). Anything that is not a dind::Error goes on
// as it is.
[[noreturn]] void rethrow_doing(const std::string& doing);

// Throws the ApiError subclass that fits `status`.
[[noreturn]] void throw_api_error(int status, std::string message, std::string method, std::string path,
                                  std::string host);

}  // namespace dind

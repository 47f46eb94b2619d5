#include "dind/errors.hpp"

namespace dind {

bool is_missing_image(std::string_view message) noexcept {
  std::string m(message);
  for (char& c : m)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (const char* words : {"no such image", "pull access denied", "manifest unknown", "not found: manifest",
                            "repository does not exist", "does not exist or may require"})
    if (m.find(words) != std::string::npos) return true;
  return false;
}

void throw_api_error(int status, std::string message, std::string method, std::string path, std::string host) {
  switch (status) {
    case 400: throw BadRequest(status, std::move(message), std::move(method), std::move(path), std::move(host));
    case 401: throw Unauthorized(status, std::move(message), std::move(method), std::move(path), std::move(host));
    case 403: throw Forbidden(status, std::move(message), std::move(method), std::move(path), std::move(host));
    case 404:
      if (path.rfind("/images", 0) == 0 || is_missing_image(message))
        throw ImageNotFound(status, std::move(message), std::move(method), std::move(path), std::move(host));
      throw NotFound(status, std::move(message), std::move(method), std::move(path), std::move(host));
    case 409: throw Conflict(status, std::move(message), std::move(method), std::move(path), std::move(host));
    default:
      if (status >= 500)
        throw ServerError(status, std::move(message), std::move(method), std::move(path), std::move(host));
      throw ApiError(status, std::move(message), std::move(method), std::move(path), std::move(host));
  }
}

void rethrow_doing(const std::string& doing) {
  try {
    throw;
  } catch (const ApiError& e) {
    throw_api_error(e.status(), doing + ": " + e.message(), e.method(), e.path(), e.host());
  } catch (const DaemonStartError& e) {
    throw DaemonStartError(doing + ": " + e.summary(), e.log_tail());
  } catch (const ConnectionError& e) {
    throw ConnectionError(doing + ": " + e.what());
  } catch (const TimeoutError& e) {
    throw TimeoutError(doing + ": " + e.what());
  } catch (const TlsError& e) {
    throw TlsError(doing + ": " + e.what());
  } catch (const StreamError& e) {
    throw StreamError(doing + ": " + e.what());
  } catch (const Error& e) {
    throw Error(doing + ": " + e.what());
  }
}

}  // namespace dind

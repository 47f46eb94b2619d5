// X-Docker-Container-Path-Stat: standard base64 of the JSON of Go's container.PathStat.
#include "dind/path_stat.hpp"

#include <cstdint>
#include <limits>

#include "dind/base64.hpp"
#include "dind/errors.hpp"

namespace dind {

nlohmann::json PathStat::to_json() const {
  return {{"name", name}, {"size", size}, {"mode", mode}, {"mtime", mtime}, {"linkTarget", link_target}};
}

PathStat decode_path_stat(std::string_view header_value) {
  auto fail = [&](const std::string& why) -> PathStat {
    throw Error("cannot decode the X-Docker-Container-Path-Stat header \"" + std::string(header_value.substr(0, 120)) +
                "\": " + why);
  };
  std::string text;
  try {
    text = base64_decode(header_value);
  } catch (const Error& e) {
    return fail(e.what());
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return fail("not a JSON object: " + text.substr(0, 120));
  // Numbers are checked by hand: nlohmann converts a float or an out-of-range integer with a plain cast (1e300 into
  // an int64 is undefined behaviour; -1 silently became mode 0xffffffff). Found by fuzz_path_stat.
  auto integer = [&](const char* key, auto zero) -> decltype(zero) {
    using T = decltype(zero);
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return zero;
    if (it->is_number_unsigned() &&
        it->template get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
      return static_cast<T>(it->template get<std::uint64_t>());
    if (it->is_number_integer() && !it->is_number_unsigned()) {
      const auto v = it->template get<std::int64_t>();
      if (v >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
          (v < 0 || static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
        return static_cast<T>(v);
    }
    fail(std::string("\"") + key + "\" is not an integer in range: " + it->dump());
    return zero;
  };
  PathStat s;
  try {
    s.name = j.value("name", "");
    s.size = integer("size", std::int64_t{0});
    s.mode = integer("mode", std::uint32_t{0});
    s.mtime = j.value("mtime", "");
    s.link_target = j.value("linkTarget", "");
  } catch (const nlohmann::json::exception& e) {
    return fail(std::string("unexpected field type: ") + e.what());
  }
  return s;
}

}  // namespace dind
